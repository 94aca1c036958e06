"""Correlation ids over HTTP: taken from X-Correlation-Id when safe (else made), echoed in every answer —
JSON, errors, 405/OPTIONS, the HTML pages — and recorded in the events the request wrote; the request's log
lines carry it, and none of what a reporter typed reaches a log or a metric."""
from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest

from tests.support.api import body_of, error_of
from tests.support.builders import REPORT_JALAN_BERLUBANG, SITI
from tests.support.tokens import NASIONAL
from tests.web.html import parse

HEADER = "X-Correlation-Id"
NIK = "6472015506900001"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def test_a_safe_correlation_id_is_echoed_and_recorded_in_every_event_of_the_request(api, services):
    response = api.post("/reports", REPORT_JALAN_BERLUBANG, headers={HEADER: "mobile-app:req.42_A"})
    report_id = body_of(response, 201)["report_id"]
    assert response.headers[HEADER] == "mobile-app:req.42_A"
    verified = api.post(f"/reports/{report_id}/verification", {"institution_id": "pemkot-samarinda"},
                        token=NASIONAL, headers={HEADER: "console-7"})
    assert verified.status_code == 200, verified.body
    assert verified.headers[HEADER] == "console-7"
    events = services.store.load(report_id)
    assert [(e.type, e.correlation_id) for e in events] == [("ReportSubmitted", "mobile-app:req.42_A"),
                                                            ("ReportVerified", "console-7")]


def test_without_a_header_a_fresh_id_is_made_echoed_and_recorded(api, services):
    response = api.post("/reports", REPORT_JALAN_BERLUBANG)
    report_id = body_of(response, 201)["report_id"]
    made = response.headers[HEADER]
    assert _is_uuid(made)
    assert [e.correlation_id for e in services.store.load(report_id)] == [made]
    assert api.get("/health").headers[HEADER] != made  # one per request


@pytest.mark.parametrize("unsafe", ["x" * 129, "two words", "semi;colon", "<script>", "ünïcode", ""])
def test_an_unsafe_correlation_id_is_replaced_by_a_fresh_one_not_echoed(api, services, unsafe):
    response = api.post("/reports", REPORT_JALAN_BERLUBANG, headers={HEADER: unsafe})
    report_id = body_of(response, 201)["report_id"]
    echoed = response.headers[HEADER]
    assert echoed != unsafe and _is_uuid(echoed)
    assert [e.correlation_id for e in services.store.load(report_id)] == [echoed]


def test_a_control_character_in_the_header_of_a_command_is_still_refused_with_an_echoed_fresh_id(api):
    response = api.post("/reports", REPORT_JALAN_BERLUBANG, headers={HEADER: "abc\x00def"})
    error_of(response, 422, "validation_failed")
    assert _is_uuid(response.headers[HEADER])


@pytest.mark.parametrize("method, path, body, token, status", [
    ("GET", "/reports/LAP-0000000000", None, None, 404),  # refused before any read
    ("GET", "/queue", None, None, 403),  # the public has no queue
    ("POST", "/reports", {"title": ""}, None, 422),
    ("POST", "/reports", REPORT_JALAN_BERLUBANG, "not-a-jwt", 401),
    ("DELETE", "/health", None, None, 405),
    ("OPTIONS", "/reports", None, None, 204),
    ("HEAD", "/health", None, None, 200),
])
@pytest.mark.parametrize("sent", [None, "caller-77"])
def test_errors_and_other_methods_echo_the_id_too(api, method, path, body, token, status, sent):
    headers = {"Content-Type": "application/json"} | ({HEADER: sent} if sent else {}) \
        | ({"Authorization": f"Bearer {token}"} if token else {})
    response = api.client.http.request(method, path, headers=headers,
                                       body=json.dumps(body).encode() if body is not None else b"")
    assert response.status_code == status, response.body
    assert response.headers[HEADER] == sent if sent else _is_uuid(response.headers[HEADER])


def test_the_html_pages_echo_it_and_a_form_submission_records_it(client, services):
    form = client.http.get("/", headers={HEADER: "page-get-1"})
    assert form.status_code == 200 and form.headers[HEADER] == "page-get-1"
    page = parse(form.body.decode())
    cookie = "; ".join(line.split(";")[0] for line in ([form.headers["Set-Cookie"]]
                                                      if isinstance(form.headers["Set-Cookie"], str)
                                                      else form.headers["Set-Cookie"]))
    fields = {"csrf": page.value("csrf"), "idem": page.value("idem"), "type": "complaint",
              "title": "Jalan berlubang di Jl. Juanda", "body": "Lubang sedalam 30 cm di depan SDN 012.",
              "category_id": "infrastruktur.jalan-rusak", "region_code": "64.72"}
    receipt = client.http.post("/", body=urllib.parse.urlencode(fields).encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, HEADER: "page-post-1"})
    assert receipt.status_code == 201, receipt.body.decode()[:2000]
    assert receipt.headers[HEADER] == "page-post-1"
    report_id = parse(receipt.body.decode()).by_id("tracking-id").text.strip()
    assert [e.correlation_id for e in services.store.load(report_id)] == ["page-post-1"]
    missing = client.http.get("/lacak/LAP-0000000000", headers={HEADER: "page-404"})
    assert missing.status_code == 404 and missing.headers[HEADER] == "page-404"


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def test_the_request_is_logged_as_json_under_its_correlation_id(api, services, capfd):
    body_of(api.post("/reports", REPORT_JALAN_BERLUBANG, headers={HEADER: "log-me-1"}), 201)
    error_of(api.post("/reports/LAP-0000000000/hold", {"question": "?"}, token=NASIONAL,
                      headers={HEADER: "log-me-2"}), 404)
    logs = [line for line in _json_lines(capfd.readouterr().err) if line.get("message") == "request"]
    assert {(line["correlation_id"], line["operation"], line["status"], line.get("code")) for line in logs} >= {
        ("log-me-1", "submitReport", 201, None), ("log-me-2", "holdReport", 404, "report_not_found")}
    assert all(line["service"] == "lapor" and line["level"] == "INFO" for line in logs)


def test_a_submission_with_identity_puts_none_of_it_in_logs_or_metrics(api, services, capfd):
    identity = SITI | {"nik": NIK}
    report = REPORT_JALAN_BERLUBANG | {"reporter": identity}
    body_of(api.post("/reports", report, headers={HEADER: "identity-1"}), 201)
    refused = REPORT_JALAN_BERLUBANG | {"reporter": identity | {"email": "siti.rahma@"}}  # 422: a bad e-mail
    error_of(api.post("/reports", refused, headers={HEADER: "identity-2"}), 422)
    captured = capfd.readouterr()
    everything = captured.out + captured.err
    # The test can fail the other way too: the two requests were logged (and the submission counted).
    logged = {line.get("correlation_id") for line in _json_lines(captured.err) if line.get("message") == "request"}
    assert {"identity-1", "identity-2"} <= logged
    assert "ReportsSubmitted" in captured.out
    digits = "".join(ch for ch in SITI["phone"] if ch.isdigit())
    for secret in (SITI["name"], "Rahmawati", SITI["phone"], digits, digits[1:], SITI["email"], "siti.rahma", NIK):
        assert secret not in everything, secret
