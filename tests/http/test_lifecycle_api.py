"""The report lifecycle over HTTP (DOMAIN §5–§6): every step's answer, and what GET /reports/{id} then shows.

Each step is checked twice: the command's own response (status, version, events written) and, after the
stream pump has run the projector, the report view a reader gets back.
"""
from __future__ import annotations

from typing import Any

from tests.support.api import body_of, error_of, submit_report
from tests.support.builders import REPORT_JALAN_BERLUBANG as REPORT_BODY
from tests.support.builders import verify_command
from tests.support.tokens import (
    ADMIN_KALTIM,
    ADMIN_SAMARINDA,
    AUDITOR,
    KALTIM,
    LIAISON_PUPR,
    NASIONAL,
    OMBUDSMAN,
    SAMARINDA,
    staff_token,
)


def _view(api: Any, pump: Any, report_id: str, **who: str) -> dict[str, Any]:
    pump.drain()
    return body_of(api.get(f"/reports/{report_id}", **who), 200)


def _to_answered(api: Any, report_id: str) -> None:
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)
    body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Tim sudah survei lokasi."},
                     token=LIAISON_PUPR), 200)
    body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Lubang sudah ditambal.", "final": True},
                     token=LIAISON_PUPR), 200)


# ------------------------------------------------------------------------------------------- happy path

def test_a_report_goes_from_submission_to_closed_with_each_step_visible(api, pump):
    created = body_of(api.post("/reports", REPORT_BODY), 201)
    report_id, token = created["report_id"], created["access_token"]
    assert report_id.startswith("LAP-") and token.startswith("rpt_")
    assert created["status"] == "submitted" and created["version"] == 1
    assert created["events"] == ["ReportSubmitted"]
    assert created["verification_due"] == "2026-03-05T10:00:00.000Z"  # 3 WD, 17:00 WIB (national admin)

    view = _view(api, pump, report_id, report_token=token)
    assert (view["status"], view["bucket"], view["version"]) == ("submitted", "belum", 1)
    assert view["title"] == REPORT_BODY["title"] and view["channel"] == "web"
    assert api.get(f"/reports/{report_id}").status_code == 404  # not public before verification

    verified = body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA},
                                token=NASIONAL), 200)
    assert verified == {"report_id": report_id, "status": "disposed", "version": 2, "events": ["ReportVerified"]}
    view = _view(api, pump, report_id, token=ADMIN_SAMARINDA)
    assert (view["status"], view["bucket"], view["institution_id"], view["unit_id"]) == \
        ("disposed", "belum", SAMARINDA, None)
    # Samarinda is WITA: 5 and 14 working days from Monday 2 March end at 17:00 WITA = 09:00 UTC.
    assert view["deadlines"]["follow_up"] == "2026-03-09T09:00:00.000Z"
    assert view["deadlines"]["resolution"] == "2026-03-27T09:00:00.000Z"
    assert body_of(api.get(f"/reports/{report_id}"), 200)["status"] == "disposed"  # now public

    assigned = body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"},
                                token=ADMIN_SAMARINDA), 200)
    assert (assigned["status"], assigned["version"], assigned["events"]) == ("assigned", 3, ["ReportAssigned"])
    view = _view(api, pump, report_id, token=LIAISON_PUPR)
    assert (view["status"], view["unit_id"], view["bucket"]) == ("assigned", "dinas-pupr", "belum")

    followed = body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Tim sudah survei lokasi."},
                                token=LIAISON_PUPR), 200)
    assert (followed["status"], followed["version"], followed["events"]) == ("in_progress", 4, ["FollowUpPosted"])
    view = _view(api, pump, report_id, report_token=token)
    assert (view["status"], view["bucket"]) == ("in_progress", "proses")
    assert [f["message"] for f in view["follow_ups"]] == ["Tim sudah survei lokasi."]
    assert view["first_response_at"] == "2026-03-02T02:00:00.000Z"

    answered = body_of(api.post(f"/reports/{report_id}/follow-ups",
                                {"message": "Lubang sudah ditambal.", "final": True}, token=LIAISON_PUPR), 200)
    assert (answered["status"], answered["version"], answered["events"]) == ("answered", 5, ["ReportAnswered"])
    view = _view(api, pump, report_id, report_token=token)
    assert (view["status"], view["bucket"]) == ("answered", "proses")
    assert [f["final"] for f in view["follow_ups"]] == [False, True]
    assert view["deadlines"]["reply"] == "2026-03-16T09:00:00.000Z"  # 10 WD reply window

    accepted = body_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5, "comment": "Terima kasih"},
                                report_token=token), 200)
    assert (accepted["status"], accepted["version"]) == ("closed", 7)
    assert accepted["events"] == ["ResolutionAccepted", "ReportClosed"]
    view = _view(api, pump, report_id)  # the public sees the finished report
    assert (view["status"], view["bucket"], view["version"]) == ("closed", "selesai", 7)
    assert view["rating"]["rating"] == 5 and view["closed"]["reason"] == "accepted"
    assert all("user_id" not in f["by"] for f in view["follow_ups"])  # the public sees the unit, not the employee

    chain = body_of(api.get(f"/reports/{report_id}/chain-verification", token=AUDITOR), 200)
    assert chain == {"stream_id": report_id, "valid": True, "events": 7, "first_broken_version": None,
                     "problem": None}

    # Closed is final: no second acceptance, no more follow-ups, nothing written.
    error_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 4}, report_token=token), 409, "invalid_transition")
    error_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "tambahan"}, token=LIAISON_PUPR),
             409, "invalid_transition")
    assert _view(api, pump, report_id)["version"] == 7


