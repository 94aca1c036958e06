"""Open311 end to end: `lapor serve` (DynamoDB Local, the stream pump) as a real subprocess, a key issued
with `lapor open311-key create`, an Open311 client submitting and polling its token over real HTTP (raw
form-encoded POST; `georeport` for the reads), the national admin verifying through the JSON API, and the
report seen `closed` once the reply window has passed (`lapor sweep --now`)."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from georeport import GeoReport

from tests.e2e.support import bearer, call, eventually, lapor, wait_for

JALAN = "infrastruktur.jalan-rusak"


def _form(url: str, fields: dict[str, str]) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def _issue(home, name: str) -> dict:
    printed = lapor(home, "open311-key", "create", name, "--rate-per-minute", "30").stdout
    issued, _ = json.JSONDecoder().raw_decode(printed)
    return issued


def _event_count(server) -> int:
    runtime = json.loads((server.home / "runtime.json").read_text())
    return server.dynamodb().scan(TableName=f"{runtime['table_prefix']}-events", Select="COUNT")["Count"]


def test_an_open311_app_submits_polls_its_token_and_follows_the_report_to_closed(local_server):
    server, home = local_server, local_server.home
    base = server.base + "/open311/v2"
    key = _issue(home, "Aplikasi Kota Samarinda")
    assert key["api_key"] not in lapor(home, "open311-key", "list", "--json").stdout

    status, content_type, body = _form(f"{base}/requests.json", {
        "api_key": key["api_key"], "service_code": JALAN, "lat": "-0.4948", "long": "117.1436",
        "description": "Jalan berlubang besar di depan pasar Segiri", "first_name": "Siti", "last_name": "Aisyah",
        "email": "siti@example.id", "attribute[report_type]": "complaint"})
    assert (status, content_type) == (201, "application/json; charset=utf-8"), body
    token = json.loads(body)[0]["token"]

    def token_says() -> dict:
        status, _, answer = _get(f"{base}/tokens/{token}.json")
        assert status == 200, answer
        return json.loads(answer)[0]

    assert "service_request_id" not in token_says()  # unverified: not public yet
    report_id = token.split(".")[0]
    admin = bearer(home, "--role", "admin_nasional")
    wait_for(server.base, report_id, admin, "submitted")
    status, verified = call("POST", f"{server.base}/reports/{report_id}/verification",
                            {"institution_id": "pemkot-samarinda", "region_code": "64.72", "title": "Jalan berlubang"},
                            admin)
    assert status == 200, verified
    found = eventually(lambda: token_says().get("service_request_id"), "the token to give the id")
    assert found == report_id

    for fmt in ("json", "xml"):
        client = GeoReport(base, jurisdiction="lapor.go.id", output_format=fmt)
        record = client.get_service_request(report_id)
        assert (record["status"], record["agency_responsible"]) == ("open", "Pemerintah Kota Samarinda")
        assert record["requested_datetime"].endswith("+08:00")  # WITA
        listed = client.get_service_requests(service_code=JALAN, status="open")
        listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one element is a dict
        assert [r["service_request_id"] for r in listed] == [report_id]
        assert not {"email", "first_name", "last_name", "phone"} & set(record)
    status, content_type, xml = _get(f"{base}/requests/{report_id}.xml")
    assert (status, content_type) == (200, "text/xml; charset=utf-8")
    root = ET.fromstring(xml)
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == report_id

    institution = bearer(home, "--role", "admin_instansi", "--institution", "pemkot-samarinda")
    status, answered = call("POST", f"{server.base}/reports/{report_id}/follow-ups",
                            {"message": "Jalan sudah ditambal.", "final": True}, institution)
    assert status == 200, answered
    wait_for(server.base, report_id, admin, "answered")
    # The Open311 reporter holds no LAPOR report token to accept with: the reply window closes it.
    later = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    lapor(home, "sweep", "--now", later)
    wait_for(server.base, report_id, admin, "closed")
    for fmt in ("json", "xml"):
        record = GeoReport(base, output_format=fmt).get_service_request(report_id)
        assert record["status"] == "closed" and "reply window passed" in record["status_notes"]


def test_a_bad_or_revoked_key_writes_nothing(local_server):
    server, home = local_server, local_server.home
    base = server.base + "/open311/v2"
    key = _issue(home, "Aplikasi Lama")
    form = {"service_code": JALAN, "address_string": "Jl. Juanda, Samarinda",
            "description": "Jalan berlubang besar di depan pasar Segiri"}
    revoked = lapor(home, "open311-key", "revoke", key["key_id"]).stdout
    assert key["key_id"] in revoked and "revoked" in revoked
    assert "revoked" in lapor(home, "open311-key", "list").stdout
    before = _event_count(server)
    for presented in (key["api_key"], key["api_key"][:-3] + "abc", ""):
        for fmt in ("json", "xml"):
            status, _, body = _form(f"{base}/requests.{fmt}", form | {"api_key": presented})
            assert status == 403, body
            if fmt == "xml":
                assert ET.fromstring(body).findtext("error/code") == "403"
            else:
                assert json.loads(body)[0]["code"] == 403
    assert _event_count(server) == before == 0
    status, queue = call("GET", f"{server.base}/queue", headers=bearer(home, "--role", "admin_nasional"))
    assert status == 200 and queue["reports"] == []
