"""Bad input over HTTP: every refusal is a 4xx JSON body with `code` and `message`, and writes nothing.

"Writes nothing" is checked on the tables themselves (events, personal data, idempotency records), so a
refusal that slipped a personal-data record or a half transaction through would show.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import jwt

from chalicelib.auth import TOKEN_AUDIENCE, mint_token
from tests.support.api import json_of, submit_report
from tests.support.builders import REPORT_LAMPU_MATI as VALID
from tests.support.settings import JWT_SECRET
from tests.support.tokens import (
    ADMIN_SAMARINDA,
    AUDITOR,
    LIAISON_PUPR,
    NASIONAL,
    OMBUDSMAN,
    SAMARINDA,
    SUPERVISOR,
    SUPERVISOR_KALTIM,
)

WRITTEN_TABLES = ("events", "personal_data", "idempotency")


def _writes(services: Any) -> dict[str, int]:
    client = boto3.client("dynamodb")
    return {table: client.scan(TableName=services.settings.table_names[table], Select="COUNT")["Count"]
            for table in WRITTEN_TABLES}


def _is_error(response: Any, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    if status is not None:
        assert response.status_code == status, (response.status_code, response.body)
    assert 400 <= response.status_code < 500, (response.status_code, response.body)
    body = json_of(response, response.status_code)
    assert isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body
    assert body["message"] and body.get("pesan")
    if code is not None:
        assert body["code"] == code, body
    return body


def _refused(api: Any, services: Any, path: str, body: Any = None, *, status: int, code: str,
             raw: bytes | str | None = None, **kw: Any) -> dict[str, Any]:
    before = _writes(services)
    error = _is_error(api.post(path, body, raw=raw, **kw), status, code)
    assert _writes(services) == before, f"{path} wrote something although it answered {status}"
    return error


def _problems(error: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["problem"] for e in error["details"]["errors"]}


def _disposed(api: Any) -> tuple[str, str]:
    report_id, token = submit_report(api, VALID)
    assert api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA},
                    token=NASIONAL).status_code == 200
    return report_id, token


# ---------------------------------------------------------------------------------- body framing

def test_malformed_json_is_400_malformed_request(api, services):
    report_id, _ = _disposed(api)
    for raw in ['{"title": ', "{'title': 'x'}", '{"a": 1,}', "tru", b"\xff\xfe{}", '{"a": 1} x']:
        _refused(api, services, "/reports", raw=raw, status=400, code="malformed_request")
        _refused(api, services, f"/reports/{report_id}/follow-ups", raw=raw, token=ADMIN_SAMARINDA, status=400,
                 code="malformed_request")


def test_a_non_json_content_type_is_415_and_json_with_a_charset_is_fine(api, services):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml"):
        _refused(api, services, "/reports", VALID, headers={"Content-Type": content_type}, status=415,
                 code="unsupported_media_type")
    response = api.post("/reports", VALID, headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 201, response.body


def test_an_empty_body_is_400(api, services):
    report_id, _ = _disposed(api)
    for raw in ("", "   \n\t "):
        _refused(api, services, "/reports", raw=raw, status=400, code="malformed_request")
        _refused(api, services, f"/reports/{report_id}/assignment", raw=raw, token=ADMIN_SAMARINDA, status=400,
                 code="malformed_request")


def test_a_json_value_that_is_not_an_object_is_422(api, services):
    for value in ([VALID], [], None, "a report", 42, True):
        error = _refused(api, services, "/reports", raw=json.dumps(value), status=422, code="validation_failed")
        assert _problems(error) == {"(body)": "must be a JSON object"}


def test_a_body_over_64_kib_is_413(api, services):
    _refused(api, services, "/reports", VALID | {"body": "x" * (64 * 1024)}, status=413, code="payload_too_large")
    report_id, _ = _disposed(api)
    _refused(api, services, f"/reports/{report_id}/follow-ups", raw=" " * (64 * 1024 + 1), token=ADMIN_SAMARINDA,
             status=413, code="payload_too_large")


# --------------------------------------------------------------------------------------- fields

def test_a_field_of_the_wrong_type_is_422(api, services):
    for field, value, problem in [
        ("anonymous", "true", "must be a boolean"),
        ("confidential", 1, "must be a boolean"),
        ("body", 12345678901, "must be a string"),
        ("title", ["Lampu"], "must be a string"),
        ("region_code", 64.72, "must be a string"),
        ("location", [-0.5, 117.1], "must be an object"),
        ("reporter", "Siti", "must be an object"),
    ]:
        error = _refused(api, services, "/reports", VALID | {field: value}, status=422, code="validation_failed")
        assert _problems(error) == {field: problem}


def test_a_bool_is_not_an_integer_rating_and_a_string_is_not_a_final_flag(api, services):
    report_id, token = _disposed(api)
    assert _problems(_refused(api, services, f"/reports/{report_id}/acceptance", {"rating": True},
                              report_token=token, status=422, code="validation_failed")) == \
        {"rating": "must be an integer"}
    assert _problems(_refused(api, services, f"/reports/{report_id}/acceptance", {"rating": 4.0},
                              report_token=token, status=422, code="validation_failed")) == \
        {"rating": "must be an integer"}
    assert _problems(_refused(api, services, f"/reports/{report_id}/follow-ups", {"message": "ok", "final": "yes"},
                              token=ADMIN_SAMARINDA, status=422, code="validation_failed")) == \
        {"final": "must be a boolean"}


def test_missing_required_fields_are_all_reported_at_once(api, services):
    error = _refused(api, services, "/reports", {"title": "Lampu"}, status=422, code="validation_failed")
    assert _problems(error) == {"body": "is required", "type": "is required", "region_code": "is required"}
    error = _refused(api, services, "/reports", VALID | {"region_code": None}, status=422, code="validation_failed")
    assert _problems(error) == {"region_code": "is required"}
    error = _refused(api, services, "/reports", VALID | {"location": {"address": "Jl. Pahlawan"}}, status=422,
                     code="validation_failed")
    assert _problems(error) == {"location.lat": "is required", "location.lon": "is required"}


def test_an_unknown_field_is_refused_so_a_misspelt_privacy_flag_is_never_dropped(api, services):
    error = _refused(api, services, "/reports", VALID | {"anonymus": True}, status=422, code="validation_failed")
    assert _problems(error) == {"anonymus": "is not a known field"}
    error = _refused(api, services, "/reports", VALID | {"reporter": {"name": "Siti", "ktp": "6472015506900003"}},
                     status=422, code="validation_failed")
    assert _problems(error) == {"reporter.ktp": "is not a known field"}


def test_blank_and_too_short_text_is_422(api, services):
    error = _refused(api, services, "/reports", VALID | {"title": "   ", "body": "rusak"}, status=422,
                     code="validation_failed")
    assert set(_problems(error)) == {"title", "body"}


def test_text_over_5000_characters_is_422_and_exactly_5000_is_accepted(api, services):
    error = _refused(api, services, "/reports", VALID | {"body": "a" * 5001}, status=422, code="validation_failed")
    assert _problems(error) == {"body": "must be at most 5000 characters (got 5001)"}
    report_id, _ = _disposed(api)
    _refused(api, services, f"/reports/{report_id}/follow-ups", {"message": "b" * 5001}, token=ADMIN_SAMARINDA,
             status=422, code="validation_failed")
    _refused(api, services, f"/reports/{report_id}/return", {"reason": "c" * 5001}, token=ADMIN_SAMARINDA,
             status=422, code="validation_failed")
    assert api.post("/reports", VALID | {"body": "a" * 5000}).status_code == 201
    assert api.post(f"/reports/{report_id}/follow-ups", {"message": "b" * 5000},
                    token=ADMIN_SAMARINDA).status_code == 200


def test_a_location_outside_indonesia_is_422(api, services):
    for location in ({"lat": 48.85, "lon": 2.35}, {"lat": -0.5, "lon": 200}, {"lat": "-0.5", "lon": 117.1}):
        _refused(api, services, "/reports", VALID | {"location": location}, status=422, code="validation_failed")


def test_an_unknown_reference_on_submission_is_422(api, services):
    for field, value, code in [
        ("category_id", "infrastruktur.jalan-berlubang", "unknown_category"),
        ("region_code", "64.99", "unknown_region"),
        ("region_code", "Samarinda", "unknown_region"),
        ("institution_id", "pemkot-atlantis", "unknown_institution"),
    ]:
        error = _refused(api, services, "/reports", VALID | {field: value}, status=422, code=code)
        assert error["details"]["value"] == value


def test_an_unknown_institution_category_or_unit_on_staff_commands_is_422(api, services):
    report_id, _ = submit_report(api, VALID)
    _refused(api, services, f"/reports/{report_id}/verification", {"institution_id": "pemkot-atlantis"},
             token=NASIONAL, status=422, code="unknown_institution")
    _refused(api, services, f"/reports/{report_id}/verification",
             {"institution_id": SAMARINDA, "category_id": "hiburan.konser"}, token=NASIONAL, status=422,
             code="unknown_category")
    assert api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA},
                    token=NASIONAL).status_code == 200
    _refused(api, services, f"/reports/{report_id}/assignment", {"unit_id": "dinas-pariwisata"},
             token=ADMIN_SAMARINDA, status=422, code="unknown_unit")
    _refused(api, services, f"/reports/{report_id}/assignment", {"unit_id": "inspektorat"},  # a Kepri unit
             token=ADMIN_SAMARINDA, status=422, code="unknown_unit")


def test_invalid_reporter_details_are_422_and_store_no_personal_data(api, services):
    for reporter, field in [
        ({"phone": "12345"}, "reporter.phone"),
        ({"phone": "+1 202 555 0143"}, "reporter.phone"),
        ({"phone": "0812-abcd-7890"}, "reporter.phone"),
        ({"nik": "1234567890123456"}, "reporter.nik"),
        ({"nik": "6472015506900"}, "reporter.nik"),
        ({"nik": "6472019913900003"}, "reporter.nik"),  # day 99, month 13
        ({"email": "siti.example.id"}, "reporter.email"),
        ({"email": "siti@localhost"}, "reporter.email"),
        ({"email": "siti @example.id"}, "reporter.email"),
    ]:
        error = _refused(api, services, "/reports", VALID | {"reporter": {"name": "Siti"} | reporter}, status=422,
                         code="validation_failed")
        assert [e["field"] for e in error["details"]["errors"]] == [field]
        assert not any(str(v) in json.dumps(error) for v in reporter.values())  # the bad value is not echoed
    error = _refused(api, services, "/reports", VALID | {"reporter": {"phone": "12345", "nik": "1", "email": "x"}},
                     status=422, code="validation_failed")
    assert {e["field"] for e in error["details"]["errors"]} == {"reporter.phone", "reporter.nik", "reporter.email"}


# ---------------------------------------------------------------------------------- headers, auth

def test_an_invalid_idempotency_key_is_422(api, services):
    report_id, _ = _disposed(api)
    for key in ("short", "has space-1234", "x" * 129, "kunci-ü-12345678", "key/with/slash", ""):
        error = _refused(api, services, "/reports", VALID, headers={"Idempotency-Key": key}, status=422,
                         code="validation_failed")
        assert error["details"]["field"] == "Idempotency-Key"
        _refused(api, services, f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA,
                 headers={"Idempotency-Key": key}, status=422, code="validation_failed")


def test_a_command_not_allowed_in_the_reports_state_is_409(api, services):
    report_id, token = _disposed(api)
    _refused(api, services, f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL,
             status=409, code="invalid_transition")
    _refused(api, services, f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=token, status=409,
             code="invalid_transition")
    _refused(api, services, f"/reports/{report_id}/archive", {"reason": "spam"}, token=NASIONAL, status=409,
             code="invalid_transition")


def test_a_role_that_may_not_do_it_gets_403(api, services):
    report_id, token = _disposed(api)
    for token_, path, body in [
        (NASIONAL, "assignment", {"unit_id": "dinas-pupr"}),
        (OMBUDSMAN, "follow-ups", {"message": "x"}),
        (AUDITOR, "hold", {"question": "x"}),
        (SUPERVISOR, "redisposition", {"institution_id": "pemprov-kaltim"}),
        (ADMIN_SAMARINDA, "redisposition", {"institution_id": "pemprov-kaltim"}),
        (ADMIN_SAMARINDA, "acceptance", {"rating": 5}),
    ]:
        _refused(api, services, f"/reports/{report_id}/{path}", body, token=token_, status=403, code="forbidden")
    _refused(api, services, f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, report_token=token,
             status=403, code="forbidden")


def test_a_staff_command_without_any_token(api, services):
    """What the code does: a report the public cannot see is 404; on a public report the role check says 403."""
    submitted, _ = submit_report(api, VALID)
    _refused(api, services, f"/reports/{submitted}/verification", {"institution_id": SAMARINDA}, status=404,
             code="report_not_found")
    disposed, _ = _disposed(api)
    _refused(api, services, f"/reports/{disposed}/assignment", {"unit_id": "dinas-pupr"}, status=403, code="forbidden")
    _refused(api, services, f"/reports/{disposed}/follow-ups", {"message": "x"}, status=403, code="forbidden")
    _refused(api, services, f"/reports/{disposed}/redisposition", {"institution_id": "pemprov-kaltim"}, status=403,
             code="forbidden")
    _is_error(api.get(f"/reports/{disposed}/events"), 403, "forbidden")
    # Reporter-only commands without a token ask for the token.
    _refused(api, services, f"/reports/{disposed}/replies", {"message": "halo"}, status=401, code="unauthenticated")


def _token(claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
    now = datetime(2026, 3, 2, tzinfo=timezone.utc)
    base = {"sub": "someone", "role": "admin_nasional", "iss": "lapor-test", "aud": TOKEN_AUDIENCE,
            "iat": int(now.timestamp()), "exp": int((now + timedelta(days=3650)).timestamp())}
    return jwt.encode({k: v for k, v in (base | claims).items() if v is not None}, secret, algorithm="HS256")


BAD_AUTHORIZATIONS = [
    "Bearer garbage",
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    "Bearer " + _token({}, secret="not-the-right-secret-0123456789abcdef"),
    "Bearer " + _token({"aud": "another-api"}),
    "Bearer " + _token({"iss": "someone-else"}),
    "Bearer " + _token({"role": "superuser"}),
    "Bearer " + _token({"role": "admin_instansi"}),  # no institution claim
    "Bearer " + _token({"role": "admin_penghubung", "institution": SAMARINDA}),  # no unit claim
    "Bearer " + _token({"exp": None}),
    "Bearer " + jwt.encode({"sub": "x", "role": "admin_nasional", "iss": "lapor-test", "aud": TOKEN_AUDIENCE,
                            "exp": 4102444800}, key=None, algorithm="none"),  # unsigned
]


def test_a_bad_bearer_token_is_401(api, services):
    report_id, _ = submit_report(api, VALID)
    for authorization in BAD_AUTHORIZATIONS:
        _refused(api, services, f"/reports/{report_id}/verification", {"institution_id": SAMARINDA},
                 headers={"Authorization": authorization}, status=401, code="unauthenticated")
        _is_error(api.client.http.get(f"/reports/{report_id}", headers={"Authorization": authorization}), 401,
                  "unauthenticated")


def test_an_expired_token_is_401(api, services):
    expired = mint_token(JWT_SECRET, "lapor-test", role="admin_nasional", subject="old-admin",
                         now=datetime(2020, 1, 1, tzinfo=timezone.utc), lifetime=timedelta(hours=12))
    report_id, _ = submit_report(api, VALID)
    error = _refused(api, services, f"/reports/{report_id}/verification", {"institution_id": SAMARINDA},
                     token=expired, status=401, code="unauthenticated")
    assert "expired" in error["message"].lower()


def test_a_rating_outside_1_to_5_is_422(api, services):
    report_id, token = _disposed(api)
    answered = api.post(f"/reports/{report_id}/follow-ups", {"message": "Sudah.", "final": True}, token=ADMIN_SAMARINDA)
    assert answered.status_code == 200, answered.body
    for rating in (0, 6, -1, 10**30):
        error = _refused(api, services, f"/reports/{report_id}/acceptance", {"rating": rating}, report_token=token,
                         status=422, code="validation_failed")
        assert set(_problems(error)) == {"rating"}
    assert api.post(f"/reports/{report_id}/acceptance", {"rating": 5}, report_token=token).status_code == 200


def test_an_invalid_archive_reason_or_type_is_422(api, services):
    report_id, _ = submit_report(api, VALID)
    _refused(api, services, f"/reports/{report_id}/archive", {"reason": "bosan"}, token=NASIONAL, status=422,
             code="validation_failed")
    _refused(api, services, f"/reports/{report_id}/archive", {"reason": "spam", "duplicate_of": "LAP-2222222222"},
             token=NASIONAL, status=422, code="validation_failed")
    _refused(api, services, "/reports", VALID | {"type": "pengaduan"}, status=422, code="validation_failed")
    _refused(api, services, "/reports", VALID | {"channel": "sms"}, status=422, code="validation_failed")
    _refused(api, services, "/reports", VALID | {"channel": "admin"}, status=422, code="validation_failed")


def test_an_unknown_report_is_404_for_every_command(api, services):
    for path, body in [("verification", {"institution_id": SAMARINDA}), ("replies", {"message": "halo"}),
                       ("follow-ups", {"message": "x"})]:
        _refused(api, services, f"/reports/LAP-ZZZZZZZZZZ/{path}", body, token=NASIONAL, status=404,
                 code="report_not_found")


# --------------------------------------------------------------------------------- known crashes

def _crash_free(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.body)
    _is_error(response)


def test_a_lone_surrogate_in_a_text_field_is_refused_not_a_crash(api, services):
    raw = json.dumps(VALID | {"title": "Lampu \ud800 mati"})
    _crash_free(api.post("/reports", raw=raw))
    report_id, _ = _disposed(api)
    _crash_free(api.post(f"/reports/{report_id}/follow-ups", raw='{"message": "ok \\udfff"}', token=ADMIN_SAMARINDA))


def test_deeply_nested_json_is_refused_not_a_crash(api, services):
    _crash_free(api.post("/reports", raw="[" * 5000 + "]" * 5000))


def test_an_integer_with_thousands_of_digits_is_refused_not_a_crash(api, services):
    _crash_free(api.post("/reports", raw='{"rating": ' + "9" * 5000 + "}"))


def test_nan_is_not_a_latitude(api, services):
    # NaN and Infinity are not JSON: the body is refused as malformed before any field is looked at.
    raw = json.dumps(VALID | {"location": {"lat": float("nan"), "lon": 117.15}})
    before = _writes(services)
    response = api.post("/reports", raw=raw)
    assert response.status_code == 400, (response.status_code, response.body)
    assert response.json_body["code"] == "malformed_request"
    assert _writes(services) == before


def test_refused_requests_leave_nothing_in_the_auditors_by_day_read(api, services):
    report_id, _ = submit_report(api, VALID)
    _refused(api, services, "/reports", VALID | {"region_code": "64.99"}, status=422, code="unknown_region")
    _refused(api, services, f"/reports/{report_id}/verification", {"institution_id": "x"}, token=NASIONAL,
             status=422, code="unknown_institution")
    assert [(e.stream_id, e.type) for e in services.store.read_days("2026-03-01", "2026-03-31")] == \
        [(report_id, "ReportSubmitted")]


# ------------------------------------------------------------------------------------------ fuzz

def _junk(rng: random.Random, depth: int = 0) -> Any:
    strings = ["", " ", "a", "é", "日本語", "🚧🕳️", "\u200b", "\u202eRTL", "\x00", "\n", "<script>", "' OR 1=1 --",
               "null", "true", "64.72", "LAP-2222222222", "x" * 300, "ｆｕｌｌ", "a\u0301"]
    choice = rng.randrange(10 if depth < 6 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 1, 5, 6, 2**31, -2**63, 2**64, 10**300, -10**10])
    if choice == 3:
        return rng.choice([0.0, -0.0, 1.5, -11.6, 6.6, 1e308, -1e-308, 5e-324, 117.15])
    if choice in (4, 5):
        return rng.choice(strings)
    if choice in (6, 7):
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["title", "body", "type", "message", "rating", "final", "reason", "unit_id", "institution_id", "location",
            "reporter", "lat", "", "__proto__", "日本"]
    return {rng.choice(keys): _junk(rng, depth + 1) for _ in range(rng.randrange(5))}


VALID_BODIES = {
    "/reports": VALID | {"location": {"lat": -0.5, "lon": 117.15}, "reporter": {"name": "Siti"}},
    "verification": {"institution_id": SAMARINDA}, "archive": {"reason": "spam"}, "hold": {"question": "Apa?"},
    "assignment": {"unit_id": "dinas-pupr"}, "return": {"reason": "x"},
    "redisposition": {"institution_id": "pemprov-kaltim"}, "follow-ups": {"message": "ok", "final": False},
    "replies": {"message": "halo"}, "acceptance": {"rating": 5, "comment": "ok"}, "objection": {"reason": "tidak"},
    "ombudsman-escalation": {"reason": "tidak"}, "erasure": {},
    "indicators": {"year": 2026, "has_sk": True, "has_renaksi": False, "follow_up_quality": True},
}


def _routes(method: str, report_id: str) -> list[str]:
    """Every route the app serves for `method`, with its path parameters filled in."""
    import app as app_module
    from chalicelib.http.endpoint import OTHER_METHODS_VIEW

    values = {"report_id": report_id, "reporter_ref": "RPT-000000000000000000000000", "institution_id": SAMARINDA,
              "region_code": "64.72"}
    paths = []
    for path, methods in app_module.app.routes.items():
        if method in methods and methods[method].view_name != OTHER_METHODS_VIEW:  # not the 405 routes
            for name, value in values.items():
                path = path.replace("{" + name + "}", value)
            paths.append(path)
    return paths


OPEN311 = "/open311/v2/"  # answers in the Open311 protocol's shapes (README, Open311)


def _pages(*report_ids: str) -> set[str]:
    """The citizen pages (chalicelib/web) answer people in HTML (and the stylesheet in CSS), errors too; their
    own contract is tests/http/test_pages.py. Here they are held to: never a 500, never anything but HTML/CSS."""
    from chalicelib.web.pages import PAGE_PATHS

    return {path.replace("{report_id}", report_id) for path in PAGE_PATHS for report_id in report_ids}


def _page_answer(response, path: str) -> None:
    """A page, its stylesheet or script, or a redirect to a page of this site (the console's sign-in)."""
    assert response.status_code < 500, (path, response.status_code, response.body)
    if response.status_code == 303:
        assert response.headers["Location"].startswith("/") and not response.headers["Location"].startswith("//")
        return
    assert response.headers["Content-Type"] in ("text/html; charset=utf-8", "text/css; charset=utf-8",
                                                "text/javascript; charset=utf-8"), path


def _open311_error(response, path: str) -> None:
    import xml.etree.ElementTree as ET

    assert 400 <= response.status_code < 500, (path, response.status_code, response.body)
    if response.headers["Content-Type"] == "application/json; charset=utf-8":
        [error] = json.loads(response.body)
        assert error["code"] == response.status_code and error["description"], (path, error)
    else:
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8", path
        assert ET.fromstring(response.body).findtext("error/code") == str(response.status_code), path


def test_no_post_route_ever_answers_500_to_junk(api, services, pump):
    rng = random.Random(1708)
    report_id, token = _disposed(api)
    pump.drain()
    callers = [{}, {"report_token": token}, {"token": NASIONAL}, {"token": ADMIN_SAMARINDA}, {"token": LIAISON_PUPR},
               {"token": SUPERVISOR}]
    paths = _routes("POST", report_id)
    pages = _pages(report_id)
    assert len(paths) >= 14
    for path in paths:
        valid = VALID_BODIES.get(path if path == "/reports" else path.rsplit("/", 1)[-1], {})
        for attempt in range(30):
            kind = attempt % 3
            if kind == 0:  # any JSON value at all
                raw = json.dumps(_junk(rng))
            elif kind == 1:  # a valid body with one field replaced, or one junk field added
                body = dict(valid)
                body[rng.choice(list(body) + ["extra"]) if body else "extra"] = _junk(rng)
                raw = json.dumps(body)
            else:  # bytes: truncated, binary, or strange encodings
                raw = rng.choice([json.dumps(valid)[: rng.randrange(1, 20)], bytes(rng.randrange(256) for _ in
                                  range(rng.randrange(1, 40))), json.dumps(valid).encode("utf-16"),
                                  "\ufeff" + json.dumps(valid), json.dumps(valid, ensure_ascii=False) * 2])
            response = api.post(path, raw=raw, **rng.choice(callers))
            assert response.status_code < 500, (path, raw, response.status_code, response.body)
            if path in pages:
                _page_answer(response, path)
                continue
            if path.startswith(OPEN311):
                _open311_error(response, path)
                continue
            assert response.headers["Content-Type"] == "application/json"
            body = json.loads(response.body)
            assert isinstance(body, dict)
            if response.status_code >= 400:
                assert isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body
    # The junk never broke the report's history.
    chain = json.loads(api.get(f"/reports/{report_id}/chain-verification", token=NASIONAL).body)
    assert chain["valid"] is True


def test_no_get_route_answers_500_to_junk_ids_or_query_strings(api, pump):
    report_id, token = _disposed(api)
    pump.drain()
    junk = ["", "x", "-1", "0", "101", "99999999999999999999", "%00", "%F0%9F%9A%A7", "a%20b", "true", "2026-13",
            "2026-02-30T25:00:00Z", "..%2F..%2Fetc", "LAP-%27%20OR%201%3D1", "x" * 500]
    names = ["limit", "cursor", "bucket", "overdue", "region", "institution", "category", "period", "as_of",
             "province", "level"]
    callers = [{}, {"report_token": token}, {"token": NASIONAL}, {"token": ADMIN_SAMARINDA},
               {"token": OMBUDSMAN}, {"token": SUPERVISOR_KALTIM}]
    rng = random.Random(64)
    paths = _routes("GET", report_id) + [p.replace(report_id, "LAP-%00") for p in _routes("GET", report_id)
                                         if report_id in p]
    pages = _pages(report_id, "LAP-%00")
    for path in paths:
        for _ in range(8):
            query = "&".join(f"{rng.choice(names)}={rng.choice(junk)}" for _ in range(rng.randrange(1, 3)))
            response = api.get(f"{path}?{query}", **rng.choice(callers))
            if path == "/konsol/masuk" and response.status_code == 503:
                # by design: this stage has no identity provider configured, and the page names the settings
                # (tests/http/test_console.py) — the operator's to fix, not the caller's
                assert "LAPOR_OIDC_" in response.body.decode(), response.body
                continue
            assert response.status_code < 500, (path, query, response.status_code, response.body)
            if path in pages:
                _page_answer(response, path)
                continue
            if path.startswith(OPEN311):
                if response.status_code >= 400:
                    _open311_error(response, path)
                continue
            body = json.loads(response.body)
            if response.status_code >= 400:
                assert isinstance(body.get("code"), str) and isinstance(body.get("message"), str), (path, body)
