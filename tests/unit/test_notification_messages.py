"""What each event says to whom (`messages_for`, projections/outbox.py): the notification texts, word for word.

Texts are in Bahasa Indonesia, carry the tracking id, and give deadlines in the handling institution's local
time (WIB for the national admin). The reporter is addressed by reference only, and only when they left a
contact; staff by role, institution and unit. Each history is folded by the aggregate's `evolve` exactly as
`Outbox.project` does, then `messages_for` is given the state including the event.

The report is submitted at T0 = Mon 2 Mar 2026 09:00 WIB; its deadlines are those of tests/support/builders.py.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.reference import load_reference
from events import report as e
from chalicelib.domain.report import replay
from projections.outbox import Recipient, local_time, messages_for
from tests.support.builders import FOLLOW_UP_DUE, RESOLUTION_DUE, VERIFICATION_DUE, submitted_event, verified_event
from tests.support.stories import history

REFERENCE = load_reference()
RID = "LAP-PESAN00001"
REF = "RPT-000000000000000000000001"
REPORTER = Recipient("reporter", reporter_ref=REF)
SAMARINDA_ADMIN = Recipient("staff", role="admin_instansi", institution_id="pemkot-samarinda")
PUPR_LIAISON = Recipient("staff", role="admin_penghubung", institution_id="pemkot-samarinda", unit_id="dinas-pupr")
REPLY_DUE = "2026-03-31T09:00:00.000Z"

SUBMITTED = submitted_event(reporter_ref=REF)
VERIFIED = verified_event()
ASSIGNED = e.ReportAssigned(unit_id="dinas-pupr")


def messages(*events: e.DomainEvent) -> list[tuple[Recipient, str]]:
    """The messages of the last event, given the facts of the whole history up to and including it."""
    stored = history(RID, *events)
    return messages_for(stored[-1], replay(RID, stored), REFERENCE)


# ----------------------------------------------------------------------------------------- to the reporter

def test_a_submission_tells_the_reporter_the_tracking_id_and_the_verification_deadline_in_wib():
    assert messages(SUBMITTED) == [(REPORTER, (
        "LAPOR! Laporan Anda diterima. Nomor pelacakan: LAP-PESAN00001. Laporan akan diverifikasi paling lambat "
        "Kamis 05-03-2026 17:00 WIB."))]


def test_a_submission_addressed_to_an_institution_gives_the_deadline_in_that_institutions_time():
    submitted = submitted_event(reporter_ref=REF, addressed_institution_id="pemkot-samarinda",
                                verification_due="2026-03-05T09:00:00.000Z")
    assert messages(submitted) == [(REPORTER, (
        "LAPOR! Laporan Anda diterima. Nomor pelacakan: LAP-PESAN00001. Laporan akan diverifikasi paling lambat "
        "Kamis 05-03-2026 17:00 WITA."))]


def test_a_verification_tells_the_reporter_where_it_went_and_the_institution_what_it_must_do_by_when():
    corrected = verified_event(title="Jalan rusak di Jl. Juanda, Samarinda Ulu")  # the verifier's title
    assert messages(SUBMITTED, corrected) == [
        (REPORTER, "LAPOR! Laporan LAP-PESAN00001 telah diverifikasi dan diteruskan ke Pemerintah Kota Samarinda. "
                   "Tindak lanjut pertama paling lambat Senin 09-03-2026 17:00 WITA."),
        (SAMARINDA_ADMIN, "LAPOR! Laporan baru LAP-PESAN00001 \"Jalan rusak di Jl. Juanda, Samarinda Ulu\" "
                          "didisposisikan ke Pemerintah Kota Samarinda. Tindak lanjut pertama paling lambat Senin "
                          "09-03-2026 17:00 WITA, penyelesaian Jumat 27-03-2026 17:00 WITA."),
    ]


def test_a_follow_up_is_passed_on_to_the_reporter_cut_at_300_characters():
    long_message = "Tim Dinas PUPR sudah meninjau lokasi dan menjadwalkan penambalan. " * 6  # 396 characters
    assert messages(SUBMITTED, VERIFIED, ASSIGNED, e.FollowUpPosted(message=long_message)) == [(REPORTER, (
        f"LAPOR! Ada tindak lanjut baru dari Pemerintah Kota Samarinda atas laporan LAP-PESAN00001: "
        f"{long_message[:300]}"))]


def test_the_final_answer_asks_the_reporter_to_accept_or_object_by_the_reply_deadline():
    answered = e.ReportAnswered(message="Jalan sudah ditambal.", reply_due=REPLY_DUE)
    assert messages(SUBMITTED, VERIFIED, answered) == [(REPORTER, (
        "LAPOR! Pemerintah Kota Samarinda memberikan jawaban akhir atas laporan LAP-PESAN00001: Jalan sudah "
        "ditambal. Tanggapi (terima atau ajukan keberatan) paling lambat Selasa 31-03-2026 17:00 WITA."))]


@pytest.mark.parametrize("reason, why", [
    ("accepted", "Anda menerima jawaban"),
    ("no_reply", "tidak ada tanggapan dalam batas waktu"),
])
def test_closing_tells_the_reporter_why(reason, why):
    answered = e.ReportAnswered(message="Jalan sudah ditambal.", reply_due=REPLY_DUE)
    assert messages(SUBMITTED, VERIFIED, answered, e.ReportClosed(reason=reason)) == [
        (REPORTER, f"LAPOR! Laporan LAP-PESAN00001 ditutup ({why}). Terima kasih.")]


def test_archiving_tells_the_reporter_the_reason():
    assert messages(SUBMITTED, e.ReportArchived(reason="spam", duplicate_of=None, note=None)) == [
        (REPORTER, "LAPOR! Laporan LAP-PESAN00001 diarsipkan (alasan: spam).")]


@pytest.mark.parametrize("reason, said", [("unclear", "isi laporan tidak jelas"),
                                          ("out_of_scope", "di luar cakupan LAPOR!"),
                                          ("no_reply", "tidak ada penjelasan dari pelapor")])
def test_an_archive_names_its_reason_in_indonesian(reason, said):
    held = e.ReportPutOnHold(question="Di mana?")
    archived = e.ReportArchived(reason=reason)
    assert messages(SUBMITTED, held, archived) == [
        (REPORTER, f"LAPOR! Laporan LAP-PESAN00001 diarsipkan (alasan: {said}).")]


def test_a_reporter_who_left_no_contact_is_told_nothing_but_the_institution_still_is():
    anonymous = submitted_event(anonymous=True)  # no personal data: no reporter reference
    assert messages(anonymous) == []
    assert messages(anonymous, VERIFIED) == [(SAMARINDA_ADMIN, (
        "LAPOR! Laporan baru LAP-PESAN00001 \"Jalan berlubang di Jl. Juanda\" didisposisikan ke Pemerintah Kota "
        "Samarinda. Tindak lanjut pertama paling lambat Senin 09-03-2026 17:00 WITA, penyelesaian Jumat "
        "27-03-2026 17:00 WITA."))]
    assert messages(anonymous, VERIFIED, e.FollowUpPosted(message="Sudah ditinjau.")) == []


def test_a_hold_asks_the_reporter_the_verifiers_question():
    assert messages(SUBMITTED, e.ReportPutOnHold(question="Di RT berapa lubangnya?")) == [(REPORTER, (
        "LAPOR! Laporan LAP-PESAN00001 memerlukan penjelasan Anda: Di RT berapa lubangnya? Balas paling lambat "
        "10 hari kerja."))]


def test_a_hold_of_an_sms_report_says_to_answer_by_replying():
    sms = submitted_event(reporter_ref=REF, title=None, region_code="")
    stored = history(RID, sms, e.ReportPutOnHold(question="Di mana lokasinya?"))
    stored[0] = replace(stored[0], channel="sms")
    assert messages_for(stored[-1], replay(RID, stored), REFERENCE) == [(REPORTER, (
        "LAPOR! Laporan LAP-PESAN00001 memerlukan penjelasan Anda: Di mana lokasinya? Balas paling lambat "
        "10 hari kerja dengan membalas SMS ini."))]


def test_a_clarification_is_acknowledged_with_the_new_verification_deadline():
    held = e.ReportPutOnHold(question="Di RT berapa lubangnya?")
    clarified = e.ReportClarified(message="RT 12.", verification_due="2026-03-10T10:00:00.000Z")
    assert messages(SUBMITTED, held, clarified) == [(REPORTER, (
        "LAPOR! Terima kasih, penjelasan Anda untuk laporan LAP-PESAN00001 diterima. Laporan akan diverifikasi "
        "paling lambat Selasa 10-03-2026 17:00 WIB."))]


@pytest.mark.parametrize("event", [
    e.ReporterReplied(message="Ada foto tambahan."),
    e.ResolutionAccepted(rating=5, comment="Terima kasih."),
    e.ResolutionObjected(reason="Lubangnya masih ada."),
    e.EscalatedToOmbudsman(grounds="objection", reason="Jawaban tidak sesuai."),
], ids=lambda event: type(event).__name__)
def test_the_reporters_own_acts_notify_no_one(event):
    assert messages(SUBMITTED, VERIFIED, event) == []


# ---------------------------------------------------------------------------------------------- to staff

def test_a_return_as_not_its_authority_asks_the_national_admin_to_dispose_it_elsewhere():
    returned = e.ReportReturned(institution_id="pemkot-samarinda", reason="Jalan provinsi.")
    assert messages(SUBMITTED, VERIFIED, returned) == [(Recipient("staff", role="admin_nasional"), (
        "LAPOR! Pemerintah Kota Samarinda mengembalikan laporan LAP-PESAN00001 (bukan wewenang): Jalan provinsi. "
        "Mohon didisposisikan ulang."))]


def test_a_unit_handing_a_report_back_tells_its_institution_admin():
    given_back = e.AssignmentReturned(unit_id="dinas-pupr", reason="Bukan urusan PUPR.")
    assert messages(SUBMITTED, VERIFIED, ASSIGNED, given_back) == [(SAMARINDA_ADMIN, (
        "LAPOR! Unit mengembalikan laporan LAP-PESAN00001: Bukan urusan PUPR. Mohon ditugaskan ulang atau "
        "ditindaklanjuti."))]


def test_a_reopening_after_an_objection_tells_the_institution_its_new_follow_up_deadline():
    answered = e.ReportAnswered(message="Jalan sudah ditambal.", reply_due=REPLY_DUE)
    objected = e.ResolutionObjected(reason="Lubangnya masih ada.")
    reopened = e.ReportReopened(follow_up_due="2026-03-27T09:00:00.000Z")
    assert messages(SUBMITTED, VERIFIED, answered, objected, reopened) == [(SAMARINDA_ADMIN, (
        "LAPOR! Pelapor mengajukan keberatan atas jawaban laporan LAP-PESAN00001; laporan dibuka kembali. "
        "Tindak lanjut paling lambat Jumat 27-03-2026 17:00 WITA."))]


def test_a_redisposition_tells_the_new_institution_that_the_deadlines_keep_running():
    returned = e.ReportReturned(institution_id="pemkot-samarinda", reason="Jalan provinsi.")
    redisposed = e.ReportRedisposed(institution_id="pemprov-kaltim", previous_institution_id="pemkot-samarinda")
    assert messages(SUBMITTED, VERIFIED, returned, redisposed) == [(
        Recipient("staff", role="admin_instansi", institution_id="pemprov-kaltim"),
        "LAPOR! Laporan LAP-PESAN00001 didisposisikan ulang ke instansi Anda. Batas waktu tetap berjalan.")]


def test_an_assignment_tells_the_units_liaison_with_the_reports_title():
    assert messages(SUBMITTED, VERIFIED, ASSIGNED) == [(PUPR_LIAISON, (
        "LAPOR! Laporan LAP-PESAN00001 \"Jalan berlubang di Jl. Juanda\" ditugaskan ke unit Anda. Mohon segera "
        "ditindaklanjuti."))]


def test_a_reminder_goes_to_its_recipient_with_the_clock_named_in_indonesian_and_the_local_deadline():
    reminder = e.ReminderSent(clock="follow_up", level=1, due_at=FOLLOW_UP_DUE, recipient_role="admin_penghubung",
                              recipient_institution_id="pemkot-samarinda", recipient_unit_id="dinas-pupr")
    assert messages(SUBMITTED, VERIFIED, ASSIGNED, reminder) == [(PUPR_LIAISON, (
        "LAPOR! PENGINGAT: batas waktu tindak lanjut pertama laporan LAP-PESAN00001 telah lewat (Senin 09-03-2026 "
        "17:00 WITA). Mohon segera ditindaklanjuti."))]


def test_a_verification_reminder_goes_to_the_national_admin_in_wib():
    reminder = e.ReminderSent(clock="verification", level=1, due_at=VERIFICATION_DUE, recipient_role="admin_nasional")
    assert messages(SUBMITTED, reminder) == [(Recipient("staff", role="admin_nasional"), (
        "LAPOR! PENGINGAT: batas waktu verifikasi laporan LAP-PESAN00001 telah lewat (Kamis 05-03-2026 17:00 WIB). "
        "Mohon segera ditindaklanjuti."))]


def test_an_escalation_names_its_level_and_the_deadline_missed():
    escalation = e.DeadlineEscalated(clock="resolution", level=2, due_at=RESOLUTION_DUE, to_role="admin_instansi",
                                     to_institution_id="pemkot-samarinda")
    assert messages(SUBMITTED, VERIFIED, ASSIGNED, escalation) == [(SAMARINDA_ADMIN, (
        "LAPOR! ESKALASI tingkat 2: batas waktu penyelesaian laporan LAP-PESAN00001 terlewati sejak Jumat "
        "27-03-2026 17:00 WITA dan belum ditangani."))]


def test_staff_recipients_are_keyed_by_role_institution_and_unit_and_the_reporter_by_role_alone():
    assert [recipient.key() for recipient in (REPORTER, SAMARINDA_ADMIN, PUPR_LIAISON,
                                              Recipient("staff", role="admin_nasional"))] == [
        "reporter", "admin_instansi/pemkot-samarinda", "admin_penghubung/pemkot-samarinda/dinas-pupr",
        "admin_nasional"]
    assert REPORTER.to_dict() == {"kind": "reporter", "reporter_ref": REF}  # the address is looked up when sending


# ------------------------------------------------------------------------------------------ local time

@pytest.mark.parametrize("institution, name, follow_up_due, shown", [
    ("pemprov-kepri", "Pemerintah Provinsi Kepulauan Riau", "2026-03-09T10:00:00.000Z", "Senin 09-03-2026 17:00 WIB"),
    ("pemkot-samarinda", "Pemerintah Kota Samarinda", "2026-03-09T09:00:00.000Z", "Senin 09-03-2026 17:00 WITA"),
    ("pemprov-papua", "Pemerintah Provinsi Papua", "2026-03-09T08:00:00.000Z", "Senin 09-03-2026 17:00 WIT"),
])
def test_each_institutions_close_of_office_is_shown_in_its_own_zone(institution, name, follow_up_due, shown):
    verified = verified_event(institution_id=institution, follow_up_due=follow_up_due)
    assert messages(SUBMITTED, verified)[0] == (REPORTER, (
        f"LAPOR! Laporan LAP-PESAN00001 telah diverifikasi dan diteruskan ke {name}. Tindak lanjut pertama paling "
        f"lambat {shown}."))


def test_a_local_time_is_the_local_day_even_when_the_utc_date_differs():
    assert local_time("2026-03-05T17:30:00.000Z", "WIB") == "Jumat 06-03-2026 00:30 WIB"
    assert local_time("2026-03-08T16:00:00.000Z", "WITA") == "Senin 09-03-2026 00:00 WITA"
    assert local_time("2026-03-07T14:59:00.000Z", "WIT") == "Sabtu 07-03-2026 23:59 WIT"


def test_every_archive_reason_has_an_indonesian_name():
    from chalicelib.domain.report import ARCHIVE_REASONS
    from projections.outbox import ARCHIVE_REASON_NAMES

    assert set(ARCHIVE_REASON_NAMES) == set(ARCHIVE_REASONS)
