"""The Ombudsman's audit timeline (DOMAIN §9), pure: histories in, timeline out.

Histories are made through the real aggregate (decide, then chain_events), each command at its own
instant, as in tests/unit/test_report_aggregate.py; system events (reminders) are chained the way the
deadline sweep appends them. Samarinda is WITA (+08:00): its 17:00 deadlines are 09:00Z; the national
admin verifies in WIB (+07:00): 17:00 WIB is 10:00Z. 18–24 March 2026 are not working days (Nyepi,
Idul Fitri and cuti bersama); 3 April 2026 is Good Friday.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.auth import hash_token
from chalicelib.clock import iso
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.report import Context, decide, replay
from chalicelib.domain.working_days import default_calendar
from chalicelib.reference import load_reference
from chalicelib.services.timeline import build_timeline
from chalicelib.store.base import chain_events
from events import report as e
from events.base import SYSTEM, StoredEvent
from tests.support.builders import submit_command, verify_command
from tests.support.principals import NATIONAL, PUPR_LIAISON, SAMARINDA_ADMIN, reporter

UTC = timezone.utc
WITA = timezone(timedelta(hours=8))
WIB = timezone(timedelta(hours=7))
RID = "LAP-TIMELINE01"
TOKEN = "rpt_timeline-reporter"
REFERENCE, CALENDAR = load_reference(), default_calendar()

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March, 09:00 WIB / 10:00 WITA
BALIKPAPAN_ADMIN = Principal(role="admin_instansi", user_id="i3", institution_id="pemkot-balikpapan")
REPORTER = reporter(TOKEN)


# ------------------------------------------------------------------------------------------------ histories

def then(history: list[StoredEvent], command: c.Command, at: datetime) -> list[StoredEvent]:
    new = decide(replay(RID, history), command, Context(at, CALENDAR, REFERENCE))
    channel = command.channel if isinstance(command, c.SubmitReport) else "web"
    return history + chain_events(RID, history[-1] if history else None, new, actor=command.principal.actor(),
                                  channel=channel, now=at, correlation_id=f"corr-{len(history) + 1}",
                                  causation_id=None)


def given(*steps: tuple[c.Command, datetime]) -> list[StoredEvent]:
    history: list[StoredEvent] = []
    for command, at in steps:
        history = then(history, command, at)
    return history


def swept(history: list[StoredEvent], event: e.DomainEvent, at: datetime) -> list[StoredEvent]:
    return history + chain_events(RID, history[-1], [event], actor=SYSTEM, channel="system", now=at,
                                  correlation_id="sweep", causation_id=None)


def submit(**overrides) -> c.SubmitReport:
    return submit_command(**(dict(access_token_hash=hash_token(TOKEN), location=None) | overrides))


def verify(institution_id: str = "pemkot-samarinda", principal: Principal = NATIONAL) -> c.VerifyReport:
    return verify_command(principal, institution_id)


def assign(unit_id: str = "dinas-pupr") -> c.AssignReport:
    return c.AssignReport(principal=SAMARINDA_ADMIN, unit_id=unit_id)


def follow_up(principal: Principal = PUPR_LIAISON) -> c.PostFollowUp:
    return c.PostFollowUp(principal=principal, message="Tim sudah meninjau lokasi.", final=False)


def answer(principal: Principal = PUPR_LIAISON) -> c.PostFollowUp:
    return c.PostFollowUp(principal=principal, message="Jalan sudah ditambal.", final=True)


def timeline(history: list[StoredEvent], as_of: datetime) -> dict:
    return build_timeline(RID, history, calendar=CALENDAR, reference=REFERENCE, as_of=as_of)


def step_of(result: dict, event_type: str) -> dict:
    return next(step for step in result["steps"] if step["type"] == event_type)


# ------------------------------------------------------------------------------------------------ working days

def test_the_first_step_took_no_working_days_and_each_later_one_counts_from_the_previous():
    history = given((submit(), NOW), (verify(), NOW + timedelta(days=1)), (assign(), NOW + timedelta(days=2)))

    result = timeline(history, NOW + timedelta(days=3))

    assert [step["working_days_since_previous"] for step in result["steps"]] == [0, 1, 1]
    assert [step["version"] for step in result["steps"]] == [1, 2, 3]
    assert [step["type"] for step in result["steps"]] == ["ReportSubmitted", "ReportVerified", "ReportAssigned"]


def test_working_days_are_counted_on_samarindas_calendar_across_a_weekend():
    # Verified Friday 6 March 16:00 WITA. The liaison's first follow-up comes Saturday 00:30 WITA (Friday
    # 23:30 WIB), the answer Monday 9 March 00:30 WITA (Sunday 23:30 WIB). In WITA the weekend gave no
    # working day and Monday is one; on Jakarta's clock Monday would not have begun.
    verified_at = datetime(2026, 3, 6, 16, 0, tzinfo=WITA)
    followed_at = datetime(2026, 3, 7, 0, 30, tzinfo=WITA)
    answered_at = datetime(2026, 3, 9, 0, 30, tzinfo=WITA)
    history = given((submit(), datetime(2026, 3, 5, 10, 0, tzinfo=WIB)), (verify(), verified_at),
                    (assign(), verified_at + timedelta(minutes=30)), (follow_up(), followed_at),
                    (answer(), answered_at))

    result = timeline(history, answered_at)

    assert [step["working_days_since_previous"] for step in result["steps"]] == [0, 1, 0, 0, 1]
    assert CALENDAR.working_days_between(followed_at, answered_at, "WIB") == 0


def test_working_days_skip_the_nyepi_and_idul_fitri_break():
    history = given((submit(), datetime(2026, 3, 16, 9, 0, tzinfo=WIB)),
                    (verify(), datetime(2026, 3, 17, 9, 0, tzinfo=WIB)),
                    (follow_up(SAMARINDA_ADMIN), datetime(2026, 3, 25, 9, 0, tzinfo=WITA)))

    result = timeline(history, datetime(2026, 3, 26, 9, 0, tzinfo=WITA))

    # 17 → 25 March: only Wednesday 25 is a working day; the calendar week between is a holiday.
    assert [step["working_days_since_previous"] for step in result["steps"]] == [0, 1, 1]
    # From the first step: Tue 17, Wed 25 and Thu 26 (as of) in WITA.
    assert result["total_working_days"] == 3


def test_each_step_says_who_took_it_and_through_which_channel():
    history = given((submit(), NOW), (verify(), NOW + timedelta(hours=1)), (assign(), NOW + timedelta(hours=2)),
                    (follow_up(), NOW + timedelta(hours=3)))

    steps = timeline(history, NOW + timedelta(hours=4))["steps"]

    assert steps[0]["by"] == {"role": "public"} and steps[0]["channel"] == "web"
    assert steps[1]["by"] == {"role": "admin_nasional", "user_id": "n1"}
    assert steps[3]["by"] == {"role": "admin_penghubung", "user_id": "l1", "institution_id": "pemkot-samarinda",
                              "unit_id": "dinas-pupr"}
    assert [step["at"] for step in steps] == [iso(NOW + timedelta(hours=h)) for h in range(4)]


# ------------------------------------------------------------------------------------------------ missed deadlines

def test_a_late_verification_is_flagged_as_a_missed_verification_deadline():
    # Verification was due Thursday 5 March 17:00 WIB (10:00Z); it came Friday morning.
    late = datetime(2026, 3, 6, 9, 0, tzinfo=WIB)
    history = given((submit(), NOW), (verify(), late))

    result = timeline(history, late)

    assert step_of(result, "ReportVerified")["flags"] == ["missed_verification_deadline"]
    assert result["missed_deadlines"] == [{"clock": "verification", "due": "2026-03-05T10:00:00.000Z",
                                           "met_at": iso(late), "version": 2}]


def test_a_verification_at_the_deadline_itself_is_on_time():
    due = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    history = given((submit(), NOW), (verify(), due))

    result = timeline(history, due)

    assert step_of(result, "ReportVerified")["flags"] == []
    assert result["missed_deadlines"] == []


def test_a_late_first_follow_up_and_a_late_answer_are_flagged_with_their_clocks():
    # Disposed Monday 2 March: first follow-up due Monday 9 March 17:00 WITA, resolution (complaint,
    # 14 WD across the holiday week) Friday 27 March 17:00 WITA.
    followed_at = datetime(2026, 3, 10, 10, 0, tzinfo=WITA)
    answered_at = datetime(2026, 3, 30, 10, 0, tzinfo=WITA)
    history = given((submit(), NOW), (verify(), NOW), (assign(), NOW), (follow_up(), followed_at),
                    (answer(), answered_at))

    result = timeline(history, answered_at)

    assert step_of(result, "FollowUpPosted")["flags"] == ["missed_follow_up_deadline"]
    assert step_of(result, "ReportAnswered")["flags"] == ["missed_resolution_deadline"]
    assert result["missed_deadlines"] == [
        {"clock": "follow_up", "due": "2026-03-09T09:00:00.000Z", "met_at": iso(followed_at), "version": 4},
        {"clock": "resolution", "due": "2026-03-27T09:00:00.000Z", "met_at": iso(answered_at), "version": 5}]


def test_a_late_answer_with_no_follow_up_before_it_misses_both_clocks():
    answered_at = datetime(2026, 3, 30, 10, 0, tzinfo=WITA)
    history = given((submit(), NOW), (verify(), NOW), (answer(SAMARINDA_ADMIN), answered_at))

    flags = step_of(timeline(history, answered_at), "ReportAnswered")["flags"]

    assert flags == ["missed_follow_up_deadline", "missed_resolution_deadline"]


def test_a_second_follow_up_does_not_meet_the_first_follow_up_clock_again():
    history = given((submit(), NOW), (verify(), NOW), (follow_up(SAMARINDA_ADMIN), NOW + timedelta(days=1)),
                    (follow_up(SAMARINDA_ADMIN), NOW + timedelta(days=20)))

    result = timeline(history, NOW + timedelta(days=20))

    assert [step["flags"] for step in result["steps"]] == [[], [], [], []]
    assert result["missed_deadlines"] == []


def test_handling_on_time_flags_nothing():
    history = given((submit(), NOW), (verify(), NOW + timedelta(hours=2)), (assign(), NOW + timedelta(hours=3)),
                    (follow_up(), NOW + timedelta(days=1)), (answer(), NOW + timedelta(days=3)))

    result = timeline(history, NOW + timedelta(days=3))

    assert all(step["flags"] == [] for step in result["steps"])
    assert result["missed_deadlines"] == []


# ------------------------------------------------------------------------------------------------ open deadlines

def test_a_deadline_still_open_is_listed_as_missed_once_the_instant_asked_about_is_past_it():
    history = given((submit(), NOW), (verify(), NOW))
    follow_up_due, resolution_due = "2026-03-09T09:00:00.000Z", "2026-03-27T09:00:00.000Z"

    before = timeline(history, datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
    after_follow_up = timeline(history, datetime(2026, 3, 9, 9, 1, tzinfo=UTC))
    after_resolution = timeline(history, datetime(2026, 3, 28, tzinfo=UTC))

    assert before["missed_deadlines"] == []
    assert after_follow_up["missed_deadlines"] == [
        {"clock": "follow_up", "due": follow_up_due, "met_at": None, "version": None}]
    assert after_resolution["missed_deadlines"] == [
        {"clock": "follow_up", "due": follow_up_due, "met_at": None, "version": None},
        {"clock": "resolution", "due": resolution_due, "met_at": None, "version": None}]
    assert after_resolution["deadlines"] == {"verification": "2026-03-05T10:00:00.000Z",
                                             "follow_up": follow_up_due, "resolution": resolution_due,
                                             "reply": None}


def test_an_unverified_report_past_its_verification_deadline_shows_the_open_miss():
    history = given((submit(), NOW),)

    result = timeline(history, datetime(2026, 3, 6, tzinfo=UTC))

    assert result["status"] == "submitted"
    assert result["missed_deadlines"] == [
        {"clock": "verification", "due": "2026-03-05T10:00:00.000Z", "met_at": None, "version": None}]


def test_the_reporters_reply_window_is_not_an_institutions_missed_deadline():
    answered_at = NOW + timedelta(days=1)
    history = given((submit(), NOW), (verify(), NOW), (answer(SAMARINDA_ADMIN), answered_at))

    result = timeline(history, answered_at + timedelta(days=40))

    assert result["status"] == "answered" and result["deadlines"]["reply"] is not None
    assert result["missed_deadlines"] == []


# ------------------------------------------------------------------------------------------------ flags

def test_returns_reopenings_objections_escalations_and_reminders_are_flagged_and_counted():
    history = given((submit(), NOW), (verify("pemkot-balikpapan"), NOW + timedelta(hours=1)),
                    (c.ReturnReport(principal=BALIKPAPAN_ADMIN, reason="Bukan wewenang kami."),
                     NOW + timedelta(hours=2)),
                    (c.RedisposeReport(principal=NATIONAL, institution_id="pemkot-samarinda"),
                     NOW + timedelta(hours=3)),
                    (assign(), NOW + timedelta(hours=4)),
                    (c.ReturnReport(principal=PUPR_LIAISON, reason="Bukan urusan PUPR."), NOW + timedelta(hours=5)),
                    (answer(SAMARINDA_ADMIN), NOW + timedelta(days=1)),
                    (c.ObjectToResolution(principal=REPORTER, reason="Lubangnya masih ada."), NOW + timedelta(days=2)))
    history = swept(history, e.ReminderSent(clock="follow_up", level=1, due_at="2026-03-11T09:00:00.000Z",
                                            recipient_role="admin_instansi",
                                            recipient_institution_id="pemkot-samarinda"),
                    datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    history = given_more(history, (c.EscalateToOmbudsman(principal=REPORTER, reason="Tidak ditangani."),
                                   datetime(2026, 3, 12, tzinfo=UTC)))

    result = timeline(history, datetime(2026, 3, 12, 1, 0, tzinfo=UTC))

    flags = [(step["type"], step["flags"]) for step in result["steps"]]
    assert flags == [
        ("ReportSubmitted", []), ("ReportVerified", []), ("ReportReturned", ["returned"]),
        ("ReportRedisposed", []), ("ReportAssigned", []), ("AssignmentReturned", ["returned"]),
        ("ReportAnswered", []), ("ResolutionObjected", ["objection"]), ("ReportReopened", ["reopened"]),
        ("ReminderSent", ["reminder"]), ("EscalatedToOmbudsman", ["escalated"])]
    assert (result["returns"], result["reopenings"], result["escalations"]) == (2, 1, 1)
    assert result["escalated_to_ombudsman"] is True
    assert (result["status"], result["institution_id"], result["unit_id"]) == ("in_progress", "pemkot-samarinda",
                                                                               None)
    # The reopening set a new first follow-up clock (5 WD from Wednesday 4 March): it has passed, unmet.
    assert result["missed_deadlines"] == [
        {"clock": "follow_up", "due": "2026-03-11T09:00:00.000Z", "met_at": None, "version": None}]


def given_more(history: list[StoredEvent], *steps: tuple[c.Command, datetime]) -> list[StoredEvent]:
    for command, at in steps:
        history = then(history, command, at)
    return history


def test_a_deadline_escalation_and_a_neglect_notice_are_flagged():
    history = given((submit(), NOW), (verify(), NOW))
    history = swept(history, e.DeadlineEscalated(clock="follow_up", level=2, due_at="2026-03-09T09:00:00.000Z",
                                                 to_role="admin_nasional"), datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    history = swept(history, e.ReportNeglected(days_without_response=60, institution_id="pemkot-samarinda",
                                               region_code="64.72"), datetime(2026, 5, 1, tzinfo=UTC))

    result = timeline(history, datetime(2026, 5, 2, tzinfo=UTC))

    assert [step["flags"] for step in result["steps"]] == [[], [], ["escalated"], ["neglected"]]
    assert result["escalations"] == 1


# ------------------------------------------------------------------------------------------------ as of

def full_history() -> list[StoredEvent]:
    return given((submit(), NOW), (verify(), NOW + timedelta(days=1)), (assign(), NOW + timedelta(days=2)),
                 (follow_up(), NOW + timedelta(days=3)), (answer(), NOW + timedelta(days=4)),
                 (c.AcceptResolution(principal=REPORTER, rating=5, comment=None), NOW + timedelta(days=5)))


def test_as_of_cuts_the_history_at_that_instant():
    history = full_history()

    mid = timeline(history, NOW + timedelta(days=2, hours=12))
    whole = timeline(history, NOW + timedelta(days=6))

    assert [step["type"] for step in mid["steps"]] == ["ReportSubmitted", "ReportVerified", "ReportAssigned"]
    assert (mid["status"], mid["unit_id"], mid["deadlines"]["reply"]) == ("assigned", "dinas-pupr", None)
    assert mid["as_of"] == iso(NOW + timedelta(days=2, hours=12))
    assert [step["version"] for step in whole["steps"]] == [1, 2, 3, 4, 5, 6, 7]
    assert whole["status"] == "closed"
    # The steps before the cut are exactly those of the whole timeline.
    assert mid["steps"] == whole["steps"][:3]


def test_an_event_at_the_very_instant_asked_about_is_included():
    history = full_history()

    at_verification = timeline(history, NOW + timedelta(days=1))
    just_before = timeline(history, NOW + timedelta(days=1) - timedelta(milliseconds=1))

    assert at_verification["status"] == "disposed" and len(at_verification["steps"]) == 2
    assert just_before["status"] == "submitted" and len(just_before["steps"]) == 1


def test_as_of_before_the_report_existed_shows_nothing():
    result = timeline(full_history(), NOW - timedelta(seconds=1))

    assert result == {"report_id": RID, "as_of": iso(NOW - timedelta(seconds=1)), "steps": [], "status": None}


def test_total_working_days_run_from_submission_to_the_instant_asked_about():
    history = full_history()  # Monday 2 March onwards

    assert timeline(history, NOW)["total_working_days"] == 0
    assert timeline(history, datetime(2026, 3, 6, 9, 0, tzinfo=WITA))["total_working_days"] == 4
    assert timeline(history, datetime(2026, 3, 8, 9, 0, tzinfo=WITA))["total_working_days"] == 4  # a Sunday


@pytest.mark.parametrize("days", [0, 3, 10])
def test_the_timeline_never_mutates_or_needs_more_than_the_events_given(days):
    history = full_history()
    snapshot = [event.to_dict() for event in history]

    timeline(history, NOW + timedelta(days=days))
    from_iterator = build_timeline(RID, iter(history), calendar=CALENDAR, reference=REFERENCE,
                                   as_of=NOW + timedelta(days=days))

    assert [event.to_dict() for event in history] == snapshot
    assert from_iterator == timeline(history, NOW + timedelta(days=days))
