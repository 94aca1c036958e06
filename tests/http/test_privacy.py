"""Privacy over HTTP (DOMAIN §4–§5): anonymity, confidentiality, who sees which report, personal data, erasure.

Outside the visibility rule a report does not exist for the caller: 404, never 403, so an institution cannot
even learn that another institution's report exists.
"""
from __future__ import annotations

import json
from typing import Any

from tests.support.api import body_of, error_of, submit_report
from tests.support.builders import SITI
from tests.support.tokens import (
    ADMIN_KALTIM,
    ADMIN_SAMARINDA,
    AUDITOR,
    LIAISON_KALTIM,
    LIAISON_KOMINFO,
    LIAISON_PUPR,
    NASIONAL,
    OMBUDSMAN,
    SAMARINDA,
    SUPERVISOR,
    SUPERVISOR_KALTIM,
    SUPERVISOR_KEPRI,
)

REPORT_BODY = {"title": "Pungli di kantor kelurahan", "body": "Petugas meminta uang Rp50.000 untuk surat pengantar "
               "KTP, tanpa kuitansi.", "type": "complaint", "region_code": "64.72",
               "category_id": "infrastruktur.jalan-rusak",
               "location": {"lat": -0.5022, "lon": 117.1536, "address": "Jl. Juanda No. 7, Samarinda"}}
REPORTER = SITI | {"nik": "6472015506900003"}
PERSONAL_STRINGS = ("Siti Rahmawati", "+6281234567890", "081234567890", "0812-3456-7890", "siti.rahma@example.id",
                    "6472015506900003")


def _submit(api: Any, **overrides: Any) -> tuple[str, str]:
    return submit_report(api, REPORT_BODY | {"reporter": REPORTER}, **overrides)


def _verify_and_assign(api: Any, report_id: str, **verify: Any) -> None:
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA} | verify, token=NASIONAL), 200)
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)


def _status(api: Any, path: str, **who: str) -> int:
    return api.get(path, **who).status_code


# ------------------------------------------------------------------------------------------- anonymous

def test_an_anonymous_reporter_is_hidden_from_the_public_and_from_every_handler(api, pump):
    report_id, token = _submit(api, anonymous=True)
    _verify_and_assign(api, report_id)
    pump.drain()

    public = body_of(api.get(f"/reports/{report_id}"), 200)
    assert public["anonymous"] is True
    assert "reporter_ref" not in public
    assert "location" not in public  # a precise spot can identify an anonymous reporter
    for handler in (ADMIN_SAMARINDA, LIAISON_PUPR, OMBUDSMAN, SUPERVISOR, AUDITOR):
        assert "reporter_ref" not in body_of(api.get(f"/reports/{report_id}", token=handler), 200)

    for handler in (ADMIN_SAMARINDA, LIAISON_PUPR, OMBUDSMAN, SUPERVISOR):
        error_of(api.get(f"/reports/{report_id}/reporter", token=handler), 403, "forbidden")
    error_of(api.get(f"/reports/{report_id}/reporter"), 403, "forbidden")  # the public reads the report, not the person

    own = body_of(api.get(f"/reports/{report_id}/reporter", report_token=token), 200)
    assert (own["name"], own["phone"], own["nik"]) == ("Siti Rahmawati", "+6281234567890", "6472015506900003")
    national = body_of(api.get(f"/reports/{report_id}/reporter", token=NASIONAL), 200)  # abuse handling
    assert national["name"] == "Siti Rahmawati"
    assert "reporter_ref" in body_of(api.get(f"/reports/{report_id}", token=NASIONAL), 200)
    mine = body_of(api.get(f"/reports/{report_id}", report_token=token), 200)
    assert mine["location"]["address"] == REPORT_BODY["location"]["address"]


def test_a_verifier_may_make_a_report_anonymous_but_never_undo_it(api, pump):
    named, _ = _submit(api)
    _verify_and_assign(api, named, anonymous=True)  # it named third parties: the verifier anonymises it
    pump.drain()
    error_of(api.get(f"/reports/{named}/reporter", token=ADMIN_SAMARINDA), 403, "forbidden")
    assert "reporter_ref" not in body_of(api.get(f"/reports/{named}", token=LIAISON_PUPR), 200)

    anonymous, _ = _submit(api, anonymous=True)
    error_of(api.post(f"/reports/{anonymous}/verification", {"institution_id": SAMARINDA, "anonymous": False},
                      token=NASIONAL), 409, "rule_violated")
    secret, _ = _submit(api, confidential=True)
    error_of(api.post(f"/reports/{secret}/verification", {"institution_id": SAMARINDA, "confidential": False},
                      token=NASIONAL), 409, "rule_violated")


