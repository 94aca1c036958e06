"""Staff bearer tokens, signed with the test secret (valid for ten years from T0), one per role the HTTP tests
act as. The institution and unit ids are those of the demo reference data."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.auth import mint_token
from tests.support.settings import JWT_SECRET, T0

SAMARINDA, BALIKPAPAN, KALTIM, KEPRI = "pemkot-samarinda", "pemkot-balikpapan", "pemprov-kaltim", "pemprov-kepri"


def staff_token(role: str, institution: str | None = None, unit: str | None = None,
                region: str | None = None, subject: str | None = None) -> str:
    return mint_token(JWT_SECRET, "lapor-test", role=role, subject=subject or f"{role}-user", now=T0,
                      institution_id=institution, unit_id=unit, region_code=region,
                      lifetime=timedelta(days=3650))


NASIONAL = staff_token("admin_nasional")
ADMIN_SAMARINDA = staff_token("admin_instansi", institution=SAMARINDA)
ADMIN_BALIKPAPAN = staff_token("admin_instansi", institution=BALIKPAPAN)
ADMIN_KALTIM = staff_token("admin_instansi", institution=KALTIM)
ADMIN_KEPRI = staff_token("admin_instansi", institution=KEPRI)
LIAISON_PUPR = staff_token("admin_penghubung", institution=SAMARINDA, unit="dinas-pupr")
LIAISON_KOMINFO = staff_token("admin_penghubung", institution=SAMARINDA, unit="dinas-kominfo")
LIAISON_KALTIM = staff_token("admin_penghubung", institution=KALTIM, unit="dinas-pupr")
OMBUDSMAN = staff_token("ombudsman")
AUDITOR = staff_token("auditor")
SUPERVISOR = staff_token("supervisor")
SUPERVISOR_KALTIM = staff_token("supervisor", region="64")
SUPERVISOR_KEPRI = staff_token("supervisor", region="21")
