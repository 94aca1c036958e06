"""The error contract at the edges: wrong methods, media types, control characters. Every refusal is JSON
`{code, message, pesan}` with its status, and writes nothing.

Unknown paths and verbs Chalice cannot route (TRACE, FOO) never reach the app: API Gateway answers them
(infra/template.py reshapes its answers, tests/infra/test_template.py) and so does `lapor serve`
(tests/unit/test_local_http_server.py)."""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.http.endpoint import OPERATIONS, OTHER_METHODS_VIEW, ROUTABLE_METHODS, allowed_methods
from tests.support.api import bilingual_error_of
from tests.support.builders import REPORT_LAMPU_MATI as VALID
from tests.support.tokens import NASIONAL

FILLED = {"report_id": "LAP-2222222222", "reporter_ref": "RPT-000000000000000000000000",
          "institution_id": "pemkot-samarinda", "region_code": "64.72"}


def _fill(path: str) -> str:
    for name, value in FILLED.items():
        path = path.replace("{" + name + "}", value)
    return path


def _writes(services: Any) -> int:
    client = boto3.client("dynamodb")
    return sum(client.scan(TableName=services.settings.table_names[table], Select="COUNT")["Count"]
               for table in ("events", "personal_data", "idempotency"))


# ------------------------------------------------------------------------------------------ methods

def test_every_declared_path_routes_every_method_chalice_can_route(client):
    import app as app_module

    paths = {op.path for op in OPERATIONS}
    assert set(app_module.app.routes) == paths
    for path in paths:
        assert set(app_module.app.routes[path]) == set(ROUTABLE_METHODS), path
        declared = {op.method for op in OPERATIONS if op.path == path}
        others = {m for m, entry in app_module.app.routes[path].items() if entry.view_name == OTHER_METHODS_VIEW}
        assert others == set(ROUTABLE_METHODS) - declared, path


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_method_the_path_does_not_take_is_405_json_with_allow_and_writes_nothing(client, services, method):
    before = _writes(services)
    for path in sorted({op.path for op in OPERATIONS}):
        response = client.http.request(method, _fill(path), headers={"Content-Type": "application/json",
                                                                       "Authorization": f"Bearer {NASIONAL}"},
                                       body=json.dumps(VALID).encode())
        error = bilingual_error_of(response, 405, "method_not_allowed")
        allow = response.headers["Allow"]
        assert allow == ", ".join(allowed_methods(path))
        assert error["details"] == {"method": method, "allowed": allow.split(", ")}
        assert method not in allow and "OPTIONS" in allow
    assert _writes(services) == before


def test_get_on_a_command_and_post_on_a_read_are_405(client):
    response = client.http.get("/reports")
    bilingual_error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST, OPTIONS"
    response = client.http.post("/health", headers={"Content-Type": "application/json"}, body=b"{}")
    bilingual_error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    # HEAD exists only where GET does.
    response = client.http.request("HEAD", "/reports/LAP-2222222222/verification")
    bilingual_error_of(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST, OPTIONS"


def test_options_answers_204_with_allow(client):
    for path in ("/reports", "/reports/{report_id}", "/public/reports", "/reports/{report_id}/follow-ups"):
        response = client.http.request("OPTIONS", _fill(path))
        assert response.status_code == 204 and response.body == b""
        assert response.headers["Allow"] == ", ".join(allowed_methods(path))


def test_head_answers_as_get(client):
    get, head = client.http.get("/health"), client.http.request("HEAD", "/health")
    assert (head.status_code, head.headers["Content-Type"]) == (get.status_code, get.headers["Content-Type"]) \
        == (200, "application/json")
    # The same rules as GET, too: an id that cannot exist is 404.
    bilingual_error_of(client.http.request("HEAD", "/reports/not-a-report"), 404, "report_not_found")


def test_the_openapi_document_lists_no_405_route(api):
    document = json.loads(api.get("/openapi.json").body)
    listed = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    assert listed == {(op.path, op.method) for op in OPERATIONS}
    assert not any(method in ("HEAD", "OPTIONS", "PUT", "PATCH", "DELETE") for _, method in listed)


# ------------------------------------------------------------------------------------------ media types

@pytest.mark.parametrize("content_type", [
    None, "", "text/jsonish", "application/jsonish", "text/json", "json", "application/", "/json",
    "application/+json", "application/x-json-stream", "text/plain; note=application/json",
    "application/json; charset=latin-1", "application/json; charset=utf-16", "application/json; charset",
    "multipart/form-data; boundary=json",
])
def test_a_body_that_is_not_declared_json_is_415_and_writes_nothing(api, services, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    before = _writes(services)
    response = api.client.http.post("/reports", headers=headers, body=json.dumps(VALID).encode())
    bilingual_error_of(response, 415, "unsupported_media_type")
    assert _writes(services) == before


def test_no_content_type_is_415_on_every_command_with_a_body(api, services):
    for op in OPERATIONS:
        if op.body is None:
            continue
        response = api.client.http.post(_fill(op.path), headers={"Authorization": f"Bearer {NASIONAL}"},
                                        body=b"{}")
        bilingual_error_of(response, 415, "unsupported_media_type")
    assert _writes(services) == 0


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON;Charset=\"UTF-8\"",
    "application/json;", "application/merge-patch+json", "application/vnd.lapor.report+json; charset=utf-8",
])
def test_json_media_types_are_accepted(api, content_type):
    response = api.post("/reports", VALID, headers={"Content-Type": content_type})
    assert response.status_code == 201, (content_type, response.body)


