"""The Report aggregate (DOMAIN §2, §4–§7): given past events, when a command, then new events — or a refusal.

Histories are built through the real commands: every step runs `decide` on the replayed state and wraps
the result with `chain_events`, exactly as the application does, so a history here is always one the
system itself could have written.

The clock is fixed at Monday 2 March 2026, 02:00 UTC = 09:00 WIB = 10:00 WITA. Samarinda (the institution
most tests dispose to) is WITA, so its 17:00 deadlines are 09:00Z; the national admin works in WIB, so
17:00 WIB is 10:00Z. 18–24 March 2026 are not working days (Nyepi, Idul Fitri and their cuti bersama), and
3 April 2026 is Good Friday: some expected deadlines below cross them on purpose.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.auth import hash_token
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.report import Context, ReportState, decide, evolve, replay
from chalicelib.domain.working_days import default_calendar
from chalicelib.errors import (
    Forbidden,
    InvalidTransition,
    ReportNotFound,
    RuleViolated,
    Unauthenticated,
    UnknownReference,
    ValidationFailed,
)
from chalicelib.reference import load_reference
from chalicelib.store.base import chain_events
from events import report as e
from events.base import Actor, DomainEvent, StoredEvent
from events.chain import GENESIS
from tests.support.builders import submit_command, verify_command
from tests.support.principals import NATIONAL, PUBLIC, PUPR_LIAISON, SAMARINDA_ADMIN, reporter

UTC = timezone.utc

# Monday 2 March 2026, 09:00 WIB / 10:00 WITA: an ordinary working morning.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
RID = "LAP-7K3M9QX2RT"
TOKEN = "rpt_the-reporters-own-secret"

# Besides the shared cast (tests/support/principals.py: NATIONAL n1, SAMARINDA_ADMIN i1, PUPR_LIAISON l1, PUBLIC):
KALTIM_ADMIN = Principal(role="admin_instansi", user_id="i2", institution_id="pemprov-kaltim")
KOMINFO_LIAISON = Principal(role="admin_penghubung", user_id="l2", institution_id="pemkot-samarinda",
                            unit_id="dinas-kominfo")
# Same unit id, other institution: Kaltim province also has a "dinas-pupr".
KALTIM_PUPR_LIAISON = Principal(role="admin_penghubung", user_id="l3", institution_id="pemprov-kaltim",
                                unit_id="dinas-pupr")
REPORTER = reporter(TOKEN)
OTHER_REPORTER = reporter("rpt_somebody-elses-token")
OMBUDSMAN = Principal(role="ombudsman", user_id="o1")
SUPERVISOR = Principal(role="supervisor", user_id="s1")
SYSTEM = Principal(role="system", user_id="lapor-system")

# Deadlines for a report submitted / verified / answered at NOW unless said otherwise (worked by hand):
# Mon 2 Mar + 3 WD = Thu 5 Mar, 17:00 WIB = 10:00Z (national admin) or 17:00 WITA = 09:00Z (Samarinda).
VERIFICATION_DUE_WIB = "2026-03-05T10:00:00.000Z"
VERIFICATION_DUE_WITA = "2026-03-05T09:00:00.000Z"
# Mon 2 Mar + 5 WD = 3, 4, 5, 6, 9 Mar -> Mon 9 Mar 17:00 WITA.
FOLLOW_UP_DUE = "2026-03-09T09:00:00.000Z"
SHORT_RESOLUTION_DUE = "2026-03-09T09:00:00.000Z"  # aspiration / information request: 5 WD
# Mon 2 Mar + 14 WD = 3-6 (4), 9-13 (9), 16-17 (11), [18-24 off], 25, 26, 27 (14) -> Fri 27 Mar 17:00 WITA.
# Without the Nyepi / Idul Fitri days it would have been Fri 20 Mar.
COMPLAINT_RESOLUTION_DUE = "2026-03-27T09:00:00.000Z"
# Mon 2 Mar + 60 WD, skipping 18-24 Mar, 3 Apr, 1 May, 14-15 May, 27-28 May, 1 Jun:
# Mar 16 WD, Apr 21 (37), May 16 (53), Jun 2-5 (57), 8, 9, 10 (60) -> Wed 10 Jun 17:00 WITA.
INSPECTION_RESOLUTION_DUE = "2026-06-10T09:00:00.000Z"
# The final answer in the stories below comes on Tue 10 Mar 02:00Z (10:00 WITA):
# + 10 WD = 11, 12, 13 (3), 16, 17 (5), [18-24 off], 25, 26, 27 (8), 30, 31 (10) -> Tue 31 Mar 17:00 WITA.
ANSWERED_AT = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
REPLY_DUE = "2026-03-31T09:00:00.000Z"
REPLY_DUE_INSTANT = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
RESOLUTION_DUE_INSTANT = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


# ---------------------------------------------------------------------------------------------- helpers

def ctx(at: datetime = NOW) -> Context:
    return Context(at, default_calendar(), load_reference())


def when(history: list[StoredEvent], command: c.Command, at: datetime = NOW) -> list[DomainEvent]:
    """Run one command against the state replayed from `history`; returns the new domain events."""
    return decide(replay(RID, history), command, ctx(at))


def then(history: list[StoredEvent], command: c.Command, at: datetime = NOW) -> list[StoredEvent]:
    """`when`, then chain the new events onto the history as the application would store them."""
    new = when(history, command, at)
    channel = command.channel if isinstance(command, c.SubmitReport) else "web"
    stored = chain_events(RID, history[-1] if history else None, new, actor=command.principal.actor(),
                          channel=channel, now=at, correlation_id=f"corr-{len(history) + 1}", causation_id=None)
    return history + stored


def given(*steps: c.Command | tuple[c.Command, datetime]) -> list[StoredEvent]:
    """A history built by running each command (at NOW, or at the instant paired with it)."""
    history: list[StoredEvent] = []
    for step in steps:
        command, at = step if isinstance(step, tuple) else (step, NOW)
        history = then(history, command, at)
    return history


def state_of(history: list[StoredEvent]) -> ReportState:
    return replay(RID, history)


def submit(**overrides) -> c.SubmitReport:
    return submit_command(**(dict(body="Lubang besar di depan pasar, sudah dua bulan tidak diperbaiki.",
                                  reporter_ref="ref-0001", access_token_hash=hash_token(TOKEN),
                                  location={"lat": -0.5022, "lon": 117.1536}) | overrides))


def hold(principal: Principal = NATIONAL, question: str = "Di titik mana tepatnya lubang itu?") -> c.HoldReport:
    return c.HoldReport(principal=principal, question=question)


def reply(principal: Principal = REPORTER, message: str = "Di depan Pasar Segiri.") -> c.ReplyToReport:
    return c.ReplyToReport(principal=principal, message=message)


def verify(principal: Principal = NATIONAL, **overrides) -> c.VerifyReport:
    return verify_command(principal, **overrides)


def archive(reason: str, duplicate_of: str | None = None, note: str | None = None,
            principal: Principal = NATIONAL) -> c.ArchiveReport:
    return c.ArchiveReport(principal=principal, reason=reason, duplicate_of=duplicate_of, note=note)


def assign(unit_id: str = "dinas-pupr", principal: Principal = SAMARINDA_ADMIN) -> c.AssignReport:
    return c.AssignReport(principal=principal, unit_id=unit_id)


def give_back(principal: Principal, reason: str = "Bukan kewenangan kami.") -> c.ReturnReport:
    return c.ReturnReport(principal=principal, reason=reason)


def redispose(institution_id: str = "pemprov-kaltim", principal: Principal = NATIONAL) -> c.RedisposeReport:
    return c.RedisposeReport(principal=principal, institution_id=institution_id)


def follow_up(principal: Principal = PUPR_LIAISON, message: str = "Tim sudah meninjau lokasi.") -> c.PostFollowUp:
    return c.PostFollowUp(principal=principal, message=message, final=False)


def answer(principal: Principal = PUPR_LIAISON, message: str = "Jalan sudah ditambal.") -> c.PostFollowUp:
    return c.PostFollowUp(principal=principal, message=message, final=True)


def accept(principal: Principal = REPORTER, rating: int = 5, comment: str | None = "Terima kasih.") -> c.AcceptResolution:
    return c.AcceptResolution(principal=principal, rating=rating, comment=comment)


def object_to(principal: Principal = REPORTER, reason: str = "Lubangnya masih ada.") -> c.ObjectToResolution:
    return c.ObjectToResolution(principal=principal, reason=reason)


def escalate(principal: Principal = REPORTER, reason: str = "Tidak ditangani.") -> c.EscalateToOmbudsman:
    return c.EscalateToOmbudsman(principal=principal, reason=reason)


# Stories: the report at each point of the lifecycle, all reached through real commands.

def submitted(**overrides) -> list[StoredEvent]:
    return given(submit(**overrides))


def on_hold() -> list[StoredEvent]:
    return given(submit(), hold())


def disposed(**verify_overrides) -> list[StoredEvent]:
    return given(submit(), verify(**verify_overrides))


def assigned() -> list[StoredEvent]:
    return given(submit(), verify(), assign())


def in_progress() -> list[StoredEvent]:
    return given(submit(), verify(), assign(), follow_up())


def answered(at: datetime = ANSWERED_AT, **submit_overrides) -> list[StoredEvent]:
    return given(submit(**submit_overrides), verify(), assign(), follow_up(), (answer(), at))


def returned() -> list[StoredEvent]:
    return given(submit(), verify(), give_back(SAMARINDA_ADMIN))


def closed() -> list[StoredEvent]:
    return given(submit(), verify(), assign(), follow_up(), (answer(), ANSWERED_AT),
                 (accept(), ANSWERED_AT + timedelta(days=1)))


def archived() -> list[StoredEvent]:
    return given(submit(), archive("spam"))


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
    (PUBLIC, "sms"),
    (REPORTER, "open311"),
    (NATIONAL, "web"),
    (SAMARINDA_ADMIN, "app"),
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
