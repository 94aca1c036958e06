"""The Report aggregate (DOMAIN §2, §4–§7): assignment, returns, re-disposition, follow-ups and the final answer.
Given past events, when a command, then new events — or a refusal. The clock, the calendar facts the expected
deadlines rely on, the cast and the stories are in tests/support/aggregate.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib.errors import (
    Forbidden,
    InvalidTransition,
    ReportNotFound,
    RuleViolated,
    UnknownReference,
)
from events import report as e
from tests.support.aggregate import (
    ANSWERED_AT,
    COMPLAINT_RESOLUTION_DUE,
    FOLLOW_UP_DUE,
    KALTIM_ADMIN,
    KALTIM_PUPR_LIAISON,
    KOMINFO_LIAISON,
    NOW,
    OMBUDSMAN,
    REPLY_DUE,
    SUPERVISOR,
    UTC,
    answer,
    answered,
    assign,
    assigned,
    closed,
    disposed,
    follow_up,
    give_back,
    given,
    in_progress,
    redispose,
    returned,
    state_of,
    submit,
    submitted,
    then,
    verify,
    when,
)
from tests.support.principals import NATIONAL, PUPR_LIAISON, SAMARINDA_ADMIN

# ---------------------------------------------------------------------------------------------- assign

def test_institution_admin_assigns_a_disposed_report_to_one_of_its_units():
    history = disposed()

    events = when(history, assign("dinas-pupr"))

    assert events == [e.ReportAssigned(unit_id="dinas-pupr")]
    state = state_of(then(history, assign("dinas-pupr")))
    assert (state.status, state.institution_id, state.unit_id) == ("assigned", "pemkot-samarinda", "dinas-pupr")
    assert state.follow_up_due == FOLLOW_UP_DUE and state.resolution_due == COMPLAINT_RESOLUTION_DUE


def test_institution_admin_reassigns_to_another_unit_which_takes_the_report_over():
    history = assigned()

    events = when(history, assign("dinas-kominfo"))

    assert events == [e.ReportAssigned(unit_id="dinas-kominfo")]
    reassigned = then(history, assign("dinas-kominfo"))
    assert state_of(reassigned).unit_id == "dinas-kominfo"
    assert [type(ev) for ev in when(reassigned, follow_up(KOMINFO_LIAISON))] == [e.FollowUpPosted]
    with pytest.raises(ReportNotFound):
        when(reassigned, follow_up(PUPR_LIAISON))


def test_reassigning_to_the_same_unit_is_refused():
    with pytest.raises(RuleViolated):
        when(assigned(), assign("dinas-pupr"))


@pytest.mark.parametrize("unit_id", ["dinas-sihir", "dinas-bina-marga"])  # the second is Jakarta's, not Samarinda's
def test_assigning_to_a_unit_the_institution_does_not_have_is_refused(unit_id):
    with pytest.raises(UnknownReference) as refused:
        when(disposed(), assign(unit_id))

    assert refused.value.code == "unknown_unit"


@pytest.mark.parametrize("principal", [NATIONAL, OMBUDSMAN])
def test_only_the_institution_admin_assigns(principal):
    with pytest.raises(Forbidden):
        when(disposed(), assign(principal=principal))


def test_liaison_cannot_assign_even_within_its_institution():
    with pytest.raises(Forbidden):
        when(assigned(), assign("dinas-kominfo", principal=PUPR_LIAISON))


def test_another_institutions_admin_cannot_assign():
    with pytest.raises(ReportNotFound):
        when(disposed(), assign(principal=KALTIM_ADMIN))


@pytest.mark.parametrize("history", [in_progress, returned, answered], ids=lambda f: f.__name__)
def test_assignment_needs_a_disposed_or_assigned_report(history):
    with pytest.raises(InvalidTransition):
        when(history(), assign("dinas-kominfo"))


# ---------------------------------------------------------------------------------------------- returns

def test_liaison_returns_an_assignment_to_its_institution_admin():
    history = assigned()

    events = when(history, give_back(PUPR_LIAISON, "Ini urusan Dinas Kominfo."))

    assert events == [e.AssignmentReturned(unit_id="dinas-pupr", reason="Ini urusan Dinas Kominfo.")]
    after = then(history, give_back(PUPR_LIAISON))
    state = state_of(after)
    assert (state.status, state.institution_id, state.unit_id) == ("disposed", "pemkot-samarinda", None)
    # The unit no longer sees it; the admin can assign it elsewhere.
    with pytest.raises(ReportNotFound):
        when(after, follow_up(PUPR_LIAISON))
    assert when(after, assign("dinas-kominfo")) == [e.ReportAssigned(unit_id="dinas-kominfo")]


def test_another_units_liaison_cannot_return_the_assignment():
    with pytest.raises(ReportNotFound):
        when(assigned(), give_back(KOMINFO_LIAISON))


def test_a_liaison_of_a_same_named_unit_in_another_institution_cannot_see_the_report():
    with pytest.raises(ReportNotFound):
        when(assigned(), give_back(KALTIM_PUPR_LIAISON))


def test_liaison_cannot_return_once_handling_has_started():
    with pytest.raises(InvalidTransition):
        when(in_progress(), give_back(PUPR_LIAISON))


def test_institution_admin_returns_a_disposed_report_as_not_its_authority():
    history = disposed()

    events = when(history, give_back(SAMARINDA_ADMIN, "Jalan provinsi, wewenang Pemprov Kaltim."))

    assert events == [e.ReportReturned(institution_id="pemkot-samarinda",
                                       reason="Jalan provinsi, wewenang Pemprov Kaltim.")]
    state = state_of(then(history, give_back(SAMARINDA_ADMIN)))
    assert (state.status, state.institution_id, state.unit_id) == ("returned", "pemkot-samarinda", None)


def test_institution_admin_may_return_an_assigned_report_which_takes_it_from_the_unit():
    history = then(assigned(), give_back(SAMARINDA_ADMIN))

    assert history[-1].event == e.ReportReturned(institution_id="pemkot-samarinda", reason="Bukan kewenangan kami.")
    assert state_of(history).unit_id is None
    with pytest.raises(ReportNotFound):
        when(history, follow_up(PUPR_LIAISON))


def test_national_admin_cannot_return_a_report_on_an_institutions_behalf():
    with pytest.raises(Forbidden):
        when(disposed(), give_back(NATIONAL))


@pytest.mark.parametrize("history", [in_progress, returned, answered], ids=lambda f: f.__name__)
def test_institution_cannot_return_a_report_it_has_started_handling_or_already_returned(history):
    with pytest.raises(InvalidTransition):
        when(history(), give_back(SAMARINDA_ADMIN))


def test_another_institutions_admin_cannot_return_the_report():
    with pytest.raises(ReportNotFound):
        when(disposed(), give_back(KALTIM_ADMIN))


# ---------------------------------------------------------------------------------------------- redispose

def test_national_admin_redisposes_a_returned_report_and_the_clocks_keep_running():
    # Given: returned by Samarinda two days later.
    history = given(submit(), verify(), (give_back(SAMARINDA_ADMIN), NOW + timedelta(days=2)))
    redisposed_at = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)

    # When
    events = when(history, redispose("pemprov-kaltim"), redisposed_at)

    # Then: the citizen is not punished for the wrong door: the deadlines set at the first disposition stand.
    assert events == [e.ReportRedisposed(institution_id="pemprov-kaltim", previous_institution_id="pemkot-samarinda")]
    state = state_of(then(history, redispose("pemprov-kaltim"), redisposed_at))
    assert (state.status, state.institution_id, state.unit_id) == ("disposed", "pemprov-kaltim", None)
    assert state.follow_up_due == FOLLOW_UP_DUE
    assert state.resolution_due == COMPLAINT_RESOLUTION_DUE


def test_after_redisposition_the_new_institution_handles_and_the_old_one_no_longer_sees_it():
    history = then(returned(), redispose("pemprov-kaltim"))

    assert when(history, assign("dinas-pupr", principal=KALTIM_ADMIN)) == [e.ReportAssigned(unit_id="dinas-pupr")]
    with pytest.raises(ReportNotFound):
        when(history, assign("dinas-pupr", principal=SAMARINDA_ADMIN))


def test_redisposition_to_the_institution_that_returned_it_is_refused():
    with pytest.raises(RuleViolated):
        when(returned(), redispose("pemkot-samarinda"))


def test_redisposition_to_an_unknown_institution_is_refused():
    with pytest.raises(UnknownReference) as refused:
        when(returned(), redispose("pemkot-atlantis"))

    assert refused.value.code == "unknown_institution"


@pytest.mark.parametrize("history", [disposed, assigned, in_progress], ids=lambda f: f.__name__)
def test_only_a_returned_report_can_be_redisposed(history):
    with pytest.raises(InvalidTransition):
        when(history(), redispose())


def test_institution_admin_cannot_redispose_a_report_it_returned():
    with pytest.raises(Forbidden):
        when(returned(), redispose(principal=SAMARINDA_ADMIN))


# ---------------------------------------------------------------------------------------------- follow-ups

def test_liaison_posts_the_first_follow_up_and_handling_is_in_progress():
    history = assigned()
    at = NOW + timedelta(days=1)

    events = when(history, follow_up(), at)

    assert events == [e.FollowUpPosted(message="Tim sudah meninjau lokasi.")]
    state = state_of(then(history, follow_up(), at))
    assert state.status == "in_progress"
    assert state.first_response_at == "2026-03-03T02:00:00.000Z"


def test_institution_admin_may_post_a_follow_up_on_a_disposed_report():
    events = when(disposed(), follow_up(SAMARINDA_ADMIN))

    assert events == [e.FollowUpPosted(message="Tim sudah meninjau lokasi.")]


def test_later_follow_ups_keep_the_first_response_time():
    history = given(submit(), verify(), assign(), follow_up(), (follow_up(message="Material dipesan."),
                                                                NOW + timedelta(days=3)))

    state = state_of(history)
    assert state.status == "in_progress"
    assert state.first_response_at == "2026-03-02T02:00:00.000Z"


@pytest.mark.parametrize("principal", [NATIONAL, OMBUDSMAN, SUPERVISOR])
def test_only_the_handling_institution_posts_follow_ups(principal):
    with pytest.raises(Forbidden):
        when(assigned(), follow_up(principal))


def test_liaison_of_another_unit_cannot_post_a_follow_up():
    with pytest.raises(ReportNotFound):
        when(assigned(), follow_up(KOMINFO_LIAISON))


def test_liaison_cannot_post_on_a_report_not_yet_assigned_to_its_unit():
    with pytest.raises(ReportNotFound):
        when(disposed(), follow_up(PUPR_LIAISON))


@pytest.mark.parametrize("history", [returned, answered, closed], ids=lambda f: f.__name__)
def test_follow_up_is_refused_when_the_report_is_not_being_handled(history):
    with pytest.raises(InvalidTransition):
        when(history(), follow_up(SAMARINDA_ADMIN))


def test_follow_up_on_an_unverified_report_is_refused():
    # The addressed admin sees it, but it is not its to handle before verification.
    with pytest.raises(Forbidden):
        when(submitted(addressed_institution_id="pemkot-samarinda"), follow_up(SAMARINDA_ADMIN))


# ---------------------------------------------------------------------------------------------- final answer

def test_final_answer_opens_the_reporters_ten_working_day_reply_window():
    history = in_progress()

    events = when(history, answer(), ANSWERED_AT)

    # Tue 10 Mar + 10 WD (18-24 Mar off) -> Tue 31 Mar 17:00 WITA.
    assert events == [e.ReportAnswered(message="Jalan sudah ditambal.", reply_due=REPLY_DUE)]
    state = state_of(then(history, answer(), ANSWERED_AT))
    assert state.status == "answered"
    assert state.reply_due == REPLY_DUE
    assert state.answered_at == "2026-03-10T02:00:00.000Z"


def test_final_answer_straight_from_disposition_counts_as_the_first_response():
    history = then(disposed(), answer(SAMARINDA_ADMIN), ANSWERED_AT)

    state = state_of(history)
    assert state.status == "answered"
    assert state.first_response_at == "2026-03-10T02:00:00.000Z"


def test_a_report_already_answered_cannot_be_answered_again():
    with pytest.raises(InvalidTransition):
        when(answered(), answer())
