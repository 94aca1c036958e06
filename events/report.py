"""Events of a report's life (DOMAIN §6–§7) and of the deadline machinery that chases it.

Each class is one fact. Deadlines are recorded as instants when they are set, so the audit trail shows
the deadline that applied at the time even if a holiday calendar is corrected later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from events.base import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ReportSubmitted(DomainEvent):
    event_type: ClassVar[str] = "ReportSubmitted"
    title: str | None  # an SMS report has none; the verifier writes one
    body: str
    report_type: str  # complaint | aspiration | information_request
    category_id: str | None
    region_code: str
    addressed_institution_id: str | None
    anonymous: bool
    confidential: bool
    reporter_ref: str | None  # key into the personal-data table; never the identity itself
    access_token_hash: str
    location: dict[str, Any] | None
    verification_due: str
    channel_detail: str | None = None  # the SMS gateway, or the Open311 client app that sent it


@dataclass(frozen=True, kw_only=True)
class ReportPutOnHold(DomainEvent):
    """The verifier asked the reporter for clarification."""

    event_type: ClassVar[str] = "ReportPutOnHold"
    question: str


@dataclass(frozen=True, kw_only=True)
class ReportClarified(DomainEvent):
    """The reporter answered a hold; verification starts again with a fresh clock."""

    event_type: ClassVar[str] = "ReportClarified"
    message: str
    verification_due: str


@dataclass(frozen=True, kw_only=True)
class ReporterReplied(DomainEvent):
    event_type: ClassVar[str] = "ReporterReplied"
    message: str


@dataclass(frozen=True, kw_only=True)
class ReportVerified(DomainEvent):
    """Verification *is* disposition: it always names the institution that must act."""

    event_type: ClassVar[str] = "ReportVerified"
    institution_id: str
    title: str
    category_id: str
    report_type: str
    requires_inspection: bool
    anonymous: bool
    confidential: bool
    follow_up_due: str
    resolution_due: str
    region_code: str | None = None  # set by the verifier: a report without a region (SMS), or a correction
    # The photos of an anonymous report the verifier judged safe to show the public (nothing in them points at
    # the reporter). Events before photos existed have none: the default.
    safe_photo_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "safe_photo_ids", tuple(self.safe_photo_ids))  # JSON gives a list

    def to_data(self) -> dict[str, Any]:
        return super().to_data() | {"safe_photo_ids": list(self.safe_photo_ids)}  # as JSON stores it


@dataclass(frozen=True, kw_only=True)
class PhotoAttached(DomainEvent):
    """The reporter attached a photo. Only facts about the stored copy (re-encoded without EXIF, so without
    location or camera data): its id, the SHA-256 of its bytes, size, type and pixels. Never the upload id,
    a file name or anything the original file said about the person who took it."""

    event_type: ClassVar[str] = "PhotoAttached"
    attachment_id: str
    sha256: str
    size: int
    content_type: str  # image/jpeg | image/png | image/webp
    width: int
    height: int


@dataclass(frozen=True, kw_only=True)
class ReportArchived(DomainEvent):
    """Closed without handling. v2 split v1's "duplicate:<id>" reason string into two fields."""

    event_type: ClassVar[str] = "ReportArchived"
    schema_version: ClassVar[int] = 2
    reason: str  # spam | unclear | duplicate | out_of_scope | no_reply
    duplicate_of: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReportAssigned(DomainEvent):
    event_type: ClassVar[str] = "ReportAssigned"
    unit_id: str


@dataclass(frozen=True, kw_only=True)
class AssignmentReturned(DomainEvent):
    """A unit's liaison handed the report back to its institution admin."""

    event_type: ClassVar[str] = "AssignmentReturned"
    unit_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReportReturned(DomainEvent):
    """*Bukan wewenang*: the institution says the report is not its authority."""

    event_type: ClassVar[str] = "ReportReturned"
    institution_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReportRedisposed(DomainEvent):
    """Routed again after a return; the clocks keep running ("no wrong door")."""

    event_type: ClassVar[str] = "ReportRedisposed"
    institution_id: str
    previous_institution_id: str


@dataclass(frozen=True, kw_only=True)
class FollowUpPosted(DomainEvent):
    """*Tindak lanjut*: a progress update from the handling institution."""

    event_type: ClassVar[str] = "FollowUpPosted"
    message: str


@dataclass(frozen=True, kw_only=True)
class ReportAnswered(DomainEvent):
    """The final answer; the reporter's reply window starts."""

    event_type: ClassVar[str] = "ReportAnswered"
    message: str
    reply_due: str


@dataclass(frozen=True, kw_only=True)
class ResolutionAccepted(DomainEvent):
    event_type: ClassVar[str] = "ResolutionAccepted"
    rating: int  # 1..5
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResolutionObjected(DomainEvent):
    event_type: ClassVar[str] = "ResolutionObjected"
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReportReopened(DomainEvent):
    """After an objection: handling resumes with a new 5-working-day follow-up deadline."""

    event_type: ClassVar[str] = "ReportReopened"
    follow_up_due: str


@dataclass(frozen=True, kw_only=True)
class ReportClosed(DomainEvent):
    event_type: ClassVar[str] = "ReportClosed"
    reason: str  # accepted | no_reply


@dataclass(frozen=True, kw_only=True)
class EscalatedToOmbudsman(DomainEvent):
    """A flag, not a state: handling continues while the Ombudsman looks."""

    event_type: ClassVar[str] = "EscalatedToOmbudsman"
    grounds: str  # missed_deadline | objection
    reason: str


@dataclass(frozen=True, kw_only=True)
class OmbudsmanFindingRecorded(DomainEvent):
    event_type: ClassVar[str] = "OmbudsmanFindingRecorded"
    finding: str
    maladministration: bool


@dataclass(frozen=True, kw_only=True)
class ReminderSent(DomainEvent):
    """A deadline passed; the responsible people were reminded. Keyed by (report, clock, level)."""

    event_type: ClassVar[str] = "ReminderSent"
    clock: str  # verification | follow_up | resolution | reply
    level: int
    due_at: str
    recipient_role: str
    recipient_institution_id: str | None = None
    recipient_unit_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeadlineEscalated(DomainEvent):
    """Two working days after a missed deadline, the next level up is told."""

    event_type: ClassVar[str] = "DeadlineEscalated"
    clock: str
    level: int
    due_at: str
    to_role: str
    to_institution_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReportNeglected(DomainEvent):
    """60 days without a response: the report joins the supervisors' reprimand list (*teguran*)."""

    event_type: ClassVar[str] = "ReportNeglected"
    days_without_response: int
    institution_id: str | None
    region_code: str


REPORT_EVENTS: tuple[type[DomainEvent], ...] = (
    ReportSubmitted, ReportPutOnHold, ReportClarified, ReporterReplied, ReportVerified, ReportArchived,
    ReportAssigned, AssignmentReturned, ReportReturned, ReportRedisposed, FollowUpPosted, ReportAnswered,
    ResolutionAccepted, ResolutionObjected, ReportReopened, ReportClosed, EscalatedToOmbudsman,
    OmbudsmanFindingRecorded, ReminderSent, DeadlineEscalated, ReportNeglected, PhotoAttached,
)
