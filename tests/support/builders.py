"""Commands and request bodies the tests start from: one default each, overridden field by field."""
from __future__ import annotations

from typing import Any

from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from events import report as e
from tests.support.principals import NASIONAL, PUBLIC

JALAN, DRAINASE = "infrastruktur.jalan-rusak", "infrastruktur.drainase"
KTP = "administrasi-kependudukan.ktp-el"

# ------------------------------------------------------------------------------------------ commands

SUBMISSION: dict[str, Any] = dict(
    principal=PUBLIC, title="Jalan berlubang di Jl. Juanda",
    body="Lubang sedalam 30 cm di depan SDN 012; dua pengendara motor jatuh minggu ini.",
    report_type="complaint", category_id=JALAN, region_code="64.72", addressed_institution_id=None,
    anonymous=False, confidential=False, channel="web", reporter_ref=None, access_token_hash="",
    location={"lat": -0.4948, "lon": 117.1436})


def submit_command(**overrides: Any) -> c.SubmitReport:
    """A citizen's web report of a pothole in Samarinda (64.72), named, not addressed to anyone."""
    return c.SubmitReport(**(SUBMISSION | overrides))


def verify_command(principal: Principal = NASIONAL, institution_id: str = "pemkot-samarinda",
                   **overrides: Any) -> c.VerifyReport:
    """Verified as submitted (nothing corrected) and disposed to `institution_id`."""
    fields = dict(principal=principal, institution_id=institution_id, title=None, category_id=None,
                  report_type=None, requires_inspection=False, anonymous=None, confidential=None)
    return c.VerifyReport(**(fields | overrides))


# ------------------------------------------------------------------------------------------ events

# The deadlines of a complaint submitted at T0 (Mon 2 Mar 2026, 09:00 WIB) and verified then to Samarinda (WITA):
VERIFICATION_DUE = "2026-03-05T10:00:00.000Z"  # + 3 WD, 17:00 WIB (the national admin)
FOLLOW_UP_DUE = "2026-03-09T09:00:00.000Z"  # + 5 WD, 17:00 WITA
RESOLUTION_DUE = "2026-03-27T09:00:00.000Z"  # + 14 WD across Nyepi and Idul Fitri, 17:00 WITA


def submitted_event(**overrides: Any) -> e.ReportSubmitted:
    """The event `submit_command()` records (no personal data, so no reporter reference)."""
    fields = dict(title=SUBMISSION["title"], body=SUBMISSION["body"], report_type="complaint", category_id=JALAN,
                  region_code="64.72", addressed_institution_id=None, anonymous=False, confidential=False,
                  reporter_ref=None, access_token_hash="", location=None, verification_due=VERIFICATION_DUE)
    return e.ReportSubmitted(**(fields | overrides))


def verified_event(**overrides: Any) -> e.ReportVerified:
    """The event `verify_command()` records for that report: disposed to Pemkot Samarinda as submitted."""
    fields = dict(institution_id="pemkot-samarinda", title=SUBMISSION["title"], category_id=JALAN,
                  report_type="complaint", requires_inspection=False, anonymous=False, confidential=False,
                  follow_up_due=FOLLOW_UP_DUE, resolution_due=RESOLUTION_DUE)
    return e.ReportVerified(**(fields | overrides))


# ------------------------------------------------------------------------------- bodies over HTTP

# POST /reports bodies: the citizen's pothole in Samarinda, a shorter one, a street light.
REPORT_JALAN_BERLUBANG = {"title": "Jalan berlubang di Jl. Juanda",
                          "body": "Lubang besar di depan pasar Segiri sejak Januari.",
                          "type": "complaint", "region_code": "64.72", "category_id": JALAN}
REPORT_JALAN_RUSAK = {"title": "Jalan rusak", "body": "Jalan berlubang di depan pasar Segiri", "type": "complaint",
                      "region_code": "64.72", "category_id": JALAN}
REPORT_LAMPU_MATI = {"title": "Lampu jalan mati", "body": "Lampu PJU di Jl. Pahlawan mati sejak dua minggu.",
                     "type": "complaint", "region_code": "64.72", "category_id": JALAN}

# A reporter's identity (the `reporter` member of a submission): kept in personal_data only.
SITI = {"name": "Siti Rahmawati", "phone": "0812-3456-7890", "email": "siti.rahma@example.id"}
