"""The Report aggregate: `evolve` folds past events into state; `decide` turns a command into new events.

Pure: no I/O, no clock. Everything a decision needs from outside — the time, the working-day calendar,
the reference data — arrives in `Context`. Every transition and role rule of DOMAIN §5–§6 lives here.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

from chalicelib.clock import iso, parse_instant
from chalicelib.domain import commands as c
from chalicelib.domain.access import (
    Exposure,
    Principal,
    can_see,
    is_institution_admin,
    is_own_reporter,
    is_unit_liaison,
    may_verify,
)
from chalicelib.domain.deadlines import NATIONAL_ZONE, decide_due
from chalicelib.domain.vocabulary import AWAITING_FOLLOW_UP, OPEN, Role, Status
from chalicelib.domain.working_days import WorkingDayCalendar
from chalicelib.errors import (
    Forbidden,
    InvalidTransition,
    ReportNotFound,
    RuleViolated,
    Unauthenticated,
    UnknownReference,
    ValidationFailed,
)
from chalicelib.reference import ReferenceData
from events import report as e
from events.base import DomainEvent, StoredEvent

REPORT_TYPES = ("complaint", "aspiration", "information_request")
ARCHIVE_REASONS = ("spam", "unclear", "duplicate", "out_of_scope", "no_reply")
PUBLIC_CHANNELS = ("web", "app", "sms", "open311")
REGIONLESS_CHANNELS = ("sms", "open311")  # a text message knows no region: the verifier sets it
STAFF_SUBMITTERS = (Role.ADMIN_NASIONAL, Role.ADMIN_INSTANSI)

VERIFICATION_DAYS, FOLLOW_UP_DAYS, REPLY_WINDOW_DAYS = 3, 5, 10
RESOLUTION_DAYS = {"complaint": 14, "aspiration": 5, "information_request": 5}
INSPECTION_RESOLUTION_DAYS = 60

REPORTER_COMMANDS = (c.ReplyToReport, c.AcceptResolution, c.ObjectToResolution, c.EscalateToOmbudsman,
                     c.AttachPhoto)

# Photos (issue 10): what a report may carry. The stored copies are re-encoded by chalicelib/photos, which
# checks these limits on the bytes; the aggregate holds the facts it is given to them too.
MAX_PHOTOS = 3
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
OPEN_STATUSES = OPEN


@dataclass(frozen=True)
class Context:
    now: datetime
    calendar: WorkingDayCalendar
    reference: ReferenceData

    def deadline(self, working_days: int, zone: str) -> str:
        return iso(self.calendar.deadline(self.now, working_days, zone))


@dataclass(frozen=True)
class ReportState:
    report_id: str
    version: int = 0
    status: Status = Status.NEW
    title: str | None = None
    report_type: str | None = None
    category_id: str | None = None
    region_code: str = ""
    channel: str = ""  # the submission's, from the envelope: web, app, admin, sms, open311
    reporter_ref: str | None = None  # a key into the personal-data table, never the identity
    addressed_institution_id: str | None = None
    institution_id: str | None = None
    unit_id: str | None = None
    anonymous: bool = False
    confidential: bool = False
    requires_inspection: bool = False
    access_token_hash: str | None = None
    submitted_at: str | None = None
    verification_due: str | None = None
    follow_up_due: str | None = None
    resolution_due: str | None = None
    reply_due: str | None = None
    first_response_at: str | None = None
    answered_at: str | None = None
    objected: bool = False
    awaiting_follow_up: bool = False  # the follow-up clock runs: after disposition and after a reopening
    escalated_to_ombudsman: bool = False
    # (clock, level, due_at): a restarted clock (clarification, reopening) gets reminders of its own.
    reminders: frozenset[tuple[str, int, str]] = frozenset()
    escalations: frozenset[tuple[str, int, str]] = frozenset()
    neglected: bool = False
    held_at: str | None = None
    photos: tuple[str, ...] = ()  # attachment ids, in the order attached
    safe_photos: tuple[str, ...] = ()  # those the verifier judged safe to show the public (anonymous reports)

    @property
    def exposure(self) -> Exposure:
        return Exposure.of(self)


# ---------------------------------------------------------------------------------------------- evolve

# The status each event leads to; an event not listed leaves the status as it was. The one transition table:
# the aggregate and every read model that keeps a status (report view, statistics) fold it with `status_after`.
STATUS_AFTER: dict[type, Status] = {
    e.ReportSubmitted: Status.SUBMITTED, e.ReportPutOnHold: Status.ON_HOLD, e.ReportClarified: Status.SUBMITTED,
    e.ReportVerified: Status.DISPOSED, e.ReportArchived: Status.ARCHIVED, e.ReportAssigned: Status.ASSIGNED,
    e.AssignmentReturned: Status.DISPOSED, e.ReportReturned: Status.RETURNED, e.ReportRedisposed: Status.DISPOSED,
    e.FollowUpPosted: Status.IN_PROGRESS, e.ReportAnswered: Status.ANSWERED, e.ReportReopened: Status.IN_PROGRESS,
    e.ReportClosed: Status.CLOSED}


def status_after(status: str, event: DomainEvent) -> Status:
    return STATUS_AFTER.get(type(event), Status(status))


def evolve(state: ReportState, stored: StoredEvent) -> ReportState:
    event, at = stored.event, stored.occurred_at
    change = _EVOLVERS.get(type(event), lambda s, ev, at: {})(state, event, at)
    if isinstance(event, e.ReportSubmitted):  # the channel is the envelope's, not the event's
        change["channel"] = stored.channel
    return dataclasses.replace(state, version=stored.version, status=status_after(state.status, event), **change)


def replay(report_id: str, history: Iterable[StoredEvent]) -> ReportState:
    state = ReportState(report_id=report_id)
    for stored in history:
        state = evolve(state, stored)
    return state


def state_to_json(state: ReportState) -> dict:
    raw = dataclasses.asdict(state)
    for name in ("reminders", "escalations"):
        raw[name] = sorted(list(key) for key in raw[name])
    for name in ("photos", "safe_photos"):  # as JSON keeps them (and a read model stores them)
        raw[name] = list(raw[name])
    return raw


def state_from_json(raw: dict) -> ReportState:
    keyed = {name: frozenset(tuple(key) for key in raw[name]) for name in ("reminders", "escalations")}
    listed = {name: tuple(raw[name]) for name in ("photos", "safe_photos") if name in raw}  # older states: none
    return ReportState(**(raw | keyed | listed))


def _first_response(state: ReportState, at: str) -> str:
    return state.first_response_at or at


# Everything but the status (STATUS_AFTER) that each event changes in the state.
_EVOLVERS: dict[type, Callable[[ReportState, DomainEvent, str], dict]] = {
    e.ReportSubmitted: lambda s, ev, at: dict(
        title=ev.title, report_type=ev.report_type, category_id=ev.category_id, region_code=ev.region_code,
        addressed_institution_id=ev.addressed_institution_id, anonymous=ev.anonymous, confidential=ev.confidential,
        reporter_ref=ev.reporter_ref, access_token_hash=ev.access_token_hash, submitted_at=at,
        verification_due=ev.verification_due),
    e.ReportPutOnHold: lambda s, ev, at: dict(held_at=at),
    e.ReportClarified: lambda s, ev, at: dict(verification_due=ev.verification_due),
    e.ReportVerified: lambda s, ev, at: dict(
        region_code=ev.region_code or s.region_code, institution_id=ev.institution_id, title=ev.title, category_id=ev.category_id, report_type=ev.report_type,
        requires_inspection=ev.requires_inspection, anonymous=ev.anonymous, confidential=ev.confidential,
        follow_up_due=ev.follow_up_due, resolution_due=ev.resolution_due, awaiting_follow_up=True,
        safe_photos=s.safe_photos + tuple(p for p in ev.safe_photo_ids if p not in s.safe_photos)),
    e.PhotoAttached: lambda s, ev, at: dict(photos=s.photos + (ev.attachment_id,)),
    e.ReportAssigned: lambda s, ev, at: dict(unit_id=ev.unit_id),
    e.AssignmentReturned: lambda s, ev, at: dict(unit_id=None),
    e.ReportReturned: lambda s, ev, at: dict(unit_id=None),
    e.ReportRedisposed: lambda s, ev, at: dict(institution_id=ev.institution_id),
    e.FollowUpPosted: lambda s, ev, at: dict(first_response_at=_first_response(s, at), awaiting_follow_up=False),
    e.ReportAnswered: lambda s, ev, at: dict(reply_due=ev.reply_due, answered_at=at,
                                             first_response_at=_first_response(s, at), awaiting_follow_up=False),
    e.ResolutionObjected: lambda s, ev, at: dict(objected=True),
    e.ReportReopened: lambda s, ev, at: dict(follow_up_due=ev.follow_up_due, reply_due=None, answered_at=None,
                                             awaiting_follow_up=True),
    e.EscalatedToOmbudsman: lambda s, ev, at: dict(escalated_to_ombudsman=True),
    e.ReminderSent: lambda s, ev, at: dict(reminders=s.reminders | {(ev.clock, ev.level, ev.due_at)}),
    e.DeadlineEscalated: lambda s, ev, at: dict(escalations=s.escalations | {(ev.clock, ev.level, ev.due_at)}),
    e.ReportNeglected: lambda s, ev, at: dict(neglected=True),
}


# ---------------------------------------------------------------------------------------------- decide

def decide(state: ReportState, command: c.Command, ctx: Context) -> list[DomainEvent]:
    handler = _DECIDERS.get(type(command))
    if handler is None:
        raise TypeError(f"no decider for {type(command).__name__}")
    if isinstance(command, REPORTER_COMMANDS) and command.principal.role == Role.PUBLIC:
        raise Unauthenticated("this action needs the report's X-Report-Token",
                              "tindakan ini memerlukan X-Report-Token laporan")
    if not isinstance(command, c.SubmitReport):
        _require_visible(state, command.principal)
    return handler(state, command, ctx)


def _require_visible(state: ReportState, principal: Principal) -> None:
    """Outside what the caller may see, the report does not exist — even for a wrong report token."""
    if state.status == Status.NEW or not can_see(principal, state.exposure):
        raise ReportNotFound(state.report_id)


# The actions `_require_status` names, as the Indonesian message says them.
ACTION_WORDS = {"accept the answer of": "menerima jawaban", "archive": "mengarsipkan", "assign": "menugaskan",
                "escalate": "mengeskalasi", "hold": "menunda", "object to the answer of": "mengajukan keberatan",
                "post a follow-up on": "menindaklanjuti", "re-dispose": "mendisposisikan ulang",
                "reply to": "membalas", "return": "mengembalikan", "verify": "memverifikasi",
                "attach a photo to": "menambahkan foto ke"}


def _require_status(state: ReportState, action: str, *allowed: str) -> None:
    if state.status not in allowed:
        raise InvalidTransition(
            f"cannot {action} a report that is {state.status} (allowed from: {', '.join(allowed)})",
            f"tidak dapat {ACTION_WORDS.get(action, action)} laporan yang berstatus {state.status}",
            status=state.status, action=action)


def _forbid(action: str, principal: Principal) -> Forbidden:
    return Forbidden(f"role {principal.role} may not {action} this report",
                     f"peran {principal.role} tidak berwenang untuk {action} laporan ini", action=action)


def _require_verifier(state: ReportState, principal: Principal, action: str) -> None:
    if not may_verify(principal, state.exposure):
        raise _forbid(action, principal)


def _require_reporter(state: ReportState, principal: Principal, action: str) -> None:
    if principal.role == Role.PUBLIC:
        raise Unauthenticated(f"{action} needs the report's X-Report-Token",
                              f"{action} memerlukan X-Report-Token laporan")
    if not is_own_reporter(principal, state.exposure):
        raise _forbid(action, principal)


def _zone_of(ctx: Context, institution_id: str | None) -> str:
    if institution_id is None:
        return NATIONAL_ZONE
    institution = ctx.reference.institution(institution_id)
    if institution is None:
        raise UnknownReference("institution", institution_id)
    return institution.timezone


def _require_institution(ctx: Context, institution_id: str) -> None:
    if ctx.reference.institution(institution_id) is None:
        raise UnknownReference("institution", institution_id)


def _require_category(ctx: Context, category_id: str) -> None:
    if ctx.reference.category(category_id) is None:
        raise UnknownReference("category", category_id)


def _resolution_days(report_type: str, requires_inspection: bool) -> int:
    return INSPECTION_RESOLUTION_DAYS if requires_inspection else RESOLUTION_DAYS[report_type]


def _submit(state: ReportState, cmd: c.SubmitReport, ctx: Context) -> list[DomainEvent]:
    if state.status != Status.NEW:
        raise InvalidTransition(f"report {state.report_id} already exists", "laporan sudah ada")
    role = cmd.principal.role
    if role in (Role.PUBLIC, Role.REPORTER):
        if cmd.channel not in PUBLIC_CHANNELS:
            raise ValidationFailed(f"channel must be one of {PUBLIC_CHANNELS}", "kanal tidak sah", field="channel")
    elif role in STAFF_SUBMITTERS:
        if cmd.channel != "admin":
            raise ValidationFailed("staff re-key paper or WhatsApp reports with channel 'admin'",
                                   "staf memasukkan laporan dengan kanal 'admin'", field="channel")
    else:
        raise _forbid("submit", cmd.principal)
    if cmd.report_type not in REPORT_TYPES:
        raise ValidationFailed(f"type must be one of {REPORT_TYPES}", "jenis laporan tidak sah", field="type")
    if not (cmd.region_code == "" and cmd.channel in REGIONLESS_CHANNELS) and \
            ctx.reference.region(cmd.region_code) is None:
        raise UnknownReference("region", cmd.region_code)
    if cmd.category_id is not None:
        _require_category(ctx, cmd.category_id)
    if cmd.addressed_institution_id is not None:
        _require_institution(ctx, cmd.addressed_institution_id)
    if len(cmd.photos) > MAX_PHOTOS:
        raise ValidationFailed(f"a report has at most {MAX_PHOTOS} photos", f"laporan memuat paling banyak "
                               f"{MAX_PHOTOS} foto", field="photo_upload_ids")
    if len({photo.attachment_id for photo in cmd.photos}) != len(cmd.photos):
        raise ValidationFailed("the same photo twice", "foto yang sama dua kali", field="photo_upload_ids")
    for photo in cmd.photos:
        _require_photo(photo, "photo_upload_ids")
    return [e.ReportSubmitted(
        title=cmd.title, body=cmd.body, report_type=cmd.report_type, category_id=cmd.category_id,
        region_code=cmd.region_code, addressed_institution_id=cmd.addressed_institution_id,
        anonymous=cmd.anonymous, confidential=cmd.confidential, reporter_ref=cmd.reporter_ref,
        access_token_hash=cmd.access_token_hash, location=cmd.location, channel_detail=cmd.channel_detail,
        verification_due=ctx.deadline(VERIFICATION_DAYS, _zone_of(ctx, cmd.addressed_institution_id))),
        *(_photo_attached(photo) for photo in cmd.photos)]


def _require_photo(photo: c.PhotoFacts, field: str) -> None:
    if photo.content_type not in PHOTO_TYPES:
        raise ValidationFailed(f"a photo must be one of {PHOTO_TYPES}", "foto harus JPEG, PNG, atau WebP",
                               field=field)
    if not 0 < photo.size <= MAX_PHOTO_BYTES:
        raise ValidationFailed(f"a photo must be at most {MAX_PHOTO_BYTES} bytes",
                               f"foto paling besar {MAX_PHOTO_BYTES // (1024 * 1024)} MB", field=field)


def _photo_attached(photo: c.PhotoFacts) -> e.PhotoAttached:
    return e.PhotoAttached(attachment_id=photo.attachment_id, sha256=photo.sha256, size=photo.size,
                           content_type=photo.content_type, width=photo.width, height=photo.height)


def _attach_photo(state: ReportState, cmd: c.AttachPhoto, ctx: Context) -> list[DomainEvent]:
    """The reporter, while the report is not finished (closed or archived), up to MAX_PHOTOS, each photo once."""
    _require_reporter(state, cmd.principal, "attach a photo")
    _require_status(state, "attach a photo to", *OPEN_STATUSES)
    if cmd.photo.attachment_id in state.photos:
        raise RuleViolated("this photo is already attached", "foto ini sudah terlampir", field="upload_id")
    if len(state.photos) >= MAX_PHOTOS:
        raise RuleViolated(f"a report has at most {MAX_PHOTOS} photos",
                           f"laporan memuat paling banyak {MAX_PHOTOS} foto", field="upload_id")
    _require_photo(cmd.photo, "upload_id")
    return [_photo_attached(cmd.photo)]


def _hold(state: ReportState, cmd: c.HoldReport, ctx: Context) -> list[DomainEvent]:
    _require_verifier(state, cmd.principal, "hold")
    _require_status(state, "hold", Status.SUBMITTED)
    return [e.ReportPutOnHold(question=cmd.question)]


def _reply(state: ReportState, cmd: c.ReplyToReport, ctx: Context) -> list[DomainEvent]:
    _require_reporter(state, cmd.principal, "reply")
    if state.status == Status.ON_HOLD:
        zone = _zone_of(ctx, state.addressed_institution_id)
        return [e.ReportClarified(message=cmd.message, verification_due=ctx.deadline(VERIFICATION_DAYS, zone))]
    _require_status(state, "reply to", *OPEN_STATUSES)
    return [e.ReporterReplied(message=cmd.message)]


def _verify(state: ReportState, cmd: c.VerifyReport, ctx: Context) -> list[DomainEvent]:
    _require_verifier(state, cmd.principal, "verify")
    _require_status(state, "verify", Status.SUBMITTED)
    if cmd.principal.role == Role.ADMIN_INSTANSI and cmd.institution_id != cmd.principal.institution_id:
        raise Forbidden("an institution admin disposes only to its own institution",
                        "admin instansi hanya mendisposisikan ke instansinya sendiri")
    _require_institution(ctx, cmd.institution_id)
    title = cmd.title or state.title
    if not title:
        raise ValidationFailed("this report has no title (SMS); the verifier must write one",
                               "laporan ini belum berjudul (SMS); verifikator wajib menuliskannya", field="title")
    category_id = cmd.category_id or state.category_id
    if not category_id:
        raise ValidationFailed("a category is required to verify", "kategori wajib diisi", field="category_id")
    _require_category(ctx, category_id)
    if cmd.region_code is not None and ctx.reference.region(cmd.region_code) is None:
        raise UnknownReference("region", cmd.region_code)
    if not (cmd.region_code or state.region_code):
        raise ValidationFailed("this report has no region (SMS, Open311); the verifier must set region_code",
                               "laporan ini belum berwilayah (SMS, Open311); verifikator wajib mengisi region_code",
                               field="region_code")
    report_type = cmd.report_type or state.report_type
    if report_type not in REPORT_TYPES:
        raise ValidationFailed(f"type must be one of {REPORT_TYPES}", "jenis laporan tidak sah", field="type")
    if cmd.requires_inspection and report_type != "complaint":
        raise ValidationFailed("only a complaint can require inspection (berkadar pengawasan)",
                               "hanya pengaduan yang dapat berkadar pengawasan", field="requires_inspection")
    for flag, current, asked in (("anonymous", state.anonymous, cmd.anonymous),
                                 ("confidential", state.confidential, cmd.confidential)):
        if current and asked is False:
            raise RuleViolated(f"a verifier may add {flag} but never remove it",
                               f"verifikator boleh menambah {flag} tetapi tidak boleh menghapusnya", field=flag)
    unknown = [photo for photo in cmd.safe_photo_ids if photo not in state.photos]
    if unknown:
        raise ValidationFailed(f"not photos of this report: {', '.join(unknown[:3])}",
                               "bukan foto laporan ini", field="safe_photo_ids")
    zone = _zone_of(ctx, cmd.institution_id)
    return [e.ReportVerified(
        institution_id=cmd.institution_id, title=title, category_id=category_id, report_type=report_type,
        requires_inspection=cmd.requires_inspection, anonymous=state.anonymous or bool(cmd.anonymous),
        confidential=state.confidential or bool(cmd.confidential),
        region_code=cmd.region_code if cmd.region_code != state.region_code else None,
        safe_photo_ids=tuple(dict.fromkeys(cmd.safe_photo_ids)),
        follow_up_due=ctx.deadline(FOLLOW_UP_DAYS, zone),
        resolution_due=ctx.deadline(_resolution_days(report_type, cmd.requires_inspection), zone))]


def _archive(state: ReportState, cmd: c.ArchiveReport, ctx: Context) -> list[DomainEvent]:
    if cmd.principal.role != Role.SYSTEM:
        _require_verifier(state, cmd.principal, "archive")
    _require_status(state, "archive", Status.SUBMITTED, Status.ON_HOLD)
    if cmd.reason not in ARCHIVE_REASONS:
        raise ValidationFailed(f"reason must be one of {ARCHIVE_REASONS}", "alasan arsip tidak sah", field="reason")
    if cmd.reason == "no_reply" and state.status != Status.ON_HOLD:
        raise RuleViolated("'no_reply' is for reports on hold whose reporter never clarified",
                           "'no_reply' hanya untuk laporan yang ditunda dan tidak dijawab pelapor", field="reason")
    if (cmd.reason == "duplicate") != (cmd.duplicate_of is not None):
        raise ValidationFailed("duplicate_of is required with reason 'duplicate', and only with it",
                               "duplicate_of wajib untuk alasan 'duplicate' saja", field="duplicate_of")
    if cmd.duplicate_of == state.report_id:
        raise ValidationFailed("a report cannot duplicate itself", "laporan tidak dapat menduplikasi dirinya",
                               field="duplicate_of")
    return [e.ReportArchived(reason=cmd.reason, duplicate_of=cmd.duplicate_of, note=cmd.note)]


def _assign(state: ReportState, cmd: c.AssignReport, ctx: Context) -> list[DomainEvent]:
    if not is_institution_admin(cmd.principal, state.exposure):
        raise _forbid("assign", cmd.principal)
    _require_status(state, "assign", Status.DISPOSED, Status.ASSIGNED)
    institution = ctx.reference.institution(state.institution_id)
    if institution is None or institution.unit(cmd.unit_id) is None:
        raise UnknownReference("unit", cmd.unit_id)
    if cmd.unit_id == state.unit_id:
        raise RuleViolated(f"already assigned to {cmd.unit_id}", f"sudah ditugaskan ke {cmd.unit_id}")
    return [e.ReportAssigned(unit_id=cmd.unit_id)]


def _return(state: ReportState, cmd: c.ReturnReport, ctx: Context) -> list[DomainEvent]:
    if is_unit_liaison(cmd.principal, state.exposure):
        _require_status(state, "return", Status.ASSIGNED)
        return [e.AssignmentReturned(unit_id=state.unit_id, reason=cmd.reason)]
    if is_institution_admin(cmd.principal, state.exposure):
        _require_status(state, "return", Status.DISPOSED, Status.ASSIGNED)
        return [e.ReportReturned(institution_id=state.institution_id, reason=cmd.reason)]
    raise _forbid("return", cmd.principal)


def _redispose(state: ReportState, cmd: c.RedisposeReport, ctx: Context) -> list[DomainEvent]:
    if cmd.principal.role != Role.ADMIN_NASIONAL:
        raise _forbid("re-dispose", cmd.principal)
    _require_status(state, "re-dispose", Status.RETURNED)
    _require_institution(ctx, cmd.institution_id)
    if cmd.institution_id == state.institution_id:
        raise RuleViolated(f"{cmd.institution_id} returned this report as not its authority",
                           f"{cmd.institution_id} telah mengembalikan laporan ini (bukan wewenang)")
    return [e.ReportRedisposed(institution_id=cmd.institution_id, previous_institution_id=state.institution_id)]


def _follow_up(state: ReportState, cmd: c.PostFollowUp, ctx: Context) -> list[DomainEvent]:
    if not (is_institution_admin(cmd.principal, state.exposure) or is_unit_liaison(cmd.principal, state.exposure)):
        raise _forbid("post a follow-up on", cmd.principal)
    _require_status(state, "post a follow-up on", Status.DISPOSED, Status.ASSIGNED, Status.IN_PROGRESS)
    if not cmd.final:
        return [e.FollowUpPosted(message=cmd.message)]
    zone = _zone_of(ctx, state.institution_id)
    return [e.ReportAnswered(message=cmd.message, reply_due=ctx.deadline(REPLY_WINDOW_DAYS, zone))]


def _accept(state: ReportState, cmd: c.AcceptResolution, ctx: Context) -> list[DomainEvent]:
    _require_reporter(state, cmd.principal, "accept")
    _require_status(state, "accept the answer of", Status.ANSWERED)
    if not 1 <= cmd.rating <= 5:
        raise ValidationFailed("rating must be 1..5", "penilaian harus 1..5", field="rating")
    return [e.ResolutionAccepted(rating=cmd.rating, comment=cmd.comment), e.ReportClosed(reason="accepted")]


def _object(state: ReportState, cmd: c.ObjectToResolution, ctx: Context) -> list[DomainEvent]:
    _require_reporter(state, cmd.principal, "object")
    _require_status(state, "object to the answer of", Status.ANSWERED)
    if ctx.now > parse_instant(state.reply_due):
        raise RuleViolated(f"the reply window closed at {state.reply_due}",
                           f"batas waktu tanggapan berakhir pada {state.reply_due}", reply_due=state.reply_due)
    zone = _zone_of(ctx, state.institution_id)
    return [e.ResolutionObjected(reason=cmd.reason),
            e.ReportReopened(follow_up_due=ctx.deadline(FOLLOW_UP_DAYS, zone))]


def missed_deadline(state: ReportState, now: datetime) -> str | None:
    """The institution's deadline that has been missed, if any (verification, first follow-up, resolution)."""
    if state.status == Status.SUBMITTED and state.verification_due and now > parse_instant(state.verification_due):
        return "verification"
    if state.awaiting_follow_up and state.follow_up_due and now > parse_instant(state.follow_up_due):
        return "follow_up"
    if state.resolution_due:
        finished = parse_instant(state.answered_at) if state.answered_at else now
        if finished > parse_instant(state.resolution_due):
            return "resolution"
    return None


