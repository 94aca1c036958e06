"""The sparse-index keys of a report view (`index_keys`, projections/report_view.py): which work queues
(national admin, institution, unit, Ombudsman), public lists and reprimand lists a report is in, in each
status and privacy combination, and the sort keys they list it by.

Every view below is folded by the real `apply` from the events the application writes. An attribute that is
None is left off the item, so the report is simply not in that index. The report is a complaint from
Samarinda (region 64.72, province 64), submitted at T0 = Mon 2 Mar 2026 02:00Z; its deadlines are those of
tests/support/builders.py.
"""
from __future__ import annotations

import pytest

from events import report as e
from infra.tables import PUBLIC_INDEXES, QUEUE_INDEXES
from projections.report_view import apply, index_keys
from tests.support.builders import (
    FOLLOW_UP_DUE,
    JALAN,
    RESOLUTION_DUE,
    VERIFICATION_DUE,
    submitted_event,
    verified_event,
)
from tests.support.stories import history

RID = "LAP-ANTRIAN001"
SUBMITTED_AT = "2026-03-02T02:00:00.000Z"
REPLY_DUE = "2026-03-31T09:00:00.000Z"
REOPENED_FOLLOW_UP_DUE = "2026-03-17T09:00:00.000Z"  # earlier than the resolution deadline
LAST = "9999-12-31T23:59:59.999Z"  # the sort key of a report that waits on no deadline: after every real one

UNLISTED = dict.fromkeys(("q_nat", "q_nat_b", "q_inst", "q_inst_b", "q_unit", "q_unit_b", "q_omb", "p_all", "p_prov",
                          "p_region", "p_inst", "p_cat", "r_all", "r_prov", "r_region", "r_inst"))
PUBLIC_SAMARINDA = dict(p_all="public", p_prov="64", p_region="64.72", p_inst="pemkot-samarinda", p_cat=JALAN)
REPRIMAND_SAMARINDA = dict(r_all="reprimand", r_prov="64", r_region="64.72", r_inst="pemkot-samarinda")

ASSIGNED = e.ReportAssigned(unit_id="dinas-pupr")
FOLLOWED_UP = e.FollowUpPosted(message="Tim sudah meninjau lokasi.")
ANSWERED = e.ReportAnswered(message="Jalan sudah ditambal.", reply_due=REPLY_DUE)
NEGLECTED = e.ReportNeglected(days_without_response=60, institution_id="pemkot-samarinda", region_code="64.72")
RETURNED = e.ReportReturned(institution_id="pemkot-samarinda", reason="Jalan provinsi, bukan kewenangan kota.")
CLOSED = (e.ResolutionAccepted(rating=5, comment="Terima kasih."), e.ReportClosed(reason="accepted"))


def keys_after(*events: e.DomainEvent) -> dict[str, str | None]:
    view = None
    for stored in history(RID, *events):
        view = apply(view, stored)
    return index_keys(view)


def expected(due: str, **listed: str | None) -> dict[str, str | None]:
    """Listed only where named; queues sort by `due` (then the id), public and reprimand lists by submission."""
    return UNLISTED | {"q_due": f"{due}#{RID}", "p_at": f"{SUBMITTED_AT}#{RID}"} | listed


def test_the_keys_are_exactly_the_hash_and_sort_attributes_of_the_report_views_indexes():
    assert set(keys_after(submitted_event())) == \
        {*QUEUE_INDEXES.values(), *PUBLIC_INDEXES.values(), "q_due", "p_at"}


# ------------------------------------------------------------------------------------ before verification

@pytest.mark.parametrize("events", [
    (submitted_event(),),
    (submitted_event(), e.ReportPutOnHold(question="Di titik mana tepatnya?")),
], ids=["submitted", "on_hold"])
def test_an_unverified_report_addressed_to_no_one_is_in_the_national_queue_only_and_not_public(events):
    assert keys_after(*events) == expected(VERIFICATION_DUE, q_nat="national",
                                           q_nat_b="national#belum_diverifikasi")


