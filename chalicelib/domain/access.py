"""Who may see and do what (DOMAIN §4–§5): the one access policy of commands, reads, queues and listings.

Outside `can_see` a report does not exist for the asker: callers answer 404, never 403, so an institution
cannot even learn that another institution's report exists. HTTP routes and read models ask these functions;
none of them keeps a role list of its own.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Mapping

from chalicelib.domain.vocabulary import AWAITING_VERIFICATION, STAFF_ROLES, UNVERIFIED, Role, Status, province_of
from events.base import Actor


@dataclass(frozen=True)
class Principal:
    """Who is asking: a staff member (from a verified token), a reporter (holding a report token) or the public."""

    role: str
    user_id: str | None = None
    institution_id: str | None = None
    unit_id: str | None = None
    region_code: str | None = None  # a supervisor's scope (a province code); None = national
    report_token_hash: str | None = None  # what a reporter presented, compared with the report's

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def actor(self) -> Actor:
        """The audit record of this principal. A reporter is recorded by role only, never by identity."""
        if self.role in (Role.PUBLIC, Role.REPORTER):
            return Actor(role=self.role)
        return Actor(role=self.role, user_id=self.user_id, institution_id=self.institution_id, unit_id=self.unit_id)


ANONYMOUS_PUBLIC = Principal(role=Role.PUBLIC)


def tokens_match(presented_hash: str | None, stored_hash: str | None) -> bool:
    return bool(presented_hash and stored_hash) and hmac.compare_digest(presented_hash, stored_hash)


@dataclass(frozen=True)
class Exposure:
    """The few facts of a report that decide who may see it and who may act on it."""

    status: Status
    institution_id: str | None
    unit_id: str | None
    addressed_institution_id: str | None
    confidential: bool
    region_code: str
    access_token_hash: str | None

    @classmethod
    def of(cls, facts: Any) -> Exposure:
        """From anything that has these fields: the aggregate's state, or a read-model item (a mapping)."""
        get = facts.get if isinstance(facts, Mapping) else lambda name, default=None: getattr(facts, name, default)
        return cls(status=get("status"), institution_id=get("institution_id"), unit_id=get("unit_id"),
                   addressed_institution_id=get("addressed_institution_id"),
                   confidential=bool(get("confidential", False)), region_code=get("region_code") or "",
                   access_token_hash=get("access_token_hash"))


# ------------------------------------------------------------------------------------------------ seeing

NATIONAL_READERS = (Role.ADMIN_NASIONAL, Role.OMBUDSMAN, Role.AUDITOR, Role.SYSTEM)  # system: the deadline sweep
IDENTITY_READERS = (Role.ADMIN_INSTANSI, Role.ADMIN_PENGHUBUNG, Role.OMBUDSMAN)
AUDIT_ROLES = (Role.ADMIN_NASIONAL, Role.OMBUDSMAN, Role.AUDITOR)  # the event history and its hash chain
TIMELINE_ROLES = (Role.OMBUDSMAN, Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN_NASIONAL, Role.ADMIN_INSTANSI,
                  Role.ADMIN_PENGHUBUNG)  # and only for reports they can see
REPRIMAND_READERS = (Role.SUPERVISOR, Role.OMBUDSMAN, Role.ADMIN_NASIONAL)


def is_public(report: Exposure) -> bool:
    return report.status not in (*UNVERIFIED, Status.ARCHIVED) and not report.confidential


def is_own_reporter(principal: Principal, report: Exposure) -> bool:
    return principal.role == Role.REPORTER and tokens_match(principal.report_token_hash, report.access_token_hash)


def in_supervisor_scope(principal: Principal, region_code: str | None) -> bool:
    """A national supervisor (no region claim) sees every province; a provincial one only its own."""
    return principal.region_code is None or province_of(region_code) == principal.region_code


def can_see(principal: Principal, report: Exposure) -> bool:
    role = principal.role
    if role in NATIONAL_READERS:
        return True
    if role == Role.SUPERVISOR:
        return in_supervisor_scope(principal, report.region_code)
    if role == Role.ADMIN_INSTANSI:
        return bool(principal.institution_id) and principal.institution_id == (
            report.institution_id or report.addressed_institution_id)
    if role == Role.ADMIN_PENGHUBUNG:
        return is_unit_liaison(principal, report)
    if role == Role.REPORTER and is_own_reporter(principal, report):
        return True
    return role in (Role.PUBLIC, Role.REPORTER) and is_public(report)


