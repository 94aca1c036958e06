"""Who acts in the command-level tests (no HTTP, no tokens): `Principal`s as the API would build them.

Two casts, because their ids show in what the tests compare:
- the stories driven through the real command handler (tests/projections): the national verifier of
  KemenPANRB, Pemkot Samarinda's admin and its Dinas PUPR liaison, Pemkot Balikpapan's admin;
- the pure aggregate tests (decide/evolve on hand-built histories, tests/unit): short ids n1, i1, l1.
"""
from __future__ import annotations

from chalicelib.auth import hash_token
from chalicelib.domain.access import Principal

PUBLIC = Principal(role="public")


def reporter(token: str) -> Principal:
    """The reporter holding this report's access token, as the API authenticates them."""
    return Principal(role="reporter", report_token_hash=hash_token(token))


# ------------------------------------------------------------------------------ the handler's stories

NASIONAL = Principal(role="admin_nasional", user_id="verifikator-01", institution_id="kemenpanrb")
SAMARINDA = Principal(role="admin_instansi", user_id="admin-samarinda", institution_id="pemkot-samarinda")
PUPR_SAMARINDA = Principal(role="admin_penghubung", user_id="pupr-01", institution_id="pemkot-samarinda",
                           unit_id="dinas-pupr")
BALIKPAPAN = Principal(role="admin_instansi", user_id="admin-balikpapan", institution_id="pemkot-balikpapan")

# ------------------------------------------------------------------------------ the pure aggregate

NATIONAL = Principal(role="admin_nasional", user_id="n1")
SAMARINDA_ADMIN = Principal(role="admin_instansi", user_id="i1", institution_id="pemkot-samarinda")
PUPR_LIAISON = Principal(role="admin_penghubung", user_id="l1", institution_id="pemkot-samarinda",
                         unit_id="dinas-pupr")