def test_a_named_reporter_is_visible_to_the_handlers_but_never_enters_the_event_log(api, pump):
    report_id, token = _submit(api)
    _verify_and_assign(api, report_id)
    body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Sudah kami tegur petugasnya."},
                     token=LIAISON_PUPR), 200)
    pump.drain()

    for handler in (ADMIN_SAMARINDA, LIAISON_PUPR, NASIONAL, OMBUDSMAN):
        details = body_of(api.get(f"/reports/{report_id}/reporter", token=handler), 200)
        assert details["name"] == "Siti Rahmawati" and details["phone"] == "+6281234567890"
        assert details["email"] == "siti.rahma@example.id" and details["nik"] == "6472015506900003"
    public = body_of(api.get(f"/reports/{report_id}"), 200)
    assert "reporter_ref" not in public
    error_of(api.get(f"/reports/{report_id}/reporter"), 403, "forbidden")
    error_of(api.get(f"/reports/{report_id}/reporter", token=ADMIN_KALTIM), 404, "report_not_found")

    events = api.get(f"/reports/{report_id}/events", token=AUDITOR)
    assert events.status_code == 200
    text = events.body.decode("utf-8")
    assert json.loads(text)["events"][0]["data"]["reporter_ref"].startswith("RPT-")
    for personal in PERSONAL_STRINGS:
        assert personal not in text
    for reader in (None, ADMIN_SAMARINDA, LIAISON_PUPR, OMBUDSMAN):
        body = api.get(f"/reports/{report_id}", token=reader).body.decode("utf-8")
        assert not any(personal in body for personal in PERSONAL_STRINGS)
    assert not any(p in api.get(f"/reports/{report_id}", report_token=token).body.decode() for p in PERSONAL_STRINGS)


def test_only_audit_roles_read_the_event_log(api):
    report_id, token = _submit(api)
    for reader in (ADMIN_SAMARINDA, LIAISON_PUPR, SUPERVISOR):
        error_of(api.get(f"/reports/{report_id}/events", token=reader), 403, "forbidden")
        error_of(api.get(f"/reports/{report_id}/chain-verification", token=reader), 403, "forbidden")
    error_of(api.get(f"/reports/{report_id}/events", report_token=token), 403, "forbidden")
    error_of(api.get(f"/reports/{report_id}/events"), 403, "forbidden")
    for reader in (NASIONAL, OMBUDSMAN, AUDITOR):
        assert len(body_of(api.get(f"/reports/{report_id}/events", token=reader), 200)["events"]) == 1
    error_of(api.get("/reports/LAP-ZZZZZZZZZZ/events", token=AUDITOR), 404, "report_not_found")


# ---------------------------------------------------------------------------------------- confidential

def test_a_confidential_report_never_becomes_public_but_its_chain_supervisors_and_ombudsman_see_it(api, pump):
    report_id, token = _submit(api, confidential=True)
    _verify_and_assign(api, report_id)
    body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Selesai.", "final": True},
                     token=LIAISON_PUPR), 200)
    body_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 4}, report_token=token), 200)
    pump.drain()

    error_of(api.get(f"/reports/{report_id}"), 404, "report_not_found")
    _, other_token = _submit(api)
    pump.drain()
    for wrong in (other_token, "rpt_guess"):  # a wrong token reads exactly like a report that does not exist
        assert body_of(api.get(f"/reports/{report_id}", report_token=wrong), 404) == \
            body_of(api.get(f"/reports/{report_id}"), 404)
    assert body_of(api.get("/reports/LAP-ZZZZZZZZZZ", report_token="rpt_guess"), 404)["code"] == "report_not_found"
    for outsider in (ADMIN_KALTIM, LIAISON_KOMINFO, LIAISON_KALTIM, SUPERVISOR_KEPRI):
        error_of(api.get(f"/reports/{report_id}", token=outsider), 404, "report_not_found")
    for insider in (ADMIN_SAMARINDA, LIAISON_PUPR, NASIONAL, OMBUDSMAN, SUPERVISOR, SUPERVISOR_KALTIM, AUDITOR):
        view = body_of(api.get(f"/reports/{report_id}", token=insider), 200)
        assert view["confidential"] is True and view["status"] == "closed"
    assert body_of(api.get(f"/reports/{report_id}", report_token=token), 200)["status"] == "closed"