def test_the_institution_admin_can_answer_without_assigning_a_unit(api, pump):
    report_id, token = submit_report(api, type="aspiration")
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    answered = body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Usulan diterima.", "final": True},
                                token=ADMIN_SAMARINDA), 200)
    assert answered["status"] == "answered"
    view = _view(api, pump, report_id, report_token=token)
    assert view["unit_id"] is None and view["deadlines"]["resolution"] == "2026-03-09T09:00:00.000Z"  # 5 WD


def test_a_report_addressed_to_an_institution_is_verified_by_its_admin(api, pump):
    report_id, _ = submit_report(api, institution_id=SAMARINDA)
    # Addressed to Samarinda: its admin verifies, the verification clock runs in WITA (17:00 WITA = 09:00 UTC).
    assert _view(api, pump, report_id, token=ADMIN_SAMARINDA)["deadlines"]["verification"] == \
        "2026-03-05T09:00:00.000Z"
    error_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=ADMIN_KALTIM),
             404, "report_not_found")
    error_of(api.post(f"/reports/{report_id}/verification", {"institution_id": KALTIM}, token=ADMIN_SAMARINDA),
             403, "forbidden")  # an institution admin disposes only to itself
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=ADMIN_SAMARINDA), 200)
    assert _view(api, pump, report_id)["institution_id"] == SAMARINDA


# -------------------------------------------------------------------------------- return and re-dispose