# ------------------------------------------------------------------------------------------ control characters

@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f", "\x0b", "\x0c"])
def test_a_control_character_in_a_text_field_is_422_naming_the_field(api, services, character):
    body = VALID | {"title": f"Lampu{character}mati", "reporter": {"name": f"Siti{character}"},
                    "location": {"lat": -0.5, "lon": 117.15, "address": f"Jl.{character}Pahlawan"}}
    response = api.post("/reports", body)
    error = bilingual_error_of(response, 422, "validation_failed")
    problems = {e["field"]: e["problem"] for e in error["details"]["errors"]}
    assert set(problems) == {"title", "reporter.name", "location.address"}
    assert f"U+{ord(character):04X}" in problems["title"]
    assert _writes(services) == 0


def test_a_control_character_in_a_command_field_is_422(api, services):
    report_id = api.post("/reports", VALID).json_body["report_id"]
    before = _writes(services)
    response = api.post(f"/reports/{report_id}/hold", {"question": "Di mana\x00 lokasinya?"}, token=NASIONAL)
    error = bilingual_error_of(response, 422, "validation_failed")
    assert [e["field"] for e in error["details"]["errors"]] == ["question"]
    assert _writes(services) == before


def test_tab_newline_and_carriage_return_stay_allowed(api):
    response = api.post("/reports", VALID | {"body": "Baris satu.\r\nBaris dua:\tlampu mati.\n"})
    assert response.status_code == 201, response.body


@pytest.mark.parametrize("path", ["/public/reports?region=64%00", "/public/reports?category=a%1Bb",
                                  "/queue?cursor=%00", "/regions?province=64%0A", "/rankings?level=province%09",
                                  "/stats/regions/64?period=2022&unused=%7F"])
def test_a_control_character_in_a_query_parameter_is_422_naming_it(api, path):
    response = api.get(path, token=NASIONAL)
    error = bilingual_error_of(response, 422, "validation_failed")
    name = path.split("?")[1].split("&")[-1].split("=")[0]
    assert [e["field"] for e in error["details"]["errors"]] == [name]


def test_a_control_character_in_the_correlation_id_is_422_and_writes_nothing(api, services):
    response = api.post("/reports", VALID, headers={"X-Correlation-Id": "abc\x00def"})
    error = bilingual_error_of(response, 422, "validation_failed")
    assert error["details"]["field"] == "X-Correlation-Id"
    assert _writes(services) == 0


# ------------------------------------------------------------------------------ the database at fault

def _failing_append(error: BaseException):
    def append(self, append) -> None:
        raise error
    return append


def test_a_database_failure_is_a_503_the_client_may_retry_and_no_report_is_acknowledged(api, services, monkeypatch):
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import PutError

    from chalicelib.store.dynamodb import DynamoDBEventStore

    # What DynamoDB Local answers when its disk is full (seen: InternalFailure on PutItem), as pynamodb raises it.
    disk_full = ClientError({"Error": {"Code": "InternalFailure", "Message": "The request processing has failed"}},
                            "PutItem")
    monkeypatch.setattr(DynamoDBEventStore, "append", _failing_append(PutError("Failed to put item", disk_full)))
    response = api.post("/reports", VALID)
    body = bilingual_error_of(response, 503, "storage_unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "Idempotency-Key" in body["message"] and body["pesan"]
    assert _writes(services) == 0


def test_an_unreachable_database_is_a_503_too(api, services, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.store.dynamodb import DynamoDBEventStore

    gone = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    monkeypatch.setattr(DynamoDBEventStore, "append", _failing_append(gone))
    bilingual_error_of(api.post("/reports", VALID), 503, "storage_unavailable")


def test_a_bug_is_still_a_500_not_a_retryable_503(api, services, monkeypatch):
    from chalicelib.store.dynamodb import DynamoDBEventStore

    monkeypatch.setattr(DynamoDBEventStore, "append", _failing_append(KeyError("a bug of ours")))
    bilingual_error_of(api.post("/reports", VALID), 500, "internal_error")
