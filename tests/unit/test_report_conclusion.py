"""The Report aggregate (DOMAIN §2, §4–§7): acceptance, objection and reopening, the Ombudsman, isolation between
reports, and replay. Given past events, when a command, then new events — or a refusal. The clock, the calendar
facts the expected deadlines rely on, the cast and the stories are in tests/support/aggregate.py.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from chalicelib.domain.report import ReportState, evolve, replay
from chalicelib.errors import (
    Forbidden,
    InvalidTransition,
    ReportNotFound,
    RuleViolated,
    Unauthenticated,
    ValidationFailed,
)
from chalicelib.store.base import chain_events
from events import report as e
from events.base import Actor, DomainEvent, StoredEvent
from events.chain import GENESIS
from tests.support.aggregate import (
    ANSWERED_AT,
    COMPLAINT_RESOLUTION_DUE,
    FOLLOW_UP_DUE,
    KALTIM_ADMIN,
    KALTIM_PUPR_LIAISON,
    KOMINFO_LIAISON,
    MS,
    NOW,
    OTHER_REPORTER,
    REPLY_DUE,
    REPLY_DUE_INSTANT,
    RESOLUTION_DUE_INSTANT,
    RID,
    UTC,
    VERIFICATION_DUE_WIB,
    VERIFICATION_DUE_WITA,
    accept,
    answer,
    answered,
    archive,
    archived,
    assign,
    assigned,
    closed,
    disposed,
    escalate,
    follow_up,
    give_back,
    given,
    hold,
    in_progress,
    object_to,
    on_hold,
    redispose,
    reply,
    state_of,
    submit,
    submitted,
    then,
    verify,
    when,
)
from tests.support.principals import NATIONAL, PUBLIC, PUPR_LIAISON, SAMARINDA_ADMIN

# ---------------------------------------------------------------------------------------------- accept

def test_reporter_accepts_the_answer_which_closes_the_report():
    history = answered()
    at = ANSWERED_AT + timedelta(days=1)

    events = when(history, accept(rating=4, comment="Cepat, terima kasih."), at)

    assert events == [e.ResolutionAccepted(rating=4, comment="Cepat, terima kasih."),
                      e.ReportClosed(reason="accepted")]
    after = then(history, accept(rating=4), at)
    assert [s.version for s in after[-2:]] == [6, 7]
    assert after[-1].prev_hash == after[-2].hash
    assert after[-1].occurred_at == after[-2].occurred_at == "2026-03-11T02:00:00.000Z"
    assert state_of(after).status == "closed"


def test_reporter_of_a_confidential_report_can_still_accept_it():
    events = when(answered(confidential=True), accept())

    assert [type(ev) for ev in events] == [e.ResolutionAccepted, e.ReportClosed]


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_rating_must_be_one_to_five(rating):
    with pytest.raises(ValidationFailed) as refused:
        when(answered(), accept(rating=rating))

    assert refused.value.details["field"] == "rating"


@pytest.mark.parametrize("history", [disposed, in_progress, closed], ids=lambda f: f.__name__)
def test_only_an_answered_report_can_be_accepted(history):
    with pytest.raises(InvalidTransition):
        when(history(), accept())


def test_reporter_with_a_wrong_token_cannot_accept():
    with pytest.raises(Forbidden):
        when(answered(), accept(OTHER_REPORTER))


def test_public_caller_cannot_accept_without_the_report_token():
    with pytest.raises(Unauthenticated):
        when(answered(), accept(PUBLIC))


@pytest.mark.parametrize("principal", [NATIONAL, SAMARINDA_ADMIN, PUPR_LIAISON])
def test_staff_cannot_accept_on_the_reporters_behalf(principal):
    with pytest.raises(Forbidden):
        when(answered(), accept(principal))


# ---------------------------------------------------------------------------------------------- object and reopen

def test_reporter_objects_within_the_reply_window_and_the_report_reopens_with_a_new_follow_up_clock():
    # Given: answered Tue 10 Mar; the reporter objects on Wed 25 Mar 09:00 WITA, after the holidays.
    history = answered()
    objected_at = datetime(2026, 3, 25, 1, 0, tzinfo=UTC)

    # When
    events = when(history, object_to(), objected_at)

    # Then: + 5 WD = 26, 27, 30, 31 Mar, 1 Apr -> Wed 1 Apr 17:00 WITA.
    assert events == [e.ResolutionObjected(reason="Lubangnya masih ada."),
                      e.ReportReopened(follow_up_due="2026-04-01T09:00:00.000Z")]
    state = state_of(then(history, object_to(), objected_at))
    assert state.status == "in_progress"
    assert state.objected is True
    assert state.follow_up_due == "2026-04-01T09:00:00.000Z"
    assert state.resolution_due == COMPLAINT_RESOLUTION_DUE
    assert state.reply_due is None and state.answered_at is None
    assert (state.institution_id, state.unit_id) == ("pemkot-samarinda", "dinas-pupr")


def test_reopened_report_is_handled_and_answered_again():
    history = then(answered(), object_to(), ANSWERED_AT + timedelta(days=1))

    history = then(history, follow_up(message="Ditambal ulang."))
    history = then(history, answer(message="Sudah ditambal ulang dengan aspal hotmix."),
                   datetime(2026, 3, 27, 1, 0, tzinfo=UTC))

    state = state_of(history)
    assert state.status == "answered"
    # Fri 27 Mar + 10 WD = 30, 31 Mar, 1, 2 Apr, [3 Apr Good Friday], 6-10 (9), 13 Apr (10).
    assert state.reply_due == "2026-04-13T09:00:00.000Z"


def test_objection_at_the_last_instant_of_the_reply_window_is_accepted():
    events = when(answered(), object_to(), REPLY_DUE_INSTANT)

    assert [type(ev) for ev in events] == [e.ResolutionObjected, e.ReportReopened]


def test_objection_after_the_reply_window_is_refused():
    with pytest.raises(RuleViolated) as refused:
        when(answered(), object_to(), REPLY_DUE_INSTANT + MS)

    assert refused.value.details["reply_due"] == REPLY_DUE


@pytest.mark.parametrize("history", [in_progress, closed], ids=lambda f: f.__name__)
def test_only_an_answered_report_can_be_objected_to(history):
    with pytest.raises(InvalidTransition):
        when(history(), object_to())


def test_reporter_with_a_wrong_token_cannot_object():
    with pytest.raises(Forbidden):
        when(answered(), object_to(OTHER_REPORTER))


def test_public_caller_cannot_object_without_the_report_token():
    with pytest.raises(Unauthenticated):
        when(answered(), object_to(PUBLIC))


def test_institution_cannot_object_to_its_own_answer():
    with pytest.raises(Forbidden):
        when(answered(), object_to(SAMARINDA_ADMIN))


# ---------------------------------------------------------------------------------------------- Ombudsman

def test_reporter_escalates_to_the_ombudsman_after_an_objection():
    history = then(answered(), object_to(), ANSWERED_AT + timedelta(days=1))

    events = when(history, escalate(reason="Jawaban tidak sesuai."), ANSWERED_AT + timedelta(days=2))

    assert events == [e.EscalatedToOmbudsman(grounds="objection", reason="Jawaban tidak sesuai.")]


def test_reporter_escalates_after_the_resolution_deadline_passed_without_an_answer():
    history = in_progress()

    events = when(history, escalate(), RESOLUTION_DUE_INSTANT + MS)

    assert events == [e.EscalatedToOmbudsman(grounds="missed_deadline", reason="Tidak ditangani.")]


def test_escalation_before_the_resolution_deadline_without_an_objection_has_no_grounds():
    with pytest.raises(RuleViolated) as refused:
        when(in_progress(), escalate(), RESOLUTION_DUE_INSTANT)

    assert refused.value.details["deadlines"]["resolution"] == COMPLAINT_RESOLUTION_DUE


def test_a_late_answer_is_still_a_missed_deadline_even_after_the_report_closed():
    # Given: answered on Mon 30 Mar, after the 27 Mar deadline, and accepted.
    late = datetime(2026, 3, 30, 2, 0, tzinfo=UTC)
    history = given(submit(), verify(), assign(), follow_up(), (answer(), late), (accept(rating=2), late))

    events = when(history, escalate(), late + timedelta(days=1))

    assert events == [e.EscalatedToOmbudsman(grounds="missed_deadline", reason="Tidak ditangani.")]


def test_an_answer_in_time_gives_no_grounds_even_when_asked_after_the_deadline():
    with pytest.raises(RuleViolated):
        when(answered(), escalate(), RESOLUTION_DUE_INSTANT + timedelta(days=3))


def test_escalation_is_a_flag_and_handling_continues():
    history = then(in_progress(), escalate(), RESOLUTION_DUE_INSTANT + MS)

    state = state_of(history)
    assert state.escalated_to_ombudsman is True
    assert state.status == "in_progress"
    assert when(history, answer(), RESOLUTION_DUE_INSTANT + timedelta(days=1))[0].message == "Jalan sudah ditambal."


def test_a_report_cannot_be_escalated_twice():
    history = then(in_progress(), escalate(), RESOLUTION_DUE_INSTANT + MS)

    with pytest.raises(RuleViolated):
        when(history, escalate(), RESOLUTION_DUE_INSTANT + timedelta(days=1))


@pytest.mark.parametrize("history", [on_hold, archived], ids=lambda f: f.__name__)
def test_a_report_on_hold_or_archived_cannot_be_escalated(history):
    with pytest.raises(InvalidTransition):
        when(history(), escalate(), RESOLUTION_DUE_INSTANT + timedelta(days=1))


def test_a_report_left_unverified_past_its_verification_deadline_can_be_escalated():
    # Given: submitted Mon 2 Mar, verification due Thu 5 Mar 17:00 WIB; nobody verified it.
    events = when(submitted(), escalate(), datetime(2026, 3, 6, 2, 0, tzinfo=UTC))

    assert events == [e.EscalatedToOmbudsman(grounds="missed_deadline", reason="Tidak ditangani.")]


def test_an_unverified_report_within_its_verification_deadline_has_no_grounds():
    with pytest.raises(RuleViolated):
        when(submitted(), escalate(), NOW + timedelta(hours=1))


def test_reporter_with_a_wrong_token_cannot_escalate():
    with pytest.raises(Forbidden):
        when(in_progress(), escalate(OTHER_REPORTER), RESOLUTION_DUE_INSTANT + MS)


def test_public_caller_cannot_escalate_without_the_report_token():
    with pytest.raises(Unauthenticated):
        when(in_progress(), escalate(PUBLIC), RESOLUTION_DUE_INSTANT + MS)


def test_staff_cannot_escalate_on_the_reporters_behalf():
    with pytest.raises(Forbidden):
        when(in_progress(), escalate(NATIONAL), RESOLUTION_DUE_INSTANT + MS)


# ---------------------------------------------------------------------------------------------- isolation

@pytest.mark.parametrize("command", [
    assign(principal=KALTIM_ADMIN), give_back(KALTIM_ADMIN), follow_up(KALTIM_ADMIN), answer(KALTIM_ADMIN),
    follow_up(KALTIM_PUPR_LIAISON), give_back(KALTIM_PUPR_LIAISON), follow_up(KOMINFO_LIAISON),
    hold(KALTIM_ADMIN), archive("spam", principal=KALTIM_ADMIN), redispose(principal=KALTIM_ADMIN),
], ids=lambda cmd: f"{type(cmd).__name__}-{cmd.principal.institution_id}-{cmd.principal.unit_id}")
def test_staff_outside_the_disposition_chain_cannot_learn_the_report_exists(command):
    with pytest.raises(ReportNotFound):
        when(assigned(), command)


# ---------------------------------------------------------------------------------------------- replay

def test_replaying_the_whole_lifecycle_gives_the_state_at_each_step():
    # Given / When: the full story, each step through its command.
    steps = [
        (submit(addressed_institution_id="pemkot-samarinda"), "submitted", None, None),
        (hold(SAMARINDA_ADMIN), "on_hold", None, None),
        (reply(), "submitted", None, None),
        (verify(SAMARINDA_ADMIN), "disposed", "pemkot-samarinda", None),
        (assign("dinas-kominfo"), "assigned", "pemkot-samarinda", "dinas-kominfo"),
        (give_back(KOMINFO_LIAISON), "disposed", "pemkot-samarinda", None),
        (assign("dinas-pupr"), "assigned", "pemkot-samarinda", "dinas-pupr"),
        (give_back(SAMARINDA_ADMIN), "returned", "pemkot-samarinda", None),
        (redispose("pemprov-kaltim"), "disposed", "pemprov-kaltim", None),
        (assign("dinas-pupr", KALTIM_ADMIN), "assigned", "pemprov-kaltim", "dinas-pupr"),
        (follow_up(KALTIM_PUPR_LIAISON), "in_progress", "pemprov-kaltim", "dinas-pupr"),
        (answer(KALTIM_PUPR_LIAISON), "answered", "pemprov-kaltim", "dinas-pupr"),
        (object_to(), "in_progress", "pemprov-kaltim", "dinas-pupr"),
        (escalate(), "in_progress", "pemprov-kaltim", "dinas-pupr"),
        (answer(KALTIM_PUPR_LIAISON), "answered", "pemprov-kaltim", "dinas-pupr"),
        (accept(), "closed", "pemprov-kaltim", "dinas-pupr"),
    ]
    history: list[StoredEvent] = []
    for command, status, institution_id, unit_id in steps:
        history = then(history, command)

        # Then
        state = state_of(history)
        assert (state.status, state.institution_id, state.unit_id) == (status, institution_id, unit_id), command
        assert state.version == len(history) == history[-1].version

    assert [s.type for s in history] == [
        "ReportSubmitted", "ReportPutOnHold", "ReportClarified", "ReportVerified", "ReportAssigned",
        "AssignmentReturned", "ReportAssigned", "ReportReturned", "ReportRedisposed", "ReportAssigned",
        "FollowUpPosted", "ReportAnswered", "ResolutionObjected", "ReportReopened", "EscalatedToOmbudsman",
        "ReportAnswered", "ResolutionAccepted", "ReportClosed"]
    assert history[0].prev_hash == GENESIS
    final = state_of(history)
    assert final.objected is True and final.escalated_to_ombudsman is True
    assert final.verification_due == VERIFICATION_DUE_WITA
    assert final.follow_up_due == FOLLOW_UP_DUE  # set by the reopen, at NOW: Mon 9 Mar
    assert final.resolution_due == COMPLAINT_RESOLUTION_DUE  # kept through the redisposition


def test_replay_of_an_exported_and_reimported_history_gives_the_same_state():
    history = answered()

    reimported = [StoredEvent.from_dict(s.to_dict()) for s in history]

    assert replay(RID, reimported) == replay(RID, history)


def test_evolve_is_deterministic():
    history = in_progress()
    state = replay(RID, history[:-1])

    first, second = evolve(state, history[-1]), evolve(state, history[-1])

    assert first == second
    assert replay(RID, history) == replay(RID, history)
    assert first.version == history[-1].version


def test_evolve_does_not_change_the_state_it_is_given():
    history = assigned()
    before = replay(RID, history[:-1])
    snapshot = dataclasses.replace(before)

    evolve(before, history[-1])

    assert before == snapshot
    assert before.status == "disposed"


def test_deadline_bookkeeping_events_do_not_change_the_status():
    # Given: the deadline machinery writes its own events into the stream.
    history = in_progress()
    bookkeeping = [
        e.ReminderSent(clock="follow_up", level=1, due_at=FOLLOW_UP_DUE, recipient_role="admin_penghubung",
                       recipient_institution_id="pemkot-samarinda", recipient_unit_id="dinas-pupr"),
        e.DeadlineEscalated(clock="follow_up", level=1, due_at=FOLLOW_UP_DUE, to_role="admin_instansi",
                            to_institution_id="pemkot-samarinda"),
        e.ReportNeglected(days_without_response=60, institution_id="pemkot-samarinda", region_code="64.72"),
    ]
    history = history + chain_events(RID, history[-1], bookkeeping, actor=Actor(role="system", user_id="lapor-system"),
                                     channel="system", now=NOW + timedelta(days=60), correlation_id="sweep-1",
                                     causation_id=None)

    state = state_of(history)

    assert state.status == "in_progress"
    assert state.reminders == frozenset({("follow_up", 1, FOLLOW_UP_DUE)})
    assert state.escalations == frozenset({("follow_up", 1, FOLLOW_UP_DUE)})
    assert state.neglected is True


def _reminded(state: ReportState, clock: str, level: int, due_at: str) -> bool:
    """Whether the state says the reminder for this deadline and level was already sent (either key shape)."""
    return (clock, level) in state.reminders or (clock, level, due_at) in state.reminders


def _sweep(history: list[StoredEvent], *events: DomainEvent, at: datetime) -> list[StoredEvent]:
    return history + chain_events(RID, history[-1], list(events), actor=Actor(role="system", user_id="lapor-system"),
                                  channel="system", now=at, correlation_id="sweep", causation_id=None)


def test_a_reminder_already_sent_for_a_deadline_is_remembered():
    history = _sweep(disposed(), e.ReminderSent(clock="follow_up", level=1, due_at=FOLLOW_UP_DUE,
                                                recipient_role="admin_instansi",
                                                recipient_institution_id="pemkot-samarinda"),
                     at=datetime(2026, 3, 9, 9, 0, tzinfo=UTC))

    assert _reminded(state_of(history), "follow_up", 1, FOLLOW_UP_DUE)


def test_a_reopened_report_gets_reminded_again_for_its_new_follow_up_deadline():
    # Given: the first follow-up deadline was missed and reminded, later the report was answered and reopened.
    history = _sweep(assigned(), e.ReminderSent(clock="follow_up", level=1, due_at=FOLLOW_UP_DUE,
                                                recipient_role="admin_penghubung",
                                                recipient_institution_id="pemkot-samarinda",
                                                recipient_unit_id="dinas-pupr"),
                     at=datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
    history = then(history, answer(), ANSWERED_AT)
    history = then(history, object_to(), datetime(2026, 3, 11, 2, 0, tzinfo=UTC))

    # When
    state = state_of(history)

    # Then: Wed 11 Mar + 5 WD = 12, 13, 16, 17, 25 Mar; that deadline has had no reminder yet.
    assert state.follow_up_due == "2026-03-25T09:00:00.000Z"
    assert not _reminded(state, "follow_up", 1, state.follow_up_due)


def test_a_clarified_report_gets_reminded_again_for_its_new_verification_deadline():
    history = _sweep(on_hold(), e.ReminderSent(clock="verification", level=1, due_at=VERIFICATION_DUE_WIB,
                                               recipient_role="admin_nasional"),
                     at=datetime(2026, 3, 5, 10, 0, tzinfo=UTC))
    history = then(history, reply(), datetime(2026, 3, 9, 2, 0, tzinfo=UTC))

    state = state_of(history)

    assert state.verification_due == "2026-03-12T10:00:00.000Z"  # Mon 9 Mar + 3 WD, 17:00 WIB
    assert not _reminded(state, "verification", 1, state.verification_due)
