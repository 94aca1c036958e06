"""What a passed deadline obliges the system to record (DOMAIN §7), decided purely from a report's state.

For each running clock: at the deadline a reminder to whoever is responsible (level 1); two working days
later an escalation to the next level up (unit → institution admin → national admin), and two more
working days later the next. 60 days without any response put the report on the supervisors' reprimand
list. A reply window that passes closes the report (`no_reply`); a hold unanswered for 10 working days
archives it (`no_reply`). Every action is keyed by (clock, level, due instant) in the report's own events,
so deciding again — a second sweep, a concurrent one — finds nothing left to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import iso, parse_instant
from chalicelib.domain.vocabulary import AWAITING_FOLLOW_UP, Role, Status
from chalicelib.reference import ReferenceData
from chalicelib.reference.institutions import NATIONAL_TIMEZONE
from events import report as e
from events.base import DomainEvent

if TYPE_CHECKING:  # the aggregate imports the zone rules below; these names are only annotations here
    from chalicelib.domain.report import Context, ReportState

ESCALATION_STEP_DAYS = 2
HOLD_DAYS = 10
NEGLECT_DAYS = 60  # calendar days without a response (the reprimand rule of the sources)
HANDLING = (*AWAITING_FOLLOW_UP, Status.IN_PROGRESS)

# --------------------------------------------------------------------------------------------- time zones

NATIONAL_ZONE = NATIONAL_TIMEZONE  # KemenPANRB, the national admin, works in Jakarta


def institution_zone(institution_id: str | None, reference: ReferenceData) -> str:
    """An institution's working time zone; Jakarta's for none (the national admin) or an unknown one."""
    institution = reference.institution(institution_id) if institution_id else None
    return institution.timezone if institution else NATIONAL_ZONE


def handling_zone(state: ReportState, reference: ReferenceData) -> str:
    """The time zone of whoever must act now: the handling (or addressed) institution's, else Jakarta's.
    Deadlines, reminders and the audit timeline count working days in it."""
    return institution_zone(state.institution_id or state.addressed_institution_id, reference)


def display_zone(institution_id: str | None, region_code: str | None, reference: ReferenceData) -> str:
    """The zone a report's times are shown in (the web pages, Open311): its handling or addressed
    institution's, in which its deadlines were set; else its region's; else Jakarta's."""
    if institution_id and reference.institution(institution_id) is not None:
        return institution_zone(institution_id, reference)
    return reporting_zone(region_code or "", reference)


def reporting_zone(region_code: str, reference: ReferenceData) -> str:
    """The time zone of the report's region: statistics deliberately date a report where it was made
    (its month, quarter, year and follow-up speed), whoever handles it."""
    region = reference.region(region_code)
    return region.timezone if region else NATIONAL_ZONE


# ----------------------------------------------------------------------------------- which events meet what

# The events that meet each institution clock (answering also meets the follow-up clock).
MET_BY = {"verification": (e.ReportVerified, e.ReportArchived),
          "follow_up": (e.FollowUpPosted, e.ReportAnswered),
          "resolution": (e.ReportAnswered,)}
# A hold does not meet the verification clock, but it stops it: the report now waits on the reporter.
STOPPED_BY = {"verification": (e.ReportPutOnHold,)}


def ends_overdue(clock: str, event: DomainEvent) -> bool:
    """Whether `event` ends a report's being overdue on `clock` (it met the clock or stopped it)."""
    return isinstance(event, MET_BY.get(clock, ()) + STOPPED_BY.get(clock, ()))


def deadlines_met(state: ReportState, event: DomainEvent) -> list[tuple[str, str | None]]:
    """The deadlines (clock, due) that this event meets, judged on the state just before it."""
    met: list[tuple[str, str | None]] = []
    if isinstance(event, MET_BY["verification"]) and state.status == Status.SUBMITTED:
        met.append(("verification", state.verification_due))
    if isinstance(event, MET_BY["follow_up"]) and state.awaiting_follow_up:
        met.append(("follow_up", state.follow_up_due))
    if isinstance(event, MET_BY["resolution"]):
        met.append(("resolution", state.resolution_due))
    return met

def next_due(state: ReportState) -> str | None:
    """The deadline the report waits on now: what its queue position and "overdue" are about."""
    if state.status in (Status.SUBMITTED, Status.ON_HOLD):
        return state.verification_due
    if state.status in HANDLING:
        pending = (state.follow_up_due if state.awaiting_follow_up else None, state.resolution_due)
        return min((due for due in pending if due), default=None)
    if state.status == Status.ANSWERED:
        return state.reply_due
    return None

# ------------------------------------------------------------------------------------------ running clocks


@dataclass(frozen=True)
class Level:
    """Who hears about a missed deadline at one level."""

    role: str
    institution_id: str | None = None
    unit_id: str | None = None


@dataclass(frozen=True)
class Clock:
    name: str  # verification | follow_up | resolution
    due: str
    chain: tuple[Level, ...]  # level 1 is reminded; each next level is escalated to


