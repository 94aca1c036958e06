"""What passed deadlines oblige (DOMAIN §7), decided purely from a report's state, on the real calendar.

Histories are built through the real commands (`decide` + `chain_events`, as the application writes them);
a "sweep" below is `decide_due` at one instant, its events chained onto the history from the system actor,
exactly as chalicelib/services/sweep.py does. Every expected instant is worked by hand against the 2026 Indonesian
calendar: 18–24 March 2026 are not working days (Nyepi and Idul Fitri with their cuti bersama), 3 April
2026 is Good Friday. Samarinda is WITA (17:00 = 09:00Z); the national admin works in WIB (17:00 = 10:00Z).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.auth import hash_token
from chalicelib.clock import iso, parse_instant
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.deadlines import decide_due, next_action_at, pending_actions, running_clocks
from chalicelib.domain.report import Context, ReportState, decide, replay
from chalicelib.domain.working_days import ZONES, default_calendar
from chalicelib.reference import load_reference
from chalicelib.store.base import chain_events
from events import report as e
from events.base import SYSTEM, DomainEvent, StoredEvent
from tests.support.builders import submit_command, verify_command
from tests.support.principals import NATIONAL, PUPR_LIAISON, SAMARINDA_ADMIN, reporter

UTC = timezone.utc
MS = timedelta(milliseconds=1)
RID = "LAP-DEADL1NE42"
TOKEN = "rpt_deadline-story-token"

REPORTER = reporter(TOKEN)

MON_2_MAR = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 WIB / 10:00 WITA
FRI_13_MAR = datetime(2026, 3, 13, 3, 0, tzinfo=UTC)  # 10:00 WIB: the Friday before Nyepi and Idul Fitri
TUE_10_MAR = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------- harness

def ctx(at: datetime) -> Context:
    return Context(at, default_calendar(), load_reference())


def then(history: list[StoredEvent], command: c.Command, at: datetime) -> list[StoredEvent]:
    new = decide(replay(RID, history), command, ctx(at))
    channel = command.channel if isinstance(command, c.SubmitReport) else "web"
    return history + chain_events(RID, history[-1] if history else None, new, actor=command.principal.actor(),
                                  channel=channel, now=at, correlation_id=f"c{len(history)}", causation_id=None)


def given(*steps: tuple[c.Command, datetime]) -> list[StoredEvent]:
    history: list[StoredEvent] = []
    for command, at in steps:
        history = then(history, command, at)
    return history


def due_at(history: list[StoredEvent], at: datetime) -> list[DomainEvent]:
    return decide_due(replay(RID, history), ctx(at))


def swept(history: list[StoredEvent], at: datetime) -> tuple[list[StoredEvent], list[DomainEvent]]:
    """One sweep at `at`: what is due, recorded from the system actor as chalicelib/services/sweep.py records it."""
    new = due_at(history, at)
    if not new:
        return history, []
    stored = chain_events(RID, history[-1], new, actor=SYSTEM, channel="system", now=at,
                          correlation_id=f"sweep-{iso(at)}", causation_id=None)
    return history + stored, new


Recorded = list[tuple[datetime, DomainEvent]]


def hourly_sweeps(history: list[StoredEvent], start: datetime, end: datetime,
                  every: timedelta = timedelta(hours=1)) -> tuple[list[StoredEvent], Recorded]:
    """Sweep every `every` from start to end (inclusive); returns the history and (instant, event) recorded."""
    recorded: Recorded = []
    at = start
    while at <= end:
        history, new = swept(history, at)
        recorded += [(at, event) for event in new]
        at += every
    return history, recorded


def state_of(history: list[StoredEvent]) -> ReportState:
    return replay(RID, history)


def local(instant: str, zone: str) -> datetime:
    return parse_instant(instant).astimezone(ZONES[zone])


def key_of(event: DomainEvent) -> tuple:
    if isinstance(event, e.ReminderSent):
        return ("reminder", event.clock, event.level, event.due_at, event.recipient_role,
                event.recipient_institution_id, event.recipient_unit_id)
    if isinstance(event, e.DeadlineEscalated):
        return ("escalation", event.clock, event.level, event.due_at, event.to_role, event.to_institution_id)
    return (type(event).__name__,)


# ---------------------------------------------------------------------------------------------- commands

def submit(addressed: str | None = None, report_type: str = "complaint") -> c.SubmitReport:
    return submit_command(report_type=report_type, addressed_institution_id=addressed, reporter_ref="ref-0001",
                          access_token_hash=hash_token(TOKEN), location=None)


def verify(institution_id: str = "pemkot-samarinda") -> c.VerifyReport:
    return verify_command(NATIONAL, institution_id)


def hold() -> c.HoldReport:
    return c.HoldReport(principal=NATIONAL, question="Di titik mana tepatnya lubang itu?")


def clarify() -> c.ReplyToReport:
    return c.ReplyToReport(principal=REPORTER, message="Di depan Pasar Segiri, sisi timur.")


def assign() -> c.AssignReport:
    return c.AssignReport(principal=SAMARINDA_ADMIN, unit_id="dinas-pupr")


def follow_up(final: bool = False, principal: Principal = SAMARINDA_ADMIN) -> c.PostFollowUp:
    return c.PostFollowUp(principal=principal, message="Jalan sudah ditambal." if final else "Tim meninjau lokasi.",
                          final=final)


def object_to() -> c.ObjectToResolution:
    return c.ObjectToResolution(principal=REPORTER, reason="Lubangnya masih ada.")


# ---------------------------------------------------------------------------------------------- the calendar

def test_a_report_submitted_the_friday_before_idul_fitri_is_due_for_verification_the_wednesday_after():
    calendar = default_calendar()
    # 18–24 March 2026: Nyepi, Idul Fitri and their cuti bersama; none of them is a working day.
    names = {day: calendar.holiday_name(date(2026, 3, day)) for day in range(18, 25)}
    assert all(names.values()), names
    assert "Nyepi" in names[19] and "Idul Fitri" in names[21]
    assert "Cuti Bersama" in names[20] and "Idul Fitri" in names[20]
    assert "Cuti Bersama" in names[23] and "Cuti Bersama" in names[24]
    assert not any(calendar.is_working_day(date(2026, 3, day)) for day in range(18, 25))

    history = given((submit(), FRI_13_MAR))
    # Fri 13 does not count; Mon 16 (1), Tue 17 (2), [18–24 off], Wed 25 (3): 17:00 WIB = 10:00Z.
    assert state_of(history).verification_due == "2026-03-25T10:00:00.000Z"
    assert local(state_of(history).verification_due, "WIB").strftime("%A %d %H:%M %z") == "Wednesday 25 17:00 +0700"

    assert due_at(history, datetime(2026, 3, 25, 10, 0, tzinfo=UTC) - MS) == []
    reminder, = due_at(history, datetime(2026, 3, 25, 10, 0, tzinfo=UTC))
    assert reminder == e.ReminderSent(clock="verification", level=1, due_at="2026-03-25T10:00:00.000Z",
                                      recipient_role="admin_nasional", recipient_institution_id=None,
                                      recipient_unit_id=None)


def test_a_wita_deadline_ends_at_17_00_plus_08_00_of_the_local_working_day_not_the_utc_one():
    # Mon 2 Mar 00:30 WITA is still Sunday 1 Mar in UTC: the clock starts on the local Monday.
    monday_early = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    history = given((submit(addressed="pemkot-samarinda"), monday_early))
    due = state_of(history).verification_due
    assert due == "2026-03-05T09:00:00.000Z"  # Tue 3, Wed 4, Thu 5 -> Thu 5 Mar 17:00 WITA
    assert local(due, "WITA").isoformat() == "2026-03-05T17:00:00+08:00"

    # Reminder to the addressed institution's admin at 17:00 WITA, not at 17:00 WIB an hour later.
    assert due_at(history, parse_instant(due) - MS) == []
    reminder, = due_at(history, parse_instant(due))
    assert (reminder.recipient_role, reminder.recipient_institution_id) == ("admin_instansi", "pemkot-samarinda")
    history, _ = swept(history, parse_instant(due))
    # Escalation to the national admin two WITA working days later: Mon 9 Mar 17:00 WITA.
    escalate_at = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    assert next_action_at(state_of(history), ctx(parse_instant(due))) == iso(escalate_at)
    assert due_at(history, escalate_at - MS) == []
    escalation, = due_at(history, escalate_at)
    assert escalation == e.DeadlineEscalated(clock="verification", level=2, due_at=due, to_role="admin_nasional",
                                             to_institution_id=None)


def test_follow_up_and_resolution_deadlines_are_counted_in_the_handling_institutions_zone():
    history = given((submit(), TUE_10_MAR), (verify(), TUE_10_MAR))
    state = state_of(history)
    # 5 WD from Tue 10 Mar: 11, 12, 13, 16, 17 -> Tue 17 Mar 17:00 WITA.
    assert state.follow_up_due == "2026-03-17T09:00:00.000Z"
    # 14 WD: 11-13 (3), 16-17 (5), [18-24 off], 25-27 (8), 30-31 (10), 1-2 Apr (12), [3 Apr Good Friday],
    # 6-7 Apr (14) -> Tue 7 Apr 17:00 WITA.
    assert default_calendar().holiday_name(date(2026, 4, 3)) == "Wafat Yesus Kristus"
    assert state.resolution_due == "2026-04-07T09:00:00.000Z"
    assert local(state.resolution_due, "WITA").strftime("%a %H:%M") == "Tue 17:00"


# ---------------------------------------------------------------------------------------------- levels

FOLLOW_UP_DUE = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)  # Tue 17 Mar 17:00 WITA
LEVEL_2_AT = datetime(2026, 3, 26, 9, 0, tzinfo=UTC)  # + 2 WD across the holidays: 25, 26 -> Thu 26 Mar
LEVEL_3_AT = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # + 2 more WD: 27, 30 -> Mon 30 Mar


def assigned_on_tuesday_10_march() -> list[StoredEvent]:
    return given((submit(), TUE_10_MAR), (verify(), TUE_10_MAR), (assign(), TUE_10_MAR))


def test_an_assigned_report_is_reminded_to_its_unit_then_escalated_to_the_institution_then_to_the_nation():
    history = assigned_on_tuesday_10_march()
    due = iso(FOLLOW_UP_DUE)
    expected = [
        (FOLLOW_UP_DUE, e.ReminderSent(clock="follow_up", level=1, due_at=due, recipient_role="admin_penghubung",
                                       recipient_institution_id="pemkot-samarinda", recipient_unit_id="dinas-pupr")),
        (LEVEL_2_AT, e.DeadlineEscalated(clock="follow_up", level=2, due_at=due, to_role="admin_instansi",
                                         to_institution_id="pemkot-samarinda")),
        (LEVEL_3_AT, e.DeadlineEscalated(clock="follow_up", level=3, due_at=due, to_role="admin_nasional",
                                         to_institution_id=None)),
    ]
    for at, action in expected:
        assert next_action_at(state_of(history), ctx(at - MS)) == iso(at)
        assert due_at(history, at - MS) == []  # never before its time
        history, new = swept(history, at)
        assert new == [action]
        assert due_at(history, at) == []  # recorded: deciding again finds nothing
        assert due_at(history, at + timedelta(hours=1)) == []
    state = state_of(history)
    assert state.reminders == {("follow_up", 1, due)}
    assert state.escalations == {("follow_up", 2, due), ("follow_up", 3, due)}
    # The follow-up chain is exhausted; the next thing is the resolution deadline (Tue 7 Apr 17:00 WITA).
    assert next_action_at(state, ctx(LEVEL_3_AT)) == "2026-04-07T09:00:00.000Z"
    assert due_at(history, datetime(2026, 4, 7, 9, 0, tzinfo=UTC) - MS) == []


def test_hourly_sweeps_record_each_level_exactly_once_and_in_order():
    history, recorded = hourly_sweeps(assigned_on_tuesday_10_march(), TUE_10_MAR, datetime(2026, 4, 1, tzinfo=UTC))
    assert [(at, key_of(event)) for at, event in recorded] == [
        (FOLLOW_UP_DUE, ("reminder", "follow_up", 1, iso(FOLLOW_UP_DUE), "admin_penghubung", "pemkot-samarinda",
                         "dinas-pupr")),
        (LEVEL_2_AT, ("escalation", "follow_up", 2, iso(FOLLOW_UP_DUE), "admin_instansi", "pemkot-samarinda")),
        (LEVEL_3_AT, ("escalation", "follow_up", 3, iso(FOLLOW_UP_DUE), "admin_nasional", None)),
    ]
    assert [s.type for s in history[3:]] == ["ReminderSent", "DeadlineEscalated", "DeadlineEscalated"]
    assert all(s.actor == SYSTEM and s.channel == "system" for s in history[3:])


def test_a_late_sweep_records_every_overdue_level_at_once_in_the_order_they_fell_due():
    history = assigned_on_tuesday_10_march()
    late = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)  # after follow-up L3 and resolution L2 (Thu 9 Apr)
    history, new = swept(history, late)
    follow, resolution = iso(FOLLOW_UP_DUE), "2026-04-07T09:00:00.000Z"
    assert [key_of(event)[:4] for event in new] == [
        ("reminder", "follow_up", 1, follow), ("escalation", "follow_up", 2, follow),
        ("escalation", "follow_up", 3, follow), ("reminder", "resolution", 1, resolution),
        ("escalation", "resolution", 2, resolution)]
    assert due_at(history, late) == []
    # Resolution level 3: 7 Apr + 4 WD = 8, 9, 10, 13 -> Mon 13 Apr 17:00 WITA.
    assert next_action_at(state_of(history), ctx(late)) == "2026-04-13T09:00:00.000Z"


def test_a_disposed_report_without_a_unit_starts_with_the_institution_admin():
    history = given((submit(), TUE_10_MAR), (verify(), TUE_10_MAR))
    history, new = swept(history, LEVEL_2_AT)
    assert [key_of(event)[:5] for event in new] == [
        ("reminder", "follow_up", 1, iso(FOLLOW_UP_DUE), "admin_instansi"),
        ("escalation", "follow_up", 2, iso(FOLLOW_UP_DUE), "admin_nasional")]
    assert [clock.name for clock in running_clocks(state_of(history))] == ["follow_up", "resolution"]
    # Two levels only: nothing more for the follow-up clock, ever.
    assert [a for _, a in pending_actions(state_of(history), ctx(LEVEL_3_AT))
            if getattr(a, "clock", None) == "follow_up"] == []


# ---------------------------------------------------------------------------------------------- restarted clocks

def test_a_clarification_restarts_verification_with_reminders_of_its_own():
    history = given((submit(), MON_2_MAR))
    first_due = "2026-03-05T10:00:00.000Z"  # Thu 5 Mar 17:00 WIB
    history, new = swept(history, parse_instant(first_due))
    assert [key_of(x)[:4] for x in new] == [("reminder", "verification", 1, first_due)]

    history = then(history, hold(), datetime(2026, 3, 6, 2, 0, tzinfo=UTC))
    assert running_clocks(state_of(history)) == []  # on hold: the verifier waits for the reporter
    history, new = swept(history, datetime(2026, 3, 9, 1, 0, tzinfo=UTC))
    assert new == []
    history = then(history, clarify(), datetime(2026, 3, 9, 2, 0, tzinfo=UTC))
    second_due = "2026-03-12T10:00:00.000Z"  # Mon 9 Mar + 3 WD -> Thu 12 Mar 17:00 WIB
    assert state_of(history).verification_due == second_due
    assert next_action_at(state_of(history), ctx(datetime(2026, 3, 9, 2, 0, tzinfo=UTC))) == second_due

    assert due_at(history, parse_instant(second_due) - MS) == []
    history, new = swept(history, parse_instant(second_due))
    assert new == [e.ReminderSent(clock="verification", level=1, due_at=second_due, recipient_role="admin_nasional",
                                  recipient_institution_id=None, recipient_unit_id=None)]
    assert state_of(history).reminders == {("verification", 1, first_due), ("verification", 1, second_due)}
    assert due_at(history, parse_instant(second_due) + timedelta(days=3)) == []


def test_a_reopening_restarts_the_follow_up_clock_with_reminders_of_its_own():
    history = given((submit(), MON_2_MAR), (verify(), MON_2_MAR), (follow_up(), datetime(2026, 3, 3, 2, tzinfo=UTC)),
                    (follow_up(final=True), datetime(2026, 3, 4, 2, tzinfo=UTC)),
                    (object_to(), datetime(2026, 3, 5, 2, tzinfo=UTC)))
    state = state_of(history)
    assert state.status == "in_progress" and state.awaiting_follow_up
    reopened_due = "2026-03-12T09:00:00.000Z"  # Thu 5 Mar + 5 WD: 6, 9, 10, 11, 12 -> Thu 12 Mar 17:00 WITA
    assert state.follow_up_due == reopened_due
    # The first follow-up clock (Mon 9 Mar) was met: nothing on it.
    assert due_at(history, datetime(2026, 3, 9, 9, 0, tzinfo=UTC)) == []
    assert due_at(history, parse_instant(reopened_due) - MS) == []
    history, new = swept(history, parse_instant(reopened_due))
    assert new == [e.ReminderSent(clock="follow_up", level=1, due_at=reopened_due, recipient_role="admin_instansi",
                                  recipient_institution_id="pemkot-samarinda", recipient_unit_id=None)]
    # A follow-up after the reopening meets the new clock: its escalation never comes.
    history = then(history, follow_up(), datetime(2026, 3, 13, 2, tzinfo=UTC))
    assert due_at(history, datetime(2026, 3, 26, 8, 59, tzinfo=UTC)) == []


def test_met_clocks_stop_a_follow_up_in_time_means_no_follow_up_reminder_only_the_resolution_one():
    history = given((submit(), MON_2_MAR), (verify(), MON_2_MAR),
                    (follow_up(), datetime(2026, 3, 4, 2, tzinfo=UTC)))
    # Verification (Thu 5 Mar) was met by the verification; follow-up (Mon 9 Mar) by the follow-up.
    history, recorded = hourly_sweeps(history, MON_2_MAR, datetime(2026, 3, 27, 9, 0, tzinfo=UTC))
    resolution_due = "2026-03-27T09:00:00.000Z"  # 14 WD from Mon 2 Mar across the holidays
    assert [key_of(event)[:4] for _, event in recorded] == [("reminder", "resolution", 1, resolution_due)]
    assert recorded[0][0] == parse_instant(resolution_due)
    assert [clock.name for clock in running_clocks(state_of(history))] == ["resolution"]


def test_a_verified_report_gets_no_verification_reminder_after_its_old_due_instant():
    history = given((submit(), MON_2_MAR), (verify(), datetime(2026, 3, 4, 2, tzinfo=UTC)))
    assert due_at(history, datetime(2026, 3, 5, 10, 0, tzinfo=UTC)) == []
    assert due_at(history, datetime(2026, 3, 6, 12, 0, tzinfo=UTC)) == []


# ---------------------------------------------------------------------------------------------- neglect

def test_sixty_calendar_days_without_a_response_neglect_the_report_once():
    history = given((submit(), MON_2_MAR), (verify(), MON_2_MAR))
    neglect_at = MON_2_MAR + timedelta(days=60)
    assert neglect_at == datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    history, recorded = hourly_sweeps(history, MON_2_MAR, datetime(2026, 5, 10, tzinfo=UTC), timedelta(hours=6))
    neglects = [(at, event) for at, event in recorded if isinstance(event, e.ReportNeglected)]
    assert len(neglects) == 1
    at, event = neglects[0]
    assert event == e.ReportNeglected(days_without_response=60, institution_id="pemkot-samarinda",
                                      region_code="64.72")
    assert neglect_at <= at < neglect_at + timedelta(hours=6)  # the first sweep at or after the instant
    neglected_version = next(s.version for s in history if s.type == "ReportNeglected")
    assert [s.type for s in history].count("ReportNeglected") == 1
    assert not [x for x in due_at(history[:neglected_version - 1], neglect_at - MS) if isinstance(x, e.ReportNeglected)]
    assert state_of(history).neglected
    assert not [x for x in due_at(history, datetime(2026, 12, 1, tzinfo=UTC)) if isinstance(x, e.ReportNeglected)]


def test_neglect_is_due_exactly_sixty_days_after_submission_and_not_before():
    history = given((submit(), MON_2_MAR))
    history, _ = swept(history, datetime(2026, 3, 5, 10, 0, tzinfo=UTC))  # the verification reminder
    neglect_at = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    assert next_action_at(state_of(history), ctx(MON_2_MAR)) == iso(neglect_at)
    assert due_at(history, neglect_at - MS) == []
    history, new = swept(history, neglect_at)
    assert [type(x) for x in new] == [e.ReportNeglected]
    assert new[0].institution_id is None  # never verified: no institution to blame yet
    assert due_at(history, neglect_at + timedelta(days=30)) == []
    assert next_action_at(state_of(history), ctx(neglect_at)) is None


def test_a_response_before_sixty_days_means_no_neglect():
    history = given((submit(), MON_2_MAR), (verify(), MON_2_MAR),
                    (follow_up(), datetime(2026, 4, 30, 2, tzinfo=UTC)))
    new = due_at(history, datetime(2026, 5, 2, tzinfo=UTC))
    assert not [x for x in new if isinstance(x, e.ReportNeglected)]


# ---------------------------------------------------------------------------------------------- automatic endings

def test_the_reply_window_closes_the_report_with_no_reply_and_nothing_follows():
    history = given((submit(), MON_2_MAR), (verify(), MON_2_MAR), (assign(), MON_2_MAR),
                    (follow_up(principal=PUPR_LIAISON), MON_2_MAR + timedelta(days=1)),
                    (follow_up(final=True, principal=PUPR_LIAISON), TUE_10_MAR))
    reply_due = "2026-03-31T09:00:00.000Z"  # Tue 10 Mar + 10 WD across the holidays, 17:00 WITA
    assert state_of(history).reply_due == reply_due
    assert running_clocks(state_of(history)) == []  # answered: the institution's clocks have stopped
    assert next_action_at(state_of(history), ctx(TUE_10_MAR)) == reply_due
    assert due_at(history, parse_instant(reply_due) - MS) == []
    history, new = swept(history, parse_instant(reply_due))
    assert new == [e.ReportClosed(reason="no_reply")]
    assert state_of(history).status == "closed"
    assert next_action_at(state_of(history), ctx(parse_instant(reply_due))) is None
    for later in (parse_instant(reply_due), datetime(2026, 6, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)):
        assert due_at(history, later) == []


def test_a_hold_without_clarification_is_archived_no_reply_after_ten_working_days():
    history = given((submit(), FRI_13_MAR), (hold(), FRI_13_MAR))
    # Fri 13 Mar + 10 WD: 16, 17, [18-24], 25, 26, 27, 30, 31, 1 Apr, 2 Apr, [3 Apr], 6 Apr -> 17:00 WIB.
    archive_at = datetime(2026, 4, 6, 10, 0, tzinfo=UTC)
    assert next_action_at(state_of(history), ctx(FRI_13_MAR)) == iso(archive_at)
    # On hold, the verification deadline (Wed 25 Mar) reminds nobody and 60 days of waiting neglect nothing.
    history, recorded = hourly_sweeps(history, FRI_13_MAR, archive_at - MS)
    assert recorded == []
    history, new = swept(history, archive_at)
    assert new == [e.ReportArchived(reason="no_reply", duplicate_of=None,
                                    note="no clarification within 10 working days")]
    assert state_of(history).status == "archived"
    assert next_action_at(state_of(history), ctx(archive_at)) is None
    assert due_at(history, datetime(2026, 12, 1, tzinfo=UTC)) == []


def test_a_hold_for_an_addressed_report_counts_in_the_institutions_zone():
    history = given((submit(addressed="pemkot-samarinda"), MON_2_MAR),
                    (c.HoldReport(principal=SAMARINDA_ADMIN, question="Alamat lengkap?"), MON_2_MAR))
    archive_at = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # Mon 2 Mar + 10 WD = Mon 16 Mar 17:00 WITA
    assert due_at(history, archive_at - MS) == []
    assert [type(x) for x in due_at(history, archive_at)] == [e.ReportArchived]


def test_a_clarified_report_is_not_archived_when_its_old_hold_expires():
    history = given((submit(), MON_2_MAR), (hold(), MON_2_MAR), (clarify(), datetime(2026, 3, 4, 2, tzinfo=UTC)))
    new = due_at(history, datetime(2026, 3, 16, 10, 0, tzinfo=UTC))
    assert not [x for x in new if isinstance(x, e.ReportArchived)]
    # ... but its new verification deadline (Wed 4 Mar + 3 WD = Mon 9 Mar 17:00 WIB) is reminded.
    assert [key_of(x)[:4] for x in new] == [("reminder", "verification", 1, "2026-03-09T10:00:00.000Z")]


# ---------------------------------------------------------------------------------------------- next_action_at

def test_next_action_at_is_the_earliest_pending_instant_and_none_once_closed_or_archived():
    submitted = given((submit(), MON_2_MAR))
    assert next_action_at(state_of(submitted), ctx(MON_2_MAR)) == "2026-03-05T10:00:00.000Z"
    times = sorted(at for at, _ in pending_actions(state_of(submitted), ctx(MON_2_MAR)))
    assert iso(times[0]) == "2026-03-05T10:00:00.000Z" and iso(times[-1]) == "2026-05-01T02:00:00.000Z"

    disposed = then(submitted, verify(), MON_2_MAR)
    # Follow-up (Mon 9 Mar 17:00 WITA) comes before resolution (Fri 27 Mar) and neglect (1 May).
    assert next_action_at(state_of(disposed), ctx(MON_2_MAR)) == "2026-03-09T09:00:00.000Z"
    pending = {iso(at) for at, _ in pending_actions(state_of(disposed), ctx(MON_2_MAR))}
    assert {"2026-03-09T09:00:00.000Z", "2026-03-27T09:00:00.000Z", "2026-05-01T02:00:00.000Z"} <= pending

    archived = given((submit(), MON_2_MAR), (c.ArchiveReport(principal=NATIONAL, reason="spam", duplicate_of=None,
                                                            note=None), MON_2_MAR))
    assert next_action_at(state_of(archived), ctx(MON_2_MAR)) is None
    assert pending_actions(state_of(archived), ctx(MON_2_MAR)) == []

    closed = given((submit(), MON_2_MAR), (verify(), MON_2_MAR), (follow_up(final=True), MON_2_MAR),
                   (c.AcceptResolution(principal=REPORTER, rating=5, comment=None), MON_2_MAR))
    assert state_of(closed).status == "closed"
    assert next_action_at(state_of(closed), ctx(MON_2_MAR)) is None
    assert due_at(closed, datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_next_action_at_moves_to_the_next_level_once_a_level_is_recorded():
    history = assigned_on_tuesday_10_march()
    assert next_action_at(state_of(history), ctx(TUE_10_MAR)) == iso(FOLLOW_UP_DUE)
    history, _ = swept(history, FOLLOW_UP_DUE)
    assert next_action_at(state_of(history), ctx(FOLLOW_UP_DUE)) == iso(LEVEL_2_AT)
    history, _ = swept(history, LEVEL_2_AT)
    assert next_action_at(state_of(history), ctx(LEVEL_2_AT)) == iso(LEVEL_3_AT)


@pytest.mark.parametrize("status_story", ["submitted", "disposed", "assigned"])
def test_decide_due_is_deterministic_and_idempotent_for_any_open_report(status_story):
    steps = {"submitted": [(submit(), MON_2_MAR)],
             "disposed": [(submit(), MON_2_MAR), (verify(), MON_2_MAR)],
             "assigned": [(submit(), MON_2_MAR), (verify(), MON_2_MAR), (assign(), MON_2_MAR)]}[status_story]
    history = given(*steps)
    at = datetime(2026, 7, 1, tzinfo=UTC)
    first, second = due_at(history, at), due_at(history, at)
    assert first == second and first
    history, _ = swept(history, at)
    assert due_at(history, at) == []
    keys = [key_of(x) for x in first]
    assert len(keys) == len(set(keys))  # no level twice in one decision