def test_an_unverified_report_addressed_to_an_institution_is_in_its_queue_instead_of_the_national_one():
    assert keys_after(submitted_event(addressed_institution_id="pemkot-samarinda")) == expected(
        VERIFICATION_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#belum_diverifikasi")


def test_a_clarified_report_is_queued_by_its_new_verification_deadline():
    keys = keys_after(submitted_event(), e.ReportPutOnHold(question="Di titik mana tepatnya?"),
                      e.ReportClarified(message="Di depan Pasar Segiri.", verification_due="2026-03-10T10:00:00.000Z"))
    assert keys == expected("2026-03-10T10:00:00.000Z", q_nat="national", q_nat_b="national#belum_diverifikasi")


def test_a_confidential_submission_is_queued_like_any_other():
    assert keys_after(submitted_event(confidential=True)) == expected(
        VERIFICATION_DUE, q_nat="national", q_nat_b="national#belum_diverifikasi")


# ------------------------------------------------------------------------------------------- handling

def test_a_disposed_report_is_in_the_institutions_queue_by_its_follow_up_deadline_and_public():
    assert keys_after(submitted_event(), verified_event()) == expected(
        FOLLOW_UP_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#belum_ditindaklanjuti",
        **PUBLIC_SAMARINDA)


@pytest.mark.parametrize("submitted, verified", [
    (submitted_event(confidential=True), verified_event(confidential=True)),
    (submitted_event(), verified_event(confidential=True)),  # made confidential by the verifier
], ids=["by_the_reporter", "by_the_verifier"])
def test_a_confidential_report_is_handled_in_the_same_queues_but_in_no_public_list(submitted, verified):
    assert keys_after(submitted, verified) == expected(
        FOLLOW_UP_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#belum_ditindaklanjuti")


def test_an_anonymous_report_is_still_listed_publicly():
    assert keys_after(submitted_event(anonymous=True), verified_event(anonymous=True)) == expected(
        FOLLOW_UP_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#belum_ditindaklanjuti",
        **PUBLIC_SAMARINDA)


def test_an_assigned_report_is_in_the_units_queue_as_well_as_the_institutions():
    assert keys_after(submitted_event(), verified_event(), ASSIGNED) == expected(
        FOLLOW_UP_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#belum_ditindaklanjuti",
        q_unit="pemkot-samarinda/dinas-pupr", q_unit_b="pemkot-samarinda/dinas-pupr#belum_ditindaklanjuti",
        **PUBLIC_SAMARINDA)


def test_after_the_first_follow_up_a_report_is_in_process_and_waits_on_its_resolution_deadline():
    assert keys_after(submitted_event(), verified_event(), ASSIGNED, FOLLOWED_UP) == expected(
        RESOLUTION_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#dalam_proses",
        q_unit="pemkot-samarinda/dinas-pupr", q_unit_b="pemkot-samarinda/dinas-pupr#dalam_proses",
        **PUBLIC_SAMARINDA)


def test_a_unit_handing_back_a_followed_up_report_leaves_it_to_the_institution_by_its_resolution_deadline():
    keys = keys_after(submitted_event(), verified_event(), ASSIGNED, FOLLOWED_UP,
                      e.AssignmentReturned(unit_id="dinas-pupr", reason="Urusan Dinas Kominfo."))
    assert keys == expected(RESOLUTION_DUE, q_inst="pemkot-samarinda",
                            q_inst_b="pemkot-samarinda#belum_ditindaklanjuti", **PUBLIC_SAMARINDA)


def test_an_answered_report_waits_on_the_reporters_reply_deadline():
    assert keys_after(submitted_event(), verified_event(), ASSIGNED, ANSWERED) == expected(
        REPLY_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#dalam_proses",
        q_unit="pemkot-samarinda/dinas-pupr", q_unit_b="pemkot-samarinda/dinas-pupr#dalam_proses",
        **PUBLIC_SAMARINDA)


def test_a_reopened_report_waits_on_its_new_follow_up_deadline_when_that_comes_first():
    keys = keys_after(submitted_event(), verified_event(), ANSWERED,
                      e.ResolutionObjected(reason="Lubangnya masih ada."),
                      e.ReportReopened(follow_up_due=REOPENED_FOLLOW_UP_DUE))
    assert keys == expected(REOPENED_FOLLOW_UP_DUE, q_inst="pemkot-samarinda",
                            q_inst_b="pemkot-samarinda#dalam_proses", **PUBLIC_SAMARINDA)


def test_a_report_returned_as_not_the_institutions_authority_goes_back_to_the_national_queue_only():
    keys = keys_after(submitted_event(), verified_event(), ASSIGNED, RETURNED)
    assert keys == expected(FOLLOW_UP_DUE, q_nat="national", q_nat_b="national#belum_ditindaklanjuti",
                            **PUBLIC_SAMARINDA)


def test_a_redisposed_report_moves_to_the_new_institutions_queue_and_public_lists():
    keys = keys_after(submitted_event(), verified_event(), RETURNED,
                      e.ReportRedisposed(institution_id="pemprov-kaltim", previous_institution_id="pemkot-samarinda"))
    assert keys == expected(FOLLOW_UP_DUE, q_inst="pemprov-kaltim", q_inst_b="pemprov-kaltim#belum_ditindaklanjuti",
                            **(PUBLIC_SAMARINDA | {"p_inst": "pemprov-kaltim"}))


def test_a_report_of_a_province_level_region_is_listed_under_that_province():
    keys = keys_after(submitted_event(region_code="64"), verified_event(institution_id="pemprov-kaltim"))
    assert keys == expected(FOLLOW_UP_DUE, q_inst="pemprov-kaltim", q_inst_b="pemprov-kaltim#belum_ditindaklanjuti",
                            p_all="public", p_prov="64", p_region="64", p_inst="pemprov-kaltim", p_cat=JALAN)


# ---------------------------------------------------------------------------------------------- finished

def test_a_closed_report_stays_in_its_handlers_queues_as_finished_waiting_on_nothing_and_public():
    assert keys_after(submitted_event(), verified_event(), ASSIGNED, ANSWERED, *CLOSED) == expected(
        LAST, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#selesai",
        q_unit="pemkot-samarinda/dinas-pupr", q_unit_b="pemkot-samarinda/dinas-pupr#selesai", **PUBLIC_SAMARINDA)


@pytest.mark.parametrize("before", [(), (e.ReportPutOnHold(question="Apa maksudnya?"),)], ids=["submitted", "on_hold"])
def test_an_archived_report_is_in_no_queue_and_no_list(before):
    archived = e.ReportArchived(reason="spam", duplicate_of=None, note=None)
    assert keys_after(submitted_event(addressed_institution_id="pemkot-samarinda"), *before, archived) == \
        expected(LAST)


# ------------------------------------------------------------------------------- Ombudsman and reprimands

def test_a_report_escalated_by_its_reporter_is_in_the_ombudsmans_queue_too():
    escalated = e.EscalatedToOmbudsman(grounds="objection", reason="Jawaban tidak sesuai.")
    assert keys_after(submitted_event(), verified_event(), ANSWERED, escalated) == expected(
        REPLY_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#dalam_proses", q_omb="ombudsman",
        **PUBLIC_SAMARINDA)


def test_a_neglected_report_is_in_the_ombudsmans_queue_and_on_every_reprimand_list():
    assert keys_after(submitted_event(), verified_event(), NEGLECTED) == expected(
        FOLLOW_UP_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#belum_ditindaklanjuti",
        q_omb="ombudsman", **PUBLIC_SAMARINDA, **REPRIMAND_SAMARINDA)


def test_a_neglected_confidential_report_is_reprimanded_but_still_not_public():
    assert keys_after(submitted_event(confidential=True), verified_event(confidential=True), NEGLECTED) == expected(
        FOLLOW_UP_DUE, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#belum_ditindaklanjuti",
        q_omb="ombudsman", **REPRIMAND_SAMARINDA)


def test_a_neglected_report_returned_by_the_institution_is_not_reprimanded_under_that_institution():
    assert keys_after(submitted_event(), verified_event(), NEGLECTED, RETURNED) == expected(
        FOLLOW_UP_DUE, q_nat="national", q_nat_b="national#belum_ditindaklanjuti", q_omb="ombudsman",
        **PUBLIC_SAMARINDA, **(REPRIMAND_SAMARINDA | {"r_inst": None}))


def test_a_neglected_report_once_closed_leaves_the_reprimand_lists_but_not_the_ombudsmans_queue():
    assert keys_after(submitted_event(), verified_event(), NEGLECTED, ANSWERED, *CLOSED) == expected(
        LAST, q_inst="pemkot-samarinda", q_inst_b="pemkot-samarinda#selesai", q_omb="ombudsman",
        **PUBLIC_SAMARINDA)