def test_a_returned_report_is_redisposed_and_the_first_institution_loses_sight_of_it(api, pump):
    report_id, token = submit_report(api)
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    deadlines = _view(api, pump, report_id, token=NASIONAL)["deadlines"]
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)

    handed_back = body_of(api.post(f"/reports/{report_id}/return", {"reason": "Bukan urusan dinas kami"},
                                   token=LIAISON_PUPR), 200)
    assert (handed_back["status"], handed_back["events"]) == ("disposed", ["AssignmentReturned"])
    view = _view(api, pump, report_id, token=ADMIN_SAMARINDA)
    assert view["status"] == "disposed" and view["unit_id"] is None
    assert api.get(f"/reports/{report_id}", token=LIAISON_PUPR).status_code == 404  # no longer the unit's

    returned = body_of(api.post(f"/reports/{report_id}/return", {"reason": "Jalan provinsi, bukan wewenang kota"},
                                token=ADMIN_SAMARINDA), 200)
    assert (returned["status"], returned["events"]) == ("returned", ["ReportReturned"])
    view = _view(api, pump, report_id, token=NASIONAL)
    assert (view["status"], view["bucket"]) == ("returned", "belum")
    assert [r["reason"] for r in view["returns"]] == ["Bukan urusan dinas kami", "Jalan provinsi, bukan wewenang kota"]

    error_of(api.post(f"/reports/{report_id}/redisposition", {"institution_id": KALTIM}, token=ADMIN_SAMARINDA),
             403, "forbidden")
    error_of(api.post(f"/reports/{report_id}/redisposition", {"institution_id": SAMARINDA}, token=NASIONAL),
             409, "rule_violated")  # it just said "not our authority"
    error_of(api.post(f"/reports/{report_id}/redisposition", {"institution_id": "pemkot-atlantis"}, token=NASIONAL),
             422, "unknown_institution")
    redisposed = body_of(api.post(f"/reports/{report_id}/redisposition", {"institution_id": KALTIM},
                                  token=NASIONAL), 200)
    assert (redisposed["status"], redisposed["events"]) == ("disposed", ["ReportRedisposed"])

    view = _view(api, pump, report_id, token=ADMIN_KALTIM)
    assert (view["status"], view["institution_id"]) == ("disposed", KALTIM)
    assert view["deadlines"] == deadlines  # "no wrong door": the clocks keep running from the first disposition
    assert api.get(f"/reports/{report_id}", token=ADMIN_SAMARINDA).status_code == 404
    assert _view(api, pump, report_id, report_token=token)["institution_id"] == KALTIM

    kaltim_unit = body_of(api.get("/institutions"), 200)
    units = next(i["units"] for i in kaltim_unit["institutions"] if i["id"] == KALTIM)
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": units[0]["id"]}, token=ADMIN_KALTIM), 200)
    assert _view(api, pump, report_id)["unit_id"] == units[0]["id"]


def test_only_a_report_in_returned_state_can_be_redisposed(api, pump):
    report_id, _ = submit_report(api)
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    error_of(api.post(f"/reports/{report_id}/redisposition", {"institution_id": KALTIM}, token=NASIONAL),
             409, "invalid_transition")
    assert _view(api, pump, report_id)["institution_id"] == SAMARINDA


# ------------------------------------------------------------------------------ hold and clarification

def test_a_held_report_returns_to_verification_when_the_reporter_clarifies(api, pump, clock):
    report_id, token = submit_report(api)
    held = body_of(api.post(f"/reports/{report_id}/hold", {"question": "Di ruas jalan mana tepatnya?"},
                            token=NASIONAL), 200)
    assert (held["status"], held["events"]) == ("on_hold", ["ReportPutOnHold"])
    view = _view(api, pump, report_id, report_token=token)
    assert (view["status"], view["bucket"]) == ("on_hold", "belum")
    assert view["hold"]["question"] == "Di ruas jalan mana tepatnya?"
    assert api.get(f"/reports/{report_id}").status_code == 404

    error_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL),
             409, "invalid_transition")
    error_of(api.post(f"/reports/{report_id}/replies", {"message": "Jl. Juanda"}), 401, "unauthenticated")

    clock.advance(days=2)  # Wednesday
    clarified = body_of(api.post(f"/reports/{report_id}/replies", {"message": "Jl. Juanda depan pasar Segiri"},
                                 report_token=token), 200)
    assert (clarified["status"], clarified["events"]) == ("submitted", ["ReportClarified"])
    view = _view(api, pump, report_id, report_token=token)
    assert view["status"] == "submitted"
    assert view["replies"] == [{"at": "2026-03-04T02:00:00.000Z", "message": "Jl. Juanda depan pasar Segiri",
                                "clarification": True}]
    assert view["deadlines"]["verification"] == "2026-03-09T10:00:00.000Z"  # a fresh 3 WD from the clarification

    verified = body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL),
                       200)
    assert (verified["status"], verified["version"]) == ("disposed", 4)
    assert _view(api, pump, report_id)["status"] == "disposed"


def test_a_report_is_archived_as_duplicate_and_never_becomes_public(api, pump):
    first, _ = submit_report(api)
    second, token = submit_report(api)
    error_of(api.post(f"/reports/{second}/archive", {"reason": "duplicate"}, token=NASIONAL), 422, "validation_failed")
    archived = body_of(api.post(f"/reports/{second}/archive", {"reason": "duplicate", "duplicate_of": first},
                                token=NASIONAL), 200)
    assert (archived["status"], archived["events"]) == ("archived", ["ReportArchived"])
    view = _view(api, pump, second, report_token=token)
    assert view["archived"]["duplicate_of"] == first and view["bucket"] == "arsip"
    assert api.get(f"/reports/{second}").status_code == 404
    error_of(api.post(f"/reports/{second}/verification", {"institution_id": SAMARINDA}, token=NASIONAL),
             409, "invalid_transition")