def _escalate(state: ReportState, cmd: c.EscalateToOmbudsman, ctx: Context) -> list[DomainEvent]:
    _require_reporter(state, cmd.principal, "escalate")
    _require_status(state, "escalate", Status.SUBMITTED, *AWAITING_FOLLOW_UP, Status.IN_PROGRESS, Status.ANSWERED,
                    Status.CLOSED)
    if state.escalated_to_ombudsman:
        raise RuleViolated("already escalated to the Ombudsman", "sudah dieskalasi ke Ombudsman")
    if state.objected:
        grounds = "objection"
    elif missed_deadline(state, ctx.now):
        grounds = "missed_deadline"
    else:
        raise RuleViolated("escalation is possible after an objection or once a deadline has been missed",
                           "eskalasi hanya setelah keberatan atau setelah batas waktu terlewati",
                           deadlines={"verification": state.verification_due, "follow_up": state.follow_up_due,
                                      "resolution": state.resolution_due})
    return [e.EscalatedToOmbudsman(grounds=grounds, reason=cmd.reason)]


def _record_due_actions(state: ReportState, cmd: c.RecordDueActions, ctx: Context) -> list[DomainEvent]:
    if cmd.principal.role != Role.SYSTEM:
        raise _forbid("record deadline actions on", cmd.principal)
    return decide_due(state, ctx)


_DECIDERS: dict[type, Callable[[ReportState, c.Command, Context], list[DomainEvent]]] = {
    c.SubmitReport: _submit, c.HoldReport: _hold, c.ReplyToReport: _reply, c.VerifyReport: _verify,
    c.ArchiveReport: _archive, c.AssignReport: _assign, c.ReturnReport: _return, c.RedisposeReport: _redispose,
    c.PostFollowUp: _follow_up, c.AcceptResolution: _accept, c.ObjectToResolution: _object,
    c.EscalateToOmbudsman: _escalate, c.RecordDueActions: _record_due_actions, c.AttachPhoto: _attach_photo,
}
