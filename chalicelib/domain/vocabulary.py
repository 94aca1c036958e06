"""The words of the domain, defined once: a report's statuses and their groups, the roles, the buckets of
DOMAIN §6 and §8, and the province of a region code. Every module that needs one of them imports it from here.

`Status` and `Role` are `StrEnum`s: they compare equal to, serialize as and are stored as their plain values
("submitted", "admin_nasional"), so events, tokens and read-model items carry the same strings as before.
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"  # before the first event: only the aggregate's empty state
    SUBMITTED = "submitted"
    ON_HOLD = "on_hold"
    DISPOSED = "disposed"
    ASSIGNED = "assigned"
    RETURNED = "returned"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"
    ARCHIVED = "archived"


class Role(StrEnum):
    PUBLIC = "public"
    REPORTER = "reporter"
    ADMIN_NASIONAL = "admin_nasional"
    ADMIN_INSTANSI = "admin_instansi"
    ADMIN_PENGHUBUNG = "admin_penghubung"
    OMBUDSMAN = "ombudsman"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    SYSTEM = "system"  # the deadline sweep: it acts on every report, as no person does


STAFF_ROLES = (Role.ADMIN_NASIONAL, Role.ADMIN_INSTANSI, Role.ADMIN_PENGHUBUNG, Role.OMBUDSMAN, Role.SUPERVISOR,
               Role.AUDITOR)

# Waiting for the national admin (or the addressed institution) to verify.
AWAITING_VERIFICATION = (Status.SUBMITTED, Status.ON_HOLD)
# Never verified: not public, no institution clock yet.
UNVERIFIED = (Status.NEW, *AWAITING_VERIFICATION)
# Disposed to an institution that has not followed up yet.
AWAITING_FOLLOW_UP = (Status.DISPOSED, Status.ASSIGNED, Status.RETURNED)
# Everything not yet finished one way or the other.
OPEN = (*AWAITING_VERIFICATION, *AWAITING_FOLLOW_UP, Status.IN_PROGRESS, Status.ANSWERED)
FINISHED = (Status.CLOSED, Status.ARCHIVED)

# The four handling buckets of DOMAIN §8 (statistics, queue filters); an archived report is in none.
HANDLING_BUCKETS: dict[Status, str] = {
    Status.SUBMITTED: "belum_diverifikasi", Status.ON_HOLD: "belum_diverifikasi",
    Status.DISPOSED: "belum_ditindaklanjuti", Status.ASSIGNED: "belum_ditindaklanjuti",
    Status.RETURNED: "belum_ditindaklanjuti", Status.IN_PROGRESS: "dalam_proses", Status.ANSWERED: "dalam_proses",
    Status.CLOSED: "selesai"}
HANDLING_BUCKET_NAMES = tuple(sorted(set(HANDLING_BUCKETS.values())))
# The public status buckets of DOMAIN §6.
PUBLIC_BUCKETS: dict[Status, str] = {
    Status.SUBMITTED: "belum", Status.ON_HOLD: "belum", Status.DISPOSED: "belum", Status.ASSIGNED: "belum",
    Status.RETURNED: "belum", Status.IN_PROGRESS: "proses", Status.ANSWERED: "proses", Status.CLOSED: "selesai",
    Status.ARCHIVED: "arsip"}


def province_of(region_code: str | None) -> str:
    """The province of a Kemendagri region code ("64.72" -> "64"); "" for none."""
    return (region_code or "").split(".")[0]