# --------------------------------------------------------------------------- objection and Ombudsman

def test_an_objection_reopens_the_report_with_a_new_follow_up_deadline(api, pump, clock):
    report_id, token = submit_report(api)
    _to_answered(api, report_id)
    _, other_token = submit_report(api)
    # Only the reporter holding this report's token may accept or object.
    error_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}), 401, "unauthenticated")
    error_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=other_token), 403, "forbidden")
    error_of(api.post(f"/reports/{report_id}/objection", {"reason": "x"}, token=ADMIN_SAMARINDA), 403, "forbidden")
    error_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, token=NASIONAL), 403, "forbidden")

    clock.advance(days=3)  # Thursday 5 March
    objected = body_of(api.post(f"/reports/{report_id}/objection", {"reason": "Lubang masih ada, hanya ditimbun pasir"},
                                report_token=token), 200)
    assert (objected["status"], objected["version"]) == ("in_progress", 7)
    assert objected["events"] == ["ResolutionObjected", "ReportReopened"]
    view = _view(api, pump, report_id, report_token=token)
    assert (view["status"], view["bucket"]) == ("in_progress", "proses")
    assert view["objections"] == [{"at": "2026-03-05T02:00:00.000Z",
                                   "reason": "Lubang masih ada, hanya ditimbun pasir"}]
    assert "reply" not in view["deadlines"]
    assert view["deadlines"]["follow_up"] == "2026-03-12T09:00:00.000Z"  # 5 WD from Thursday, WITA

    error_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 3}, report_token=token), 409, "invalid_transition")
    again = body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Diaspal ulang.", "final": True},
                             token=LIAISON_PUPR), 200)
    assert again["status"] == "answered"
    assert "reply" in _view(api, pump, report_id, report_token=token)["deadlines"]


def test_the_reporter_escalates_to_the_ombudsman_after_objecting(api, pump):
    report_id, token = submit_report(api)
    _to_answered(api, report_id)
    error_of(api.post(f"/reports/{report_id}/ombudsman-escalation", {"reason": "Tidak puas"}, report_token=token),
             409, "rule_violated")  # no objection yet and the deadline has not passed
    body_of(api.post(f"/reports/{report_id}/objection", {"reason": "Belum diperbaiki"}, report_token=token), 200)

    escalated = body_of(api.post(f"/reports/{report_id}/ombudsman-escalation", {"reason": "Dinas tidak serius"},
                                 report_token=token), 200)
    assert escalated["events"] == ["EscalatedToOmbudsman"]
    assert escalated["status"] == "in_progress"  # a flag, not a state: handling continues
    view = _view(api, pump, report_id, token=OMBUDSMAN)
    assert view["escalated_to_ombudsman"] is True and view["status"] == "in_progress"
    assert view["ombudsman_escalation"]["grounds"] == "objection"
    error_of(api.post(f"/reports/{report_id}/ombudsman-escalation", {"reason": "lagi"}, report_token=token),
             409, "rule_violated")
    error_of(api.post(f"/reports/{report_id}/ombudsman-escalation", {"reason": "saya admin"}, token=ADMIN_SAMARINDA),
             403, "forbidden")
    body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Perbaikan dijadwalkan."}, token=LIAISON_PUPR),
            200)


def test_the_reporter_may_escalate_once_the_resolution_deadline_has_passed(api, pump, clock):
    report_id, token = submit_report(api)
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    clock.advance(days=30)  # 14 working days ended on 27 March
    escalated = body_of(api.post(f"/reports/{report_id}/ombudsman-escalation", {"reason": "Tidak ada tanggapan"},
                                 report_token=token), 200)
    assert escalated["status"] == "disposed"
    assert _view(api, pump, report_id, report_token=token)["ombudsman_escalation"]["grounds"] == "missed_deadline"