def test_a_wrong_report_token_on_a_confidential_report_gets_404_on_commands_too(api, pump):
    report_id, _ = _submit(api, confidential=True)
    _verify_and_assign(api, report_id)
    missing = api.post("/reports/LAP-ZZZZZZZZZZ/replies", {"message": "halo"}, report_token="rpt_guess")
    wrong = api.post(f"/reports/{report_id}/replies", {"message": "halo"}, report_token="rpt_guess")
    assert missing.status_code == 404
    assert wrong.status_code == 404


def test_unverified_and_archived_reports_are_not_public(api, pump):
    submitted, token = _submit(api)
    held, _ = _submit(api)
    archived, _ = _submit(api)
    body_of(api.post(f"/reports/{held}/hold", {"question": "Kapan kejadiannya?"}, token=NASIONAL), 200)
    body_of(api.post(f"/reports/{archived}/archive", {"reason": "spam"}, token=NASIONAL), 200)
    pump.drain()
    for report_id in (submitted, held, archived):
        error_of(api.get(f"/reports/{report_id}"), 404, "report_not_found")
        error_of(api.get(f"/reports/{report_id}", token=ADMIN_SAMARINDA), 404, "report_not_found")
        assert _status(api, f"/reports/{report_id}", token=NASIONAL) == 200
    assert body_of(api.get(f"/reports/{submitted}", report_token=token), 200)["status"] == "submitted"


def test_a_report_addressed_to_an_institution_is_seen_by_its_admin_before_verification_only(api, pump):
    report_id, _ = _submit(api, institution_id=SAMARINDA)
    pump.drain()
    assert body_of(api.get(f"/reports/{report_id}", token=ADMIN_SAMARINDA), 200)["status"] == "submitted"
    error_of(api.get(f"/reports/{report_id}", token=ADMIN_KALTIM), 404, "report_not_found")
    error_of(api.get(f"/reports/{report_id}", token=LIAISON_PUPR), 404, "report_not_found")  # not assigned yet


# --------------------------------------------------------------------- other institutions and units

COMMANDS = {
    "verification": {"institution_id": SAMARINDA}, "archive": {"reason": "spam"}, "hold": {"question": "Apa?"},
    "assignment": {"unit_id": "dinas-kominfo"}, "return": {"reason": "bukan wewenang"},
    "redisposition": {"institution_id": "pemprov-kaltim"}, "follow-ups": {"message": "halo", "final": True},
    "replies": {"message": "halo"}, "acceptance": {"rating": 5}, "objection": {"reason": "tidak setuju"},
    "ombudsman-escalation": {"reason": "tidak setuju"},
}


def test_another_institutions_admin_gets_404_on_every_read_and_command(api, pump, services):
    report_id, _ = _submit(api, confidential=True)
    _verify_and_assign(api, report_id)
    pump.drain()
    version = len(services.store.load(report_id))
    error_of(api.get(f"/reports/{report_id}", token=ADMIN_KALTIM), 404, "report_not_found")
    error_of(api.get(f"/reports/{report_id}/reporter", token=ADMIN_KALTIM), 404, "report_not_found")
    error_of(api.get(f"/reports/{report_id}", token=LIAISON_KOMINFO), 404, "report_not_found")
    assert _status(api, f"/reports/{report_id}", token=LIAISON_PUPR) == 200
    for command, body in COMMANDS.items():
        error_of(api.post(f"/reports/{report_id}/{command}", body, token=ADMIN_KALTIM), 404, "report_not_found")
    assert len(services.store.load(report_id)) == version