def _handling_chain(state: ReportState) -> tuple[Level, ...]:
    chain = []
    if state.unit_id:
        chain.append(Level(Role.ADMIN_PENGHUBUNG, state.institution_id, state.unit_id))
    chain.append(Level(Role.ADMIN_INSTANSI, state.institution_id))
    chain.append(Level(Role.ADMIN_NASIONAL))
    return tuple(chain)


def running_clocks(state: ReportState) -> list[Clock]:
    """The institution's clocks that are running now (the reporter's reply window is not one of them)."""
    clocks = []
    if state.status == Status.SUBMITTED and state.verification_due:
        chain = ((Level(Role.ADMIN_INSTANSI, state.addressed_institution_id), Level(Role.ADMIN_NASIONAL))
                 if state.addressed_institution_id else (Level(Role.ADMIN_NASIONAL),))
        clocks.append(Clock("verification", state.verification_due, chain))
    if state.status in HANDLING:
        if state.status == Status.RETURNED:  # back with the national admin for re-disposition
            chain: tuple[Level, ...] = (Level(Role.ADMIN_NASIONAL),)
        else:
            chain = _handling_chain(state)
        if state.awaiting_follow_up and state.follow_up_due:
            clocks.append(Clock("follow_up", state.follow_up_due, chain))
        if state.resolution_due:
            clocks.append(Clock("resolution", state.resolution_due, chain))
    return clocks


def level_fires_at(clock: Clock, level: int, state: ReportState, ctx: Context) -> datetime:
    """Level 1 at the deadline; level n two working days after level n-1, at the same close of office."""
    due = parse_instant(clock.due)
    if level == 1:
        return due
    return ctx.calendar.deadline(due, ESCALATION_STEP_DAYS * (level - 1), handling_zone(state, ctx.reference))


def _neglect_at(state: ReportState) -> datetime | None:
    if state.submitted_at is None or state.first_response_at is not None or state.neglected:
        return None
    if state.status in (Status.CLOSED, Status.ARCHIVED, Status.ON_HOLD, Status.ANSWERED):
        return None
    return parse_instant(state.submitted_at) + timedelta(days=NEGLECT_DAYS)


def _hold_expires_at(state: ReportState, ctx: Context) -> datetime | None:
    if state.status != Status.ON_HOLD or state.held_at is None:
        return None
    return ctx.calendar.deadline(parse_instant(state.held_at), HOLD_DAYS, handling_zone(state, ctx.reference))


def pending_actions(state: ReportState, ctx: Context) -> list[tuple[datetime, DomainEvent]]:
    """Every action not yet recorded, with the instant it becomes due (some may be in the future)."""
    actions: list[tuple[datetime, DomainEvent]] = []
    for clock in running_clocks(state):
        for level, who in enumerate(clock.chain, start=1):
            if level == 1:
                if (clock.name, 1, clock.due) not in state.reminders:
                    actions.append((level_fires_at(clock, 1, state, ctx), e.ReminderSent(
                        clock=clock.name, level=1, due_at=clock.due, recipient_role=who.role,
                        recipient_institution_id=who.institution_id, recipient_unit_id=who.unit_id)))
            elif (clock.name, level, clock.due) not in state.escalations:
                actions.append((level_fires_at(clock, level, state, ctx), e.DeadlineEscalated(
                    clock=clock.name, level=level, due_at=clock.due, to_role=who.role,
                    to_institution_id=who.institution_id)))
    neglect_at = _neglect_at(state)
    if neglect_at is not None:
        # A report returned as not its authority is the national admin's to route, not that institution's fault.
        institution_id = None if state.status == Status.RETURNED else state.institution_id
        actions.append((neglect_at, e.ReportNeglected(days_without_response=NEGLECT_DAYS,
                                                      institution_id=institution_id,
                                                      region_code=state.region_code)))
    if state.status == Status.ANSWERED and state.reply_due:
        actions.append((parse_instant(state.reply_due), e.ReportClosed(reason="no_reply")))
    hold_expires = _hold_expires_at(state, ctx)
    if hold_expires is not None:
        actions.append((hold_expires, e.ReportArchived(reason="no_reply", duplicate_of=None,
                                                       note=f"no clarification within {HOLD_DAYS} working days")))
    return actions


def decide_due(state: ReportState, ctx: Context) -> list[DomainEvent]:
    """The actions due at ctx.now, in the order they fell due. A closure or archive ends the list:
    nothing is reminded about a report that has just been closed."""
    due = sorted((at, index, event) for index, (at, event) in enumerate(pending_actions(state, ctx))
                 if at <= ctx.now)
    decided: list[DomainEvent] = []
    for _, _, event in due:
        decided.append(event)
        if isinstance(event, (e.ReportClosed, e.ReportArchived)):
            break
    return decided


def next_action_at(state: ReportState, ctx: Context) -> str | None:
    """When the sweep must next look at this report; None when no clock runs (the due-date index key)."""
    times = [at for at, _ in pending_actions(state, ctx)]
    return iso(min(times)) if times else None
