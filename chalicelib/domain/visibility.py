"""Who may see a report at all (DOMAIN §4–§5). One rule, used by commands and by every read.

Outside this rule a report does not exist for the asker: callers answer 404, never 403, so an
institution cannot even learn that another institution's report exists.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.auth import PUBLIC, REPORTER, Principal, tokens_match

UNVERIFIED = ("new", "submitted", "on_hold")
NATIONAL_READERS = ("admin_nasional", "ombudsman", "auditor", "system")  # system: the deadline sweep


@dataclass(frozen=True)
class Exposure:
    """The few facts of a report that decide who may see it."""

    status: str
    institution_id: str | None
    unit_id: str | None
    addressed_institution_id: str | None
    confidential: bool
    region_code: str
    access_token_hash: str | None


def is_public(report: Exposure) -> bool:
    return report.status not in UNVERIFIED + ("archived",) and not report.confidential


def is_own_reporter(principal: Principal, report: Exposure) -> bool:
    return principal.role == REPORTER and tokens_match(principal.report_token_hash, report.access_token_hash)


def can_see(principal: Principal, report: Exposure) -> bool:
    role = principal.role
    if role in NATIONAL_READERS:
        return True
    if role == "supervisor":
        return principal.region_code is None or report.region_code.split(".")[0] == principal.region_code
    if role == "admin_instansi":
        return bool(principal.institution_id) and principal.institution_id == (
            report.institution_id or report.addressed_institution_id)
    if role == "admin_penghubung":
        return (bool(principal.institution_id) and principal.institution_id == report.institution_id
                and report.unit_id is not None
                and principal.unit_id == report.unit_id)
    if role == REPORTER and is_own_reporter(principal, report):
        return True
    return role in (PUBLIC, REPORTER) and is_public(report)


IDENTITY_READERS = ("admin_instansi", "admin_penghubung", "ombudsman")


def sees_reporter_identity(principal: Principal, report: Exposure, anonymous: bool) -> bool:
    """The reporter and the national admin always; those who handle or investigate the report only if it is
    not anonymous. Supervisors and auditors work on figures and histories, not on people (UU PDP)."""
    if is_own_reporter(principal, report) or principal.role == "admin_nasional":
        return True
    return not anonymous and principal.role in IDENTITY_READERS and can_see(principal, report)
