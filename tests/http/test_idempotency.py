"""Idempotency-Key over HTTP (DESIGN §1): a retry gets the first result back and writes nothing new.

Mobile apps and SMS gateways retry for hours; a citizen who taps "Kirim" twice must get one report, one
tracking ID and one access token that works.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from tests.support.api import body_of
from tests.support.tokens import ADMIN_SAMARINDA, NASIONAL, SAMARINDA, staff_token

VALID = {"title": "Sampah menumpuk", "body": "Sampah di TPS Jl. Dr. Soetomo tidak diangkut seminggu.",
         "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.jalan-rusak",
         "reporter": {"name": "Andi Wijaya", "phone": "081255501234"}}


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": f"test-{name}-0001"}


def _items(services: Any, table: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    return client.scan(TableName=services.settings.table_names[table])["Items"]


def _writes(services: Any) -> dict[str, int]:
    return {table: len(_items(services, table)) for table in ("events", "personal_data", "idempotency")}


def _event_types(services: Any) -> Counter[str]:
    return Counter(item["type"]["S"] for item in _items(services, "events"))


def _submit(api: Any, body: dict[str, Any] = VALID, **kw: Any) -> dict[str, Any]:
    return body_of(api.post("/reports", body, **kw), 201)


# ------------------------------------------------------------------------------------------ submission

def test_a_retried_submission_returns_the_same_report_and_a_working_token_and_writes_once(api, pump, services):
    first = _submit(api, headers=_key("submit"))
    second = _submit(api, headers=_key("submit"))
    assert second == first
    assert first["access_token"].startswith("rpt_")

    assert _event_types(services) == Counter({"ReportSubmitted": 1})
    assert _writes(services) == {"events": 1, "personal_data": 1, "idempotency": 1}

    pump.drain()
    token = second["access_token"]
    mine = body_of(api.get(f"/reports/{first['report_id']}", report_token=token), 200)
    assert mine["status"] == "submitted" and mine["reporter_ref"].startswith("RPT-")
    assert body_of(api.get(f"/reports/{first['report_id']}/reporter", report_token=token), 200)["name"] == "Andi Wijaya"
    body_of(api.post(f"/reports/{first['report_id']}/replies", {"message": "Foto menyusul"}, report_token=token), 200)


def test_a_third_retry_after_the_report_moved_on_still_gets_the_first_answer(api, services):
    first = _submit(api, headers=_key("late-retry"))
    body_of(api.post(f"/reports/{first['report_id']}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    before = _writes(services)
    assert _submit(api, headers=_key("late-retry")) == first
    assert _writes(services) == before


def test_for_anonymous_submitters_the_same_key_with_a_different_body_is_a_different_request(api, services):
    # The public has no identity to scope keys by, so a key is scoped by the request itself: two citizens
    # whose apps pick the same key never receive each other's report or token.
    first = _submit(api, headers=_key("reuse"))
    second = body_of(api.post("/reports", VALID | {"body": "Sampah di TPS Jl. Dr. Soetomo tidak diangkut."},
                              headers=_key("reuse")), 201)
    assert second["report_id"] != first["report_id"] and second["access_token"] != first["access_token"]


def test_a_staff_member_reusing_a_key_for_a_different_request_gets_422_and_nothing_is_written(api, services):
    report_id = _submit(api)["report_id"]
    first = api.post(f"/reports/{report_id}/hold", {"question": "Di mana lokasi persisnya?"}, token=NASIONAL,
                     headers=_key("staff-reuse"))
    assert first.status_code == 200, first.body
    before = _writes(services)
    response = api.post(f"/reports/{report_id}/archive", {"reason": "unclear"}, token=NASIONAL,
                        headers=_key("staff-reuse"))
    error = body_of(response, 422)
    assert error["code"] == "idempotency_key_reused" and error["message"] and error["pesan"]
    assert _writes(services) == before


def test_two_different_keys_make_two_reports(api, services):
    first = _submit(api, headers=_key("one"))
    second = _submit(api, headers=_key("two"))
    assert first["report_id"] != second["report_id"]
    assert first["access_token"] != second["access_token"]
    assert _writes(services) == {"events": 2, "personal_data": 2, "idempotency": 2}


def test_without_a_key_every_post_is_a_new_report(api, services):
    assert _submit(api)["report_id"] != _submit(api)["report_id"]
    assert _writes(services) == {"events": 2, "personal_data": 2, "idempotency": 0}


# ------------------------------------------------------------------------------------------- commands

def test_a_retried_verification_returns_the_first_result_and_writes_nothing(api, pump, services):
    report_id = _submit(api)["report_id"]
    first = body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL,
                             headers=_key("verify")), 200)
    assert (first["status"], first["version"]) == ("disposed", 2)
    before = _writes(services)
    retried = body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL,
                               headers=_key("verify")), 200)
    assert retried == first
    assert _writes(services) == before

    # Even after someone else moved the report on, the retry is answered as before, not with 409.
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)
    assert body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL,
                            headers=_key("verify")), 200) == first
    # Without the key the same request is a new request, refused by the report's state.
    response = api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL)
    assert body_of(response, 409)["code"] == "invalid_transition"
    assert _event_types(services)["ReportVerified"] == 1
    pump.drain()
    assert body_of(api.get(f"/reports/{report_id}"), 200)["version"] == 3


def test_a_retried_follow_up_that_would_still_be_allowed_is_not_posted_twice(api, pump, services):
    report_id = _submit(api)["report_id"]
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    first = body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Truk dijadwalkan besok."},
                             token=ADMIN_SAMARINDA, headers=_key("follow-up")), 200)
    retried = body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Truk dijadwalkan besok."},
                               token=ADMIN_SAMARINDA, headers=_key("follow-up")), 200)
    assert retried == first
    assert _event_types(services)["FollowUpPosted"] == 1
    pump.drain()
    assert len(body_of(api.get(f"/reports/{report_id}"), 200)["follow_ups"]) == 1


def test_a_retried_acceptance_writes_its_two_events_once(api, services):
    created = _submit(api)
    report_id, token = created["report_id"], created["access_token"]
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Sudah diangkut.", "final": True},
                     token=ADMIN_SAMARINDA), 200)
    first = body_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=token,
                             headers=_key("accept")), 200)
    assert body_of(api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=token,
                            headers=_key("accept")), 200) == first
    types = _event_types(services)
    assert (types["ResolutionAccepted"], types["ReportClosed"]) == (1, 1)
    different = api.post(f"/reports/{report_id}/acceptance", {"rating": 1}, report_token=token, headers=_key("accept"))
    assert body_of(different, 422)["code"] == "idempotency_key_reused"


def test_the_same_key_from_two_staff_users_is_two_independent_requests(api, pump, services):
    first_report, second_report = _submit(api)["report_id"], _submit(api)["report_id"]
    alice = staff_token("admin_nasional", subject="alice")
    budi = staff_token("admin_nasional", subject="budi")
    by_alice = body_of(api.post(f"/reports/{first_report}/verification", {"institution_id": SAMARINDA}, token=alice,
                                headers=_key("shared")), 200)
    by_budi = body_of(api.post(f"/reports/{second_report}/verification", {"institution_id": "pemprov-kaltim"},
                               token=budi, headers=_key("shared")), 200)
    assert by_alice["report_id"] == first_report and by_budi["report_id"] == second_report
    assert _event_types(services)["ReportVerified"] == 2
    pump.drain()
    assert body_of(api.get(f"/reports/{second_report}"), 200)["institution_id"] == "pemprov-kaltim"
    # Budi repeating Alice's exact request with the shared key is his own first request, not her answer.
    response = api.post(f"/reports/{first_report}/verification", {"institution_id": SAMARINDA}, token=budi,
                        headers=_key("shared"))
    assert body_of(response, 422)["code"] == "idempotency_key_reused"  # his key already means "verify the 2nd one"
    third = _submit(api)["report_id"]
    carol = staff_token("admin_nasional", subject="carol")
    assert body_of(api.post(f"/reports/{third}/verification", {"institution_id": SAMARINDA}, token=carol,
                            headers=_key("shared")), 200)["report_id"] == third


def test_reusing_a_key_for_another_command_is_422_and_writes_nothing(api, services):
    report_id = _submit(api)["report_id"]
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL,
                     headers=_key("one-use")), 200)
    other = _submit(api)["report_id"]
    before = _writes(services)
    response = api.post(f"/reports/{report_id}/archive", {"reason": "spam"}, token=NASIONAL, headers=_key("one-use"))
    assert body_of(response, 422)["code"] == "idempotency_key_reused"
    response = api.post(f"/reports/{other}/verification", {"institution_id": SAMARINDA}, token=NASIONAL,
                        headers=_key("one-use"))  # same body, another report: a different request
    assert body_of(response, 422)["code"] == "idempotency_key_reused"
    assert _writes(services) == before


def test_a_refused_request_does_not_use_up_its_key(api, services):
    report_id = _submit(api)["report_id"]
    response = api.post(f"/reports/{report_id}/verification", {"institution_id": "pemkot-atlantis"}, token=NASIONAL,
                        headers=_key("typo"))
    assert body_of(response, 422)["code"] == "unknown_institution"
    assert _writes(services)["idempotency"] == 0
    fixed = body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL,
                             headers=_key("typo")), 200)
    assert fixed["status"] == "disposed"
    assert _writes(services)["idempotency"] == 1


def test_a_retry_is_answered_from_the_stored_record_with_one_read_and_no_write(api, services, dynamodb_calls):
    """What a known key costs: one consistent GetItem of its record — no decision, no transaction tried."""
    calls = dynamodb_calls
    first = _submit(api, headers=_key("count-0001"))
    assert calls == ["GetItem", "TransactWriteItems"]  # the key is new: look it up, then commit it with the event
    calls.clear()
    assert _submit(api, headers=_key("count-0001")) == first
    assert calls == ["GetItem"]
    calls.clear()
    verified = api.post(f"/reports/{first['report_id']}/verification", {"institution_id": "pemkot-samarinda"},
                        token=NASIONAL, headers=_key("verify-count-0001"))
    assert verified.status_code == 200
    assert calls == ["GetItem", "Query", "TransactWriteItems"]  # the key, the report's stream, one commit
