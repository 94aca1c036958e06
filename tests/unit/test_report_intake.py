"""The Report aggregate (DOMAIN §2, §4–§7): submitting, holding and clarifying, the reporter's replies,
verification (= disposition) and archiving. Given past events, when a command, then new events — or a refusal.
The clock, the calendar facts the expected deadlines rely on, the cast and the stories are in
tests/support/aggregate.py.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.auth import hash_token
from chalicelib.errors import (
    Forbidden,
    InvalidTransition,
    ReportNotFound,
    RuleViolated,
    Unauthenticated,
    UnknownReference,
    ValidationFailed,
)
from events import report as e
from tests.support.aggregate import (
    COMPLAINT_RESOLUTION_DUE,
    FOLLOW_UP_DUE,
    INSPECTION_RESOLUTION_DUE,
    KALTIM_ADMIN,
    OMBUDSMAN,
    OTHER_REPORTER,
    REPORTER,
    RID,
    SHORT_RESOLUTION_DUE,
    SUPERVISOR,
    SYSTEM,
    TOKEN,
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
    returned,
    state_of,
    submit,
    submitted,
    then,
    verify,
    when,
)
from tests.support.principals import NATIONAL, PUBLIC, PUPR_LIAISON, SAMARINDA_ADMIN

# ---------------------------------------------------------------------------------------------- submit

def test_public_submission_records_the_report_with_a_three_working_day_verification_clock_in_wib():
    # When
    events = when([], submit())

    # Then: nobody is addressed, so the national admin verifies, in WIB: Thu 5 Mar 17:00 WIB.
    assert events == [e.ReportSubmitted(
        title="Jalan berlubang di Jl. Juanda",
        body="Lubang besar di depan pasar, sudah dua bulan tidak diperbaiki.",
        report_type="complaint", category_id="infrastruktur.jalan-rusak", region_code="64.72",
        addressed_institution_id=None, anonymous=False, confidential=False, reporter_ref="ref-0001",
        access_token_hash=hash_token(TOKEN), location={"lat": -0.5022, "lon": 117.1536},
        verification_due=VERIFICATION_DUE_WIB)]


def test_submission_addressed_to_an_institution_runs_the_verification_clock_in_its_time_zone():
    events = when([], submit(addressed_institution_id="pemkot-samarinda"))

    assert len(events) == 1
    assert events[0].addressed_institution_id == "pemkot-samarinda"
    assert events[0].verification_due == VERIFICATION_DUE_WITA  # Thu 5 Mar 17:00 WITA


def test_verification_clock_starts_on_the_local_day_of_the_handling_zone():
    # Given: Thursday 5 Mar 16:30Z is still Thursday 23:30 in WIB but already Friday 00:30 in WITA.
    late_thursday = datetime(2026, 3, 5, 16, 30, tzinfo=UTC)

    # When
    national = when([], submit(), late_thursday)[0]
    samarinda = when([], submit(addressed_institution_id="pemkot-samarinda"), late_thursday)[0]

    # Then: WIB counts Fri 6, Mon 9, Tue 10; WITA counts Mon 9, Tue 10, Wed 11.
    assert national.verification_due == "2026-03-10T10:00:00.000Z"
    assert samarinda.verification_due == "2026-03-11T09:00:00.000Z"


def test_submission_never_carries_the_reporters_token_only_its_hash():
    event = when([], submit())[0]

    assert TOKEN not in repr(event.to_data())
    assert event.access_token_hash == hash_token(TOKEN)


def test_submitted_report_replays_to_submitted_state():
    history = submitted(addressed_institution_id="pemkot-samarinda", anonymous=True)

    state = state_of(history)

    assert state.status == "submitted"
    assert state.version == 1
    assert state.addressed_institution_id == "pemkot-samarinda"
    assert state.institution_id is None and state.unit_id is None
    assert state.anonymous is True and state.confidential is False
    assert state.submitted_at == "2026-03-02T02:00:00.000Z"
    assert state.verification_due == VERIFICATION_DUE_WITA
    assert state.follow_up_due is None and state.resolution_due is None


def test_staff_may_re_key_a_paper_or_whatsapp_report_through_the_admin_channel():
    events = when([], submit(principal=NATIONAL, channel="admin"))

    assert [type(ev) for ev in events] == [e.ReportSubmitted]


@pytest.mark.parametrize("principal, channel", [
    (PUBLIC, "admin"),
    (PUBLIC, "fax"),
    (REPORTER, "admin"),
    (NATIONAL, "web"),
    (NATIONAL, "sms"),
    (SAMARINDA_ADMIN, "app"),
    (SAMARINDA_ADMIN, "open311"),
])
def test_submission_through_a_channel_the_submitter_may_not_use_is_refused(principal, channel):
    with pytest.raises(ValidationFailed) as refused:
        when([], submit(principal=principal, channel=channel))

    assert refused.value.details["field"] == "channel"


@pytest.mark.parametrize("principal", [PUPR_LIAISON, OMBUDSMAN, SUPERVISOR])
def test_liaisons_and_readers_cannot_submit_reports(principal):
    with pytest.raises(Forbidden):
        when([], submit(principal=principal, channel="admin"))


def test_submission_with_an_unknown_report_type_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        when([], submit(report_type="gossip"))

    assert refused.value.details["field"] == "type"


@pytest.mark.parametrize("overrides, kind", [
    ({"region_code": "99.99"}, "region"),
    ({"category_id": "infrastruktur.jalan-tol-laut"}, "category"),
    ({"addressed_institution_id": "pemkot-atlantis"}, "institution"),
])
def test_submission_with_unknown_reference_data_is_refused(overrides, kind):
    with pytest.raises(UnknownReference) as refused:
        when([], submit(**overrides))

    assert refused.value.code == f"unknown_{kind}"


def test_a_report_cannot_be_submitted_twice_into_the_same_stream():
    with pytest.raises(InvalidTransition):
        when(submitted(), submit())


def test_every_command_on_a_report_that_does_not_exist_is_report_not_found():
    for command in (hold(), reply(), verify(), archive("spam"), assign(), give_back(SAMARINDA_ADMIN),
                    redispose(), follow_up(), answer(), accept(), object_to(), escalate()):
        with pytest.raises(ReportNotFound):
            when([], command)


# ---------------------------------------------------------------------------------------------- hold and clarify

def test_national_admin_puts_a_submitted_report_on_hold_to_ask_the_reporter():
    history = submitted()

    events = when(history, hold())

    assert events == [e.ReportPutOnHold(question="Di titik mana tepatnya lubang itu?")]
    assert state_of(then(history, hold())).status == "on_hold"


def test_addressed_institution_admin_may_put_its_report_on_hold():
    history = submitted(addressed_institution_id="pemkot-samarinda")

    assert [type(ev) for ev in when(history, hold(SAMARINDA_ADMIN))] == [e.ReportPutOnHold]


def test_report_on_hold_cannot_be_put_on_hold_again():
    with pytest.raises(InvalidTransition):
        when(on_hold(), hold())


def test_disposed_report_cannot_be_put_on_hold():
    with pytest.raises(InvalidTransition):
        when(disposed(), hold())


def test_supervisor_cannot_put_a_report_on_hold():
    with pytest.raises(Forbidden):
        when(submitted(), hold(SUPERVISOR))


def test_institution_admin_cannot_hold_a_report_not_addressed_to_it():
    # A report addressed to nobody is the national admin's: the institution must not even learn it exists.
    with pytest.raises(ReportNotFound):
        when(submitted(), hold(SAMARINDA_ADMIN))


def test_another_institutions_admin_cannot_hold_a_report_addressed_elsewhere():
    with pytest.raises(ReportNotFound):
        when(submitted(addressed_institution_id="pemkot-samarinda"), hold(KALTIM_ADMIN))


def test_reporter_clarifying_a_report_on_hold_sends_it_back_to_verification_with_a_fresh_clock():
    # Given: on hold since Monday; the reporter answers on Tuesday 17 March, the day before Nyepi.
    history = on_hold()
    clarified_at = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)  # 09:00 WIB

    # When
    events = when(history, reply(), clarified_at)

    # Then: + 3 WD = 25, 26, 27 Mar (18-24 are off) -> Fri 27 Mar 17:00 WIB.
    assert events == [e.ReportClarified(message="Di depan Pasar Segiri.",
                                        verification_due="2026-03-27T10:00:00.000Z")]
    state = state_of(then(history, reply(), clarified_at))
    assert state.status == "submitted"
    assert state.verification_due == "2026-03-27T10:00:00.000Z"


def test_clarification_of_an_addressed_report_uses_the_addressed_institutions_zone():
    history = given(submit(addressed_institution_id="pemkot-samarinda"), hold(SAMARINDA_ADMIN))

    events = when(history, reply())

    assert events == [e.ReportClarified(message="Di depan Pasar Segiri.", verification_due=VERIFICATION_DUE_WITA)]


def test_clarified_report_can_be_verified_again():
    history = given(submit(), hold(), reply())

    assert [type(ev) for ev in when(history, verify())] == [e.ReportVerified]


def test_a_wrong_report_token_on_a_report_that_is_not_public_finds_no_report():
    # A wrong token must not even reveal that the report exists.
    with pytest.raises(ReportNotFound):
        when(on_hold(), reply(OTHER_REPORTER))


def test_public_caller_clarifying_a_report_on_hold_is_told_to_present_the_report_token():
    with pytest.raises(Unauthenticated):
        when(on_hold(), reply(PUBLIC))


# ---------------------------------------------------------------------------------------------- reporter replies

@pytest.mark.parametrize("history", [submitted, disposed, assigned, in_progress, returned, answered],
                         ids=lambda f: f.__name__)
def test_reporter_may_reply_while_the_report_is_open(history):
    events = when(history(), reply(message="Tambahan: ada foto baru."))

    assert events == [e.ReporterReplied(message="Tambahan: ada foto baru.")]


def test_reporter_reply_does_not_change_the_status():
    history = then(in_progress(), reply())

    assert state_of(history).status == "in_progress"


@pytest.mark.parametrize("history", [closed, archived], ids=lambda f: f.__name__)
def test_reporter_cannot_reply_to_a_finished_report(history):
    with pytest.raises(InvalidTransition):
        when(history(), reply())


def test_staff_cannot_reply_as_the_reporter():
    with pytest.raises(Forbidden):
        when(in_progress(), reply(NATIONAL))


def test_reporter_with_a_wrong_token_cannot_reply_to_an_unverified_report():
    with pytest.raises(ReportNotFound):
        when(submitted(), reply(OTHER_REPORTER))


def test_reporter_with_a_wrong_token_cannot_reply_to_a_public_report():
    with pytest.raises(Forbidden):
        when(in_progress(), reply(OTHER_REPORTER))


def test_public_caller_replying_to_a_public_report_is_told_to_authenticate():
    with pytest.raises(Unauthenticated):
        when(in_progress(), reply(PUBLIC))


# ---------------------------------------------------------------------------------------------- verify (= dispose)

def test_national_admin_verifies_and_disposes_with_follow_up_and_resolution_clocks_in_the_institutions_zone():
    history = submitted()

    events = when(history, verify())

    # 5 WD -> Mon 9 Mar; 14 WD -> Fri 27 Mar (crossing 18-24 Mar); 17:00 WITA = 09:00Z.
    assert events == [e.ReportVerified(
        institution_id="pemkot-samarinda", title="Jalan berlubang di Jl. Juanda",
        category_id="infrastruktur.jalan-rusak", report_type="complaint", requires_inspection=False,
        anonymous=False, confidential=False, follow_up_due=FOLLOW_UP_DUE,
        resolution_due=COMPLAINT_RESOLUTION_DUE)]


def test_verified_report_replays_to_disposed_at_its_institution():
    state = state_of(disposed())

    assert state.status == "disposed"
    assert state.version == 2
    assert state.institution_id == "pemkot-samarinda"
    assert state.unit_id is None
    assert state.follow_up_due == FOLLOW_UP_DUE
    assert state.resolution_due == COMPLAINT_RESOLUTION_DUE
    assert state.verification_due == VERIFICATION_DUE_WIB


def test_disposition_to_a_wib_institution_ends_at_17_00_wib():
    events = when(submitted(), verify(institution_id="kemenpanrb"))

    assert events[0].follow_up_due == "2026-03-09T10:00:00.000Z"
    assert events[0].resolution_due == "2026-03-27T10:00:00.000Z"


def test_verification_in_the_nyepi_and_idul_fitri_week_skips_the_collective_leave():
    # Given: submitted Monday 16 March; verified Tuesday 17 March 09:00 WITA, the last working day before
    # 18-24 March (Nyepi, its cuti bersama, Idul Fitri and its cuti bersama) are all off.
    history = given((submit(), datetime(2026, 3, 16, 2, 0, tzinfo=UTC)))
    verified_at = datetime(2026, 3, 17, 1, 0, tzinfo=UTC)

    # When
    events = when(history, verify(), verified_at)

    # Then: follow-up + 5 WD = 25, 26, 27, 30, 31 Mar -> Tue 31 Mar;
    # resolution + 14 WD = 25, 26, 27 (3), 30, 31 (5), 1, 2 Apr (7), [3 Apr Good Friday], 6-10 (12),
    # 13, 14 (14) -> Tue 14 Apr; both 17:00 WITA.
    assert history[0].event.verification_due == "2026-03-26T10:00:00.000Z"  # 17, 25, 26 Mar, 17:00 WIB
    assert events[0].follow_up_due == "2026-03-31T09:00:00.000Z"
    assert events[0].resolution_due == "2026-04-14T09:00:00.000Z"


@pytest.mark.parametrize("report_type", ["aspiration", "information_request"])
def test_aspirations_and_information_requests_must_be_resolved_within_five_working_days(report_type):
    events = when(submitted(report_type=report_type), verify())

    assert events[0].report_type == report_type
    assert events[0].resolution_due == SHORT_RESOLUTION_DUE


def test_verifier_may_reclassify_a_complaint_as_an_aspiration_which_shortens_its_clock():
    events = when(submitted(), verify(report_type="aspiration"))

    assert events[0].report_type == "aspiration"
    assert events[0].resolution_due == SHORT_RESOLUTION_DUE


def test_complaint_requiring_inspection_gets_sixty_working_days():
    events = when(submitted(), verify(requires_inspection=True))

    assert events[0].requires_inspection is True
    assert events[0].resolution_due == INSPECTION_RESOLUTION_DUE
    assert events[0].follow_up_due == FOLLOW_UP_DUE  # the first follow-up is still due in 5 WD
    assert state_of(then(submitted(), verify(requires_inspection=True))).requires_inspection is True


@pytest.mark.parametrize("report_type", ["aspiration", "information_request"])
def test_only_a_complaint_can_require_inspection(report_type):
    with pytest.raises(ValidationFailed) as refused:
        when(submitted(report_type=report_type), verify(requires_inspection=True))

    assert refused.value.details["field"] == "requires_inspection"


def test_requires_inspection_is_refused_when_the_verifier_reclassifies_to_a_non_complaint():
    with pytest.raises(ValidationFailed):
        when(submitted(), verify(report_type="information_request", requires_inspection=True))


def test_verifier_may_rewrite_the_title_and_set_the_category():
    events = when(submitted(), verify(title="Jalan rusak di Jl. Juanda, Samarinda Ulu",
                                      category_id="infrastruktur.drainase"))

    assert events[0].title == "Jalan rusak di Jl. Juanda, Samarinda Ulu"
    assert events[0].category_id == "infrastruktur.drainase"
    state = state_of(then(submitted(), verify(title="Judul baru", category_id="infrastruktur.drainase")))
    assert state.title == "Judul baru" and state.category_id == "infrastruktur.drainase"


def test_sms_like_report_without_a_title_cannot_be_verified_until_the_verifier_writes_one():
    history = submitted(title=None)

    with pytest.raises(ValidationFailed) as refused:
        when(history, verify())

    assert refused.value.details["field"] == "title"


def test_verifier_writes_the_title_of_an_sms_like_report():
    events = when(submitted(title=None), verify(title="Jalan berlubang (SMS 1708)"))

    assert events[0].title == "Jalan berlubang (SMS 1708)"


@pytest.mark.parametrize("channel", ["sms", "open311"])
def test_a_text_message_or_open311_report_may_come_without_a_region_and_records_its_channel_detail(channel):
    history = submitted(channel=channel, region_code="", title=None, channel_detail="twilio")

    state = state_of(history)
    assert (state.region_code, state.channel, history[0].event.channel_detail) == ("", channel, "twilio")


@pytest.mark.parametrize("channel", ["web", "app"])
def test_a_web_or_app_report_needs_a_known_region(channel):
    with pytest.raises(UnknownReference):
        when([], submit(channel=channel, region_code=""))


def test_a_report_without_a_region_cannot_be_verified_until_the_verifier_sets_one():
    history = submitted(channel="sms", region_code="", title=None)

    with pytest.raises(ValidationFailed) as refused:
        when(history, verify(title="Jalan berlubang (SMS 1708)"))
    assert refused.value.details["field"] == "region_code"
    with pytest.raises(UnknownReference):
        when(history, verify(title="Jalan berlubang (SMS 1708)", region_code="99.99"))

    events = when(history, verify(title="Jalan berlubang (SMS 1708)", region_code="62.71"))
    assert events[0].region_code == "62.71"
    assert state_of(then(history, verify(title="Jalan berlubang", region_code="62.71"))).region_code == "62.71"


def test_a_verifier_may_correct_the_region_and_an_unchanged_region_is_not_recorded_again():
    assert when(submitted(), verify(region_code="64.71"))[0].region_code == "64.71"
    assert when(submitted(), verify(region_code="64.72"))[0].region_code is None
    assert state_of(then(submitted(), verify(region_code="64.71"))).region_code == "64.71"


def test_report_without_a_category_needs_one_at_verification():
    history = submitted(category_id=None)

    with pytest.raises(ValidationFailed) as refused:
        when(history, verify())
    assert refused.value.details["field"] == "category_id"
    assert when(history, verify(category_id="infrastruktur.jalan-rusak"))[0].category_id == \
        "infrastruktur.jalan-rusak"


@pytest.mark.parametrize("overrides, kind", [
    ({"institution_id": "pemkot-atlantis"}, "institution"),
    ({"category_id": "infrastruktur.jalan-tol-laut"}, "category"),
])
def test_verification_with_unknown_reference_data_is_refused(overrides, kind):
    with pytest.raises(UnknownReference) as refused:
        when(submitted(), verify(**overrides))

    assert refused.value.code == f"unknown_{kind}"


def test_verifier_may_add_privacy_flags():
    events = when(submitted(), verify(anonymous=True, confidential=True))

    assert (events[0].anonymous, events[0].confidential) == (True, True)
    state = state_of(then(submitted(), verify(anonymous=True, confidential=True)))
    assert (state.anonymous, state.confidential) == (True, True)


def test_privacy_flags_set_by_the_reporter_are_kept_when_the_verifier_says_nothing():
    events = when(submitted(anonymous=True, confidential=True), verify())

    assert (events[0].anonymous, events[0].confidential) == (True, True)


@pytest.mark.parametrize("flag", ["anonymous", "confidential"])
def test_verifier_cannot_remove_a_privacy_flag_the_reporter_set(flag):
    history = submitted(**{flag: True})

    with pytest.raises(RuleViolated) as refused:
        when(history, verify(**{flag: False}))

    assert refused.value.details["field"] == flag


def test_verifier_saying_false_for_an_unset_flag_leaves_it_unset():
    events = when(submitted(), verify(anonymous=False, confidential=False))

    assert (events[0].anonymous, events[0].confidential) == (False, False)


def test_addressed_institution_admin_verifies_and_disposes_to_its_own_institution():
    history = submitted(addressed_institution_id="pemkot-samarinda")

    events = when(history, verify(SAMARINDA_ADMIN))

    assert events[0].institution_id == "pemkot-samarinda"
    assert events[0].follow_up_due == FOLLOW_UP_DUE
    assert state_of(then(history, verify(SAMARINDA_ADMIN))).institution_id == "pemkot-samarinda"


def test_national_admin_may_dispose_a_report_addressed_to_one_institution_to_another():
    history = submitted(addressed_institution_id="pemkot-samarinda")

    events = when(history, verify(institution_id="pemprov-kaltim"))

    assert events[0].institution_id == "pemprov-kaltim"


def test_addressed_institution_admin_cannot_dispose_to_another_institution():
    history = submitted(addressed_institution_id="pemkot-samarinda")

    with pytest.raises(Forbidden):
        when(history, verify(SAMARINDA_ADMIN, institution_id="pemprov-kaltim"))


def test_institution_admin_cannot_verify_a_report_not_addressed_to_it():
    with pytest.raises(ReportNotFound):
        when(submitted(), verify(SAMARINDA_ADMIN))


def test_another_institutions_admin_cannot_verify_a_report_addressed_elsewhere():
    with pytest.raises(ReportNotFound):
        when(submitted(addressed_institution_id="pemkot-samarinda"), verify(KALTIM_ADMIN, institution_id="pemprov-kaltim"))


def test_liaison_cannot_verify_a_report_it_cannot_see():
    with pytest.raises(ReportNotFound):
        when(submitted(addressed_institution_id="pemkot-samarinda"), verify(PUPR_LIAISON))


def test_liaison_cannot_verify_even_a_report_assigned_to_its_unit():
    with pytest.raises(Forbidden):
        when(assigned(), verify(PUPR_LIAISON))


@pytest.mark.parametrize("principal", [OMBUDSMAN, SUPERVISOR])
def test_readers_cannot_verify(principal):
    with pytest.raises(Forbidden):
        when(submitted(), verify(principal))


@pytest.mark.parametrize("history", [on_hold, disposed, returned, archived], ids=lambda f: f.__name__)
def test_only_a_submitted_report_can_be_verified(history):
    with pytest.raises(InvalidTransition):
        when(history(), verify())


# ---------------------------------------------------------------------------------------------- archive

@pytest.mark.parametrize("reason", ["spam", "unclear", "out_of_scope"])
def test_national_admin_archives_a_submitted_report_with_a_reason(reason):
    history = submitted()

    events = when(history, archive(reason, note="Lihat pedoman verifikasi."))

    assert events == [e.ReportArchived(reason=reason, duplicate_of=None, note="Lihat pedoman verifikasi.")]
    assert state_of(then(history, archive(reason))).status == "archived"


def test_duplicate_is_archived_with_the_report_it_duplicates():
    events = when(submitted(), archive("duplicate", duplicate_of="LAP-ABCDEFGHJK"))

    assert events == [e.ReportArchived(reason="duplicate", duplicate_of="LAP-ABCDEFGHJK", note=None)]


def test_report_on_hold_too_long_is_archived_for_no_reply():
    events = when(on_hold(), archive("no_reply"))

    assert events == [e.ReportArchived(reason="no_reply", duplicate_of=None, note=None)]


def test_a_report_never_put_on_hold_cannot_be_archived_for_no_reply():
    # The reporter was never asked anything, so there is no reply they failed to give.
    with pytest.raises((InvalidTransition, RuleViolated, ValidationFailed)):
        when(submitted(), archive("no_reply"))


def test_the_system_sweep_may_archive_a_report_on_hold_for_no_reply():
    assert [type(ev) for ev in when(on_hold(), archive("no_reply", principal=SYSTEM))] == [e.ReportArchived]


def test_addressed_institution_admin_may_archive_its_report():
    history = submitted(addressed_institution_id="pemkot-samarinda")

    assert when(history, archive("spam", principal=SAMARINDA_ADMIN)) == [e.ReportArchived(reason="spam")]


def test_duplicate_without_duplicate_of_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        when(submitted(), archive("duplicate"))

    assert refused.value.details["field"] == "duplicate_of"


def test_duplicate_of_with_another_reason_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        when(submitted(), archive("spam", duplicate_of="LAP-ABCDEFGHJK"))

    assert refused.value.details["field"] == "duplicate_of"


def test_report_cannot_be_archived_as_a_duplicate_of_itself():
    with pytest.raises(ValidationFailed) as refused:
        when(submitted(), archive("duplicate", duplicate_of=RID))

    assert refused.value.details["field"] == "duplicate_of"


def test_archive_with_an_unknown_reason_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        when(submitted(), archive("boring"))

    assert refused.value.details["field"] == "reason"


@pytest.mark.parametrize("history", [disposed, in_progress, archived], ids=lambda f: f.__name__)
def test_only_an_unverified_report_can_be_archived(history):
    with pytest.raises(InvalidTransition):
        when(history(), archive("spam"))


def test_institution_admin_cannot_archive_a_report_it_was_not_addressed():
    with pytest.raises(ReportNotFound):
        when(submitted(), archive("spam", principal=SAMARINDA_ADMIN))


def test_ombudsman_cannot_archive():
    with pytest.raises(Forbidden):
        when(submitted(), archive("spam", principal=OMBUDSMAN))


def test_every_action_a_status_check_names_has_an_indonesian_word():
    import re
    from pathlib import Path

    from chalicelib.domain.report import ACTION_WORDS

    source = Path(__file__).resolve().parents[2].joinpath("chalicelib/domain/report.py").read_text()
    named = set(re.findall(r'_require_status\(state, "([^"]+)"', source))
    assert named and named == set(ACTION_WORDS)
    with pytest.raises(InvalidTransition) as refused:
        when(disposed(), hold())
    assert refused.value.pesan == "tidak dapat menunda laporan yang berstatus disposed"