def test_another_units_liaison_gets_404_on_every_read_and_command(api, pump, services):
    report_id, _ = _submit(api)  # not even confidential: the unit still sees only its own queue
    _verify_and_assign(api, report_id)
    pump.drain()
    version = len(services.store.load(report_id))
    for liaison in (LIAISON_KOMINFO, LIAISON_KALTIM):
        error_of(api.get(f"/reports/{report_id}/reporter", token=liaison), 404, "report_not_found")
        for command, body in COMMANDS.items():
            error_of(api.post(f"/reports/{report_id}/{command}", body, token=liaison), 404, "report_not_found")
    # The report is public, so a liaison of another unit may read it as anyone may; no reporter details though.
    assert "reporter_ref" not in body_of(api.get(f"/reports/{report_id}"), 200)
    assert len(services.store.load(report_id)) == version


# ------------------------------------------------------------------------------------ the token hash

def _responses_across_a_lifecycle(api: Any, pump: Any) -> tuple[list[bytes], list[str]]:
    """Every kind of answer a caller can get about two reports (one plain, one anonymous and confidential)."""
    report_id, token = _submit(api)
    anonymous_id, anonymous_token = _submit(api, anonymous=True, confidential=True)
    third = api.post("/reports", REPORT_BODY)
    responses = [third.body]
    for rid in (report_id, anonymous_id):
        responses.append(api.post(f"/reports/{rid}/verification", {"institution_id": SAMARINDA}, token=NASIONAL).body)
        responses.append(api.post(f"/reports/{rid}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA).body)
        responses.append(api.post(f"/reports/{rid}/follow-ups", {"message": "ok", "final": True},
                                  token=LIAISON_PUPR).body)
    responses.append(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=token).body)
    pump.drain()
    readers = [{}, {"report_token": token}, {"report_token": anonymous_token}] + \
        [{"token": t} for t in (NASIONAL, ADMIN_SAMARINDA, LIAISON_PUPR, OMBUDSMAN, SUPERVISOR, AUDITOR)]
    for rid in (report_id, anonymous_id):
        for who in readers:
            for suffix in ("", "/reporter", "/chain-verification"):
                responses.append(api.get(f"/reports/{rid}{suffix}", **who).body)
    return responses, [report_id, anonymous_id, json.loads(third.body)["report_id"]]


def test_the_access_token_hash_never_appears_in_a_report_read_or_command_answer(api, pump, services):
    responses, report_ids = _responses_across_a_lifecycle(api, pump)
    hashes = {services.store.load(rid)[0].data["access_token_hash"] for rid in report_ids}
    assert len(hashes) == 3 and all(len(h) == 64 for h in hashes)
    for body in responses:
        assert b"access_token_hash" not in body
        assert not any(h.encode() in body for h in hashes)


def test_the_audit_event_history_holds_the_token_hash_but_never_the_token(api):
    # By design: the hash is part of the immutable, hash-chained record the auditor verifies; presenting it
    # as a token does not work, because the server hashes whatever is presented.
    report_id, token = _submit(api)
    body = api.get(f"/reports/{report_id}/events", token=AUDITOR).body
    assert token.encode() not in body
    token_hash = json.loads(body)["events"][0]["data"]["access_token_hash"]
    assert api.get(f"/reports/{report_id}", report_token=token_hash).status_code == 404


# ------------------------------------------------------------------------------------------- erasure

def test_erasure_removes_the_identity_and_leaves_the_hash_chain_valid(api, pump, services):
    report_id, token = _submit(api)
    _verify_and_assign(api, report_id)
    pump.drain()
    reporter_ref = body_of(api.get(f"/reports/{report_id}", token=NASIONAL), 200)["reporter_ref"]
    events_before = body_of(api.get(f"/reports/{report_id}/events", token=AUDITOR), 200)

    erased = body_of(api.post(f"/reporters/{reporter_ref}/erasure", token=NASIONAL), 200)
    assert erased == {"reporter_ref": reporter_ref, "erased_at": "2026-03-02T02:00:00.000Z"}

    for reader in ({"token": NASIONAL}, {"token": ADMIN_SAMARINDA}, {"report_token": token}):
        response = api.get(f"/reports/{report_id}/reporter", **reader)
        if response.status_code == 404:
            assert json.loads(response.body)["code"] == "not_found"
        else:
            tombstone = body_of(response, 200)
            assert tombstone["erased_at"] == "2026-03-02T02:00:00.000Z"
            assert all(tombstone[field] is None for field in ("name", "phone", "email", "nik"))
        assert not any(p in response.body.decode() for p in PERSONAL_STRINGS)
    record = services.store.get_personal(reporter_ref)
    assert record is None or (record.name, record.phone, record.email, record.nik) == (None, None, None, None)

    assert body_of(api.get(f"/reports/{report_id}/events", token=AUDITOR), 200) == events_before
    chain = body_of(api.get(f"/reports/{report_id}/chain-verification", token=AUDITOR), 200)
    assert chain["valid"] is True and chain["events"] == 3
    assert body_of(api.get(f"/reports/{report_id}"), 200)["status"] == "assigned"  # the report itself stays


def test_erasure_is_for_the_national_admin_only(api, pump, services):
    report_id, token = _submit(api)
    _verify_and_assign(api, report_id)
    pump.drain()
    reporter_ref = body_of(api.get(f"/reports/{report_id}", token=NASIONAL), 200)["reporter_ref"]
    for who in ({"token": ADMIN_SAMARINDA}, {"token": LIAISON_PUPR}, {"token": OMBUDSMAN}, {"token": AUDITOR},
                {"token": SUPERVISOR}, {"report_token": token}, {}):
        error_of(api.post(f"/reporters/{reporter_ref}/erasure", **who), 403, "forbidden")
    assert services.store.get_personal(reporter_ref).name == "Siti Rahmawati"
    error_of(api.post("/reporters/RPT-000000000000000000000000/erasure", token=NASIONAL), 404, "not_found")


def test_a_report_without_reporter_details_has_no_reporter_record(api, pump):
    created = body_of(api.post("/reports", REPORT_BODY), 201)
    pump.drain()
    error_of(api.get(f"/reports/{created['report_id']}/reporter", report_token=created["access_token"]),
             404, "not_found")


def test_supervisors_and_auditors_do_not_read_a_named_reporters_identity(api, pump):
    report_id, _ = _submit(api)
    _verify_and_assign(api, report_id)
    pump.drain()
    for reader in (SUPERVISOR, SUPERVISOR_KALTIM, AUDITOR):
        assert api.get(f"/reports/{report_id}/reporter", token=reader).status_code == 403


# ------------------------------------------------------------------------------------ lists and queues

def test_the_public_list_holds_only_verified_non_confidential_reports_without_personal_fields(api, pump):
    public, _ = _submit(api)
    confidential, _ = _submit(api, confidential=True)
    made_confidential, _ = _submit(api)
    anonymous, _ = _submit(api, anonymous=True)
    unverified, _ = _submit(api)
    archived, _ = _submit(api)
    for report_id in (public, confidential, anonymous):
        _verify_and_assign(api, report_id)
    _verify_and_assign(api, made_confidential, confidential=True)
    body_of(api.post(f"/reports/{archived}/archive", {"reason": "spam"}, token=NASIONAL), 200)
    pump.drain()
    for query in ("", "?region=64.72", "?region=64", "?institution=pemkot-samarinda",
                  "?category=infrastruktur.jalan-rusak"):
        page = api.get(f"/public/reports{query}")
        listed = {row["report_id"] for row in body_of(page, 200)["reports"]}
        assert listed == {public, anonymous}, query
        text = page.body.decode("utf-8")
        for secret in ("reporter_ref", "location", "access_token_hash", "body", "Jl. Juanda") + PERSONAL_STRINGS:
            assert secret not in text, (query, secret)


def test_a_work_queue_holds_only_the_callers_own_reports(api, pump):
    report_id, _ = _submit(api, confidential=True)
    _verify_and_assign(api, report_id)
    pump.drain()

    def queue(token: str) -> set[str]:
        return {row["report_id"] for row in body_of(api.get("/queue", token=token), 200)["reports"]}

    assert report_id in queue(ADMIN_SAMARINDA) and report_id in queue(LIAISON_PUPR)
    for outsider in (ADMIN_KALTIM, LIAISON_KOMINFO, LIAISON_KALTIM):
        assert report_id not in queue(outsider)
    for not_a_queue_holder in ({"token": SUPERVISOR}, {"token": AUDITOR}, {}):
        error_of(api.get("/queue", **not_a_queue_holder), 403, "forbidden")