def sees_reporter_identity(principal: Principal, report: Exposure, anonymous: bool) -> bool:
    """The reporter and the national admin always; those who handle or investigate the report only if it is
    not anonymous. Supervisors and auditors work on figures and histories, not on people (UU PDP)."""
    if is_own_reporter(principal, report) or principal.role == Role.ADMIN_NASIONAL:
        return True
    return not anonymous and principal.role in IDENTITY_READERS and can_see(principal, report)


def may_see_photo(principal: Principal, report: Exposure, *, anonymous: bool, safe: bool) -> bool:
    """A report's photos follow the report (`can_see`: none for the public on a confidential or unverified
    report). An anonymous report's photo may show who took it, so until the verifier marks it safe it is only
    for those who may know the reporter (`sees_reporter_identity`: the reporter, the national admin) and for its
    verifier while verification is pending — who must look at it to judge."""
    if not can_see(principal, report):
        return False
    if not anonymous or safe:
        return True
    if sees_reporter_identity(principal, report, anonymous):
        return True
    return report.status in AWAITING_VERIFICATION and may_verify(principal, report)


# ------------------------------------------------------------------------------------------------ acting

def may_verify(principal: Principal, report: Exposure) -> bool:
    """KemenPANRB verifies everything; an institution admin only what was addressed straight to it."""
    if principal.role == Role.ADMIN_NASIONAL:
        return True
    return principal.role == Role.ADMIN_INSTANSI and principal.institution_id == report.addressed_institution_id


def is_institution_admin(principal: Principal, report: Exposure) -> bool:
    """The admin of the institution the report is disposed to."""
    return principal.role == Role.ADMIN_INSTANSI and principal.institution_id == report.institution_id


def is_unit_liaison(principal: Principal, report: Exposure) -> bool:
    """The liaison of the unit the report is assigned to."""
    return (principal.role == Role.ADMIN_PENGHUBUNG and bool(principal.institution_id)
            and principal.institution_id == report.institution_id and report.unit_id is not None
            and principal.unit_id == report.unit_id)


# ------------------------------------------------------------------------------------------------ queues

@dataclass(frozen=True)
class Queue:
    """A work queue: whose it is (`kind`) and the key its reports are listed under."""

    kind: str  # "national", "institution", "unit" or "ombudsman"
    key: str


def queue_of(principal: Principal) -> Queue | None:
    """The caller's own work queue (scope from the token, never from the request); None: it has none."""
    if principal.role == Role.ADMIN_NASIONAL:
        return Queue("national", "national")
    if principal.role == Role.ADMIN_INSTANSI and principal.institution_id:
        return Queue("institution", principal.institution_id)
    if principal.role == Role.ADMIN_PENGHUBUNG and principal.institution_id and principal.unit_id:
        return Queue("unit", f"{principal.institution_id}/{principal.unit_id}")
    if principal.role == Role.OMBUDSMAN:
        return Queue("ombudsman", "ombudsman")
    return None


def queues_for(*, status: Status, institution_id: str | None, addressed_institution_id: str | None,
               unit_id: str | None, escalated_to_ombudsman: bool, neglected: bool) -> list[Queue]:
    """The work queues a report is in: the mirror of `queue_of`. A finished report is in none."""
    if status in (Status.NEW, Status.ARCHIVED):
        return []
    queues = []
    if status == Status.RETURNED or (status in AWAITING_VERIFICATION and not addressed_institution_id):
        queues.append(Queue("national", "national"))
    institution = institution_id or addressed_institution_id
    if institution and status != Status.RETURNED:  # returned as not its authority: the national admin's now
        queues.append(Queue("institution", institution))
    if unit_id:
        queues.append(Queue("unit", f"{institution_id}/{unit_id}"))
    if escalated_to_ombudsman or neglected:  # escalated by the reporter, or neglected for 60 days
        queues.append(Queue("ombudsman", "ombudsman"))
    return queues