def test_an_objection_after_the_reply_window_is_refused(api, pump, clock):
    report_id, token = submit_report(api)
    _to_answered(api, report_id)
    clock.advance(days=20)  # the 10-working-day window ended on 16 March
    error_of(api.post(f"/reports/{report_id}/objection", {"reason": "Terlambat"}, report_token=token),
             409, "rule_violated")
    assert _view(api, pump, report_id, report_token=token)["status"] == "answered"


# ------------------------------------------------------------------------------------------ concurrency

def _serve_stale_history_once(monkeypatch: Any, services: Any, stale: list[Any]) -> None:
    """The next load returns the history as it was before another admin's write (the race, made deterministic)."""
    real_load = services.store.load
    served = []

    def load(stream_id: str) -> list[Any]:
        if not served:
            served.append(stream_id)
            return stale
        return real_load(stream_id)

    monkeypatch.setattr(services.store, "load", load)


def test_two_admins_acting_at_once_one_wins_and_the_other_gets_409(api, pump, services, monkeypatch):
    report_id, _ = submit_report(api)
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    stale = services.store.load(report_id)  # what the second admin's request read ...
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)

    _serve_stale_history_once(monkeypatch, services, stale)  # ... before the first admin's write landed
    body = error_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Kami cek"},
                             token=staff_token("admin_instansi", institution=SAMARINDA, subject="second-admin"),
                             headers={"Idempotency-Key": "race-follow-up-1"}),
                    409, "concurrency_conflict")
    assert body["details"] == {"stream_id": report_id, "expected_version": 2}
    assert len(services.store.load(report_id)) == 3  # nothing of the loser was written
    view = _view(api, pump, report_id, token=NASIONAL)
    assert (view["status"], view["version"], view["follow_ups"]) == ("assigned", 3, [])

    # The loser reloads and retries with the same key: the key was not used up by the failed attempt.
    retried = body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Kami cek"},
                               token=staff_token("admin_instansi", institution=SAMARINDA, subject="second-admin"),
                               headers={"Idempotency-Key": "race-follow-up-1"}), 200)
    assert (retried["status"], retried["version"]) == ("in_progress", 4)


def test_a_multi_event_command_racing_another_write_gets_409_and_writes_nothing(api, pump, services, monkeypatch):
    report_id, token = submit_report(api)
    _to_answered(api, report_id)
    stale = services.store.load(report_id)
    body_of(api.post(f"/reports/{report_id}/replies", {"message": "Akan saya cek besok"}, report_token=token), 200)

    _serve_stale_history_once(monkeypatch, services, stale)
    error_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=token),
             409, "concurrency_conflict")  # ResolutionAccepted + ReportClosed: one transaction, all or nothing
    assert [e.type for e in services.store.load(report_id)][-1] == "ReporterReplied"
    assert _view(api, pump, report_id, report_token=token)["status"] == "answered"
    assert body_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=token), 200)["version"] == 8


def test_concurrent_identical_commands_from_threads_write_one_event(api, services, monkeypatch):
    """Two threads run the same verify on the same report through the command handler: exactly one wins."""
    import threading

    from chalicelib.domain.access import Principal
    from chalicelib.errors import LaporError
    from chalicelib.services.handlers import Request

    report_id, _ = submit_report(api)
    barrier, outcomes = threading.Barrier(2), []
    real_load = services.store.load

    def load_then_wait(stream_id: str) -> list[Any]:
        loaded = real_load(stream_id)
        barrier.wait(timeout=5)  # both threads have read version 1 before either appends
        return loaded

    def verify(user: str) -> None:
        command = verify_command(Principal(role="admin_nasional", user_id=user), SAMARINDA)
        try:
            outcomes.append(services.commands.execute(report_id, command,
                                                      Request(now=services.clock(), correlation_id=user)))
        except LaporError as exc:
            outcomes.append(exc.code)

    monkeypatch.setattr(services.store, "load", load_then_wait)
    threads = [threading.Thread(target=verify, args=(f"admin-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    monkeypatch.undo()
    assert sorted(o if isinstance(o, str) else o["status"] for o in outcomes) == ["concurrency_conflict", "disposed"]
    assert [e.type for e in services.store.load(report_id)] == ["ReportSubmitted", "ReportVerified"]
