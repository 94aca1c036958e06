"""Commands: what someone asks the system to do, in the imperative. Frozen, validated at the edge.

`principal` says who asks (chalicelib.auth); `now` is passed to `decide`, never read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.access import Principal


@dataclass(frozen=True, kw_only=True)
class Command:
    principal: Principal


@dataclass(frozen=True)
class PhotoFacts:
    """A photo as stored after processing (chalicelib/photos): the re-encoded copy's id, digest, size, type
    and pixels. What a command about a photo carries; the bytes themselves never reach the domain."""

    attachment_id: str
    sha256: str
    size: int
    content_type: str
    width: int
    height: int


@dataclass(frozen=True, kw_only=True)
class SubmitReport(Command):
    title: str | None
    body: str
    report_type: str
    category_id: str | None
    region_code: str
    addressed_institution_id: str | None
    anonymous: bool
    confidential: bool
    channel: str
    reporter_ref: str | None
    access_token_hash: str
    location: dict[str, Any] | None
    channel_detail: str | None = None  # the SMS gateway, or the Open311 client app
    photos: tuple[PhotoFacts, ...] = ()  # uploaded before submitting: attached in the same transaction


@dataclass(frozen=True, kw_only=True)
class HoldReport(Command):
    question: str


@dataclass(frozen=True, kw_only=True)
class ReplyToReport(Command):
    message: str


@dataclass(frozen=True, kw_only=True)
class VerifyReport(Command):
    institution_id: str
    title: str | None
    category_id: str | None
    report_type: str | None
    requires_inspection: bool
    anonymous: bool | None
    confidential: bool | None
    region_code: str | None = None  # required for a report that came without one (SMS, Open311)
    safe_photo_ids: tuple[str, ...] = ()  # an anonymous report's photos the verifier judged safe for the public


@dataclass(frozen=True, kw_only=True)
class AttachPhoto(Command):
    """The reporter adds a photo to a report that is not finished."""

    photo: PhotoFacts


@dataclass(frozen=True, kw_only=True)
class ArchiveReport(Command):
    reason: str
    duplicate_of: str | None
    note: str | None


@dataclass(frozen=True, kw_only=True)
class AssignReport(Command):
    unit_id: str


@dataclass(frozen=True, kw_only=True)
class ReturnReport(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class RedisposeReport(Command):
    institution_id: str


@dataclass(frozen=True, kw_only=True)
class PostFollowUp(Command):
    message: str
    final: bool


@dataclass(frozen=True, kw_only=True)
class AcceptResolution(Command):
    rating: int
    comment: str | None


@dataclass(frozen=True, kw_only=True)
class ObjectToResolution(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class EscalateToOmbudsman(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class RecordDueActions(Command):
    """The deadline sweep's command: record the reminders, escalations and closures due as of now."""
