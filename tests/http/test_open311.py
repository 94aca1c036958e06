"""Open311 GeoReport v2 under /open311/v2/, over real HTTP (the `lapor serve` HTTP server on in-process moto).

The read methods are driven by a real client, `georeport` (unmodified), in both of its output formats; POST,
tokens and discovery (which it does not implement) by plain form-encoded `requests`. XML is parsed with a real
XML parser and its element names checked against the spec (research/peers.md A.2-A.4).
"""
from __future__ import annotations

import json
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

import boto3
import pytest
import requests
from chalice.config import Config
from georeport import GeoReport

from chalicelib.services.sweep import sweep
from infra.local.http_server import create_http_server
from infra.tables import EVENTS, OPEN311_KEYS
from tests.support.api import body_of, error_of
from tests.support.builders import REPORT_JALAN_BERLUBANG
from tests.support.tokens import ADMIN_SAMARINDA, NASIONAL, SAMARINDA

JALAN, DRAINASE = "infrastruktur.jalan-rusak", "infrastruktur.drainase"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
REPORTER_FIELDS = {"email", "first_name", "last_name", "phone", "requestor_name", "reporter_ref", "account_id",
                   "device_id", "name", "nik"}
SAMARINDA_NAME = "Pemerintah Kota Samarinda"


class Server:
    """infra.local.http_server (what `lapor serve` runs) on a free port, in a thread."""

    def __init__(self) -> None:
        import app as app_module

        config = Config.create(chalice_stage="local", app_name="lapor", lambda_timeout=30, lambda_memory_size=512)
        self.http = create_http_server(app_module.app, config, "127.0.0.1", 0)
        self.root = f"http://127.0.0.1:{self.http.server.server_address[1]}"
        self.base = self.root + "/open311/v2"
        threading.Thread(target=self.http.server.serve_forever, name="open311-http", daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server.server_close()


@pytest.fixture
def server(services):
    running = Server()
    yield running
    running.close()


@pytest.fixture
def o311(server, api, services, pump, clock):
    return Open311(server, api, services, pump, clock)


class Open311:
    """The world of one test: an issued key, helpers to submit through Open311 and to handle through the JSON API."""

    def __init__(self, server: Server, api, services, pump, clock) -> None:
        self.server, self.api, self.services, self.pump, self.clock = server, api, services, pump, clock
        self.key = self.issue_key("Aplikasi Lapor Kota")["api_key"]

    def issue_key(self, name: str, **extra: Any) -> dict[str, Any]:
        return body_of(self.api.post("/open311-keys", {"name": name} | extra, token=NASIONAL), 201)

    def post(self, fields: dict[str, Any] | list[tuple[str, str]], fmt: str = "json", *, key: str | None = "own",
             headers: dict[str, str] | None = None) -> requests.Response:
        data = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if key is not None:
            data.append(("api_key", self.key if key == "own" else key))
        return requests.post(f"{self.server.base}/requests.{fmt}", data=data, headers=headers, timeout=10)

    def submit(self, **fields: Any) -> tuple[str, str]:
        """POST requests.json; (report id, token)."""
        self.clock.advance(minutes=1)
        form = {"service_code": JALAN, "lat": "-0.4948", "long": "117.1436",
                "description": "Jalan berlubang besar di depan pasar Segiri"} | fields
        answer = self.post(form)
        assert answer.status_code == 201, answer.text
        token = answer.json()[0]["token"]
        return token.split(".")[0], token

    def verify(self, report_id: str, **extra: Any) -> None:
        self.clock.advance(minutes=1)
        body_of(self.api.post(f"/reports/{report_id}/verification",
                              {"institution_id": SAMARINDA, "region_code": "64.72", "title": "Jalan berlubang"} | extra,
                              token=NASIONAL), 200)

    def finish(self, report_id: str) -> None:
        """The final answer, then the reply window passes and the sweep closes the report (DOMAIN §6)."""
        self.clock.advance(minutes=1)
        body_of(self.api.post(f"/reports/{report_id}/follow-ups", {"message": "Jalan sudah ditambal.", "final": True},
                              token=ADMIN_SAMARINDA), 200)
        self.pump.drain()
        self.clock.advance(days=20)
        sweep(self.services, self.clock())
        self.pump.drain()

    def get(self, path: str, **params: str) -> requests.Response:
        return requests.get(f"{self.server.base}/{path}", params=params, timeout=10)

    def client(self, fmt: str) -> GeoReport:
        return GeoReport(self.server.base, jurisdiction="lapor.go.id", output_format=fmt)

    def events(self) -> list[dict[str, Any]]:
        table = self.services.settings.table_names[EVENTS]
        return boto3.client("dynamodb").scan(TableName=table)["Items"]

    def counters(self) -> list[dict[str, Any]]:
        table = self.services.settings.table_names[OPEN311_KEYS]
        return [item for item in boto3.client("dynamodb").scan(TableName=table)["Items"]
                if item["pk"]["S"].startswith("rate#")]


def xml_of(response: requests.Response, status: int = 200) -> ET.Element:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def json_of(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def open311_error(response: requests.Response, status: int, fmt: str) -> str:
    """The spec's error shape; returns the description."""
    if fmt == "json":
        errors = json_of(response, status)
        assert isinstance(errors, list) and len(errors) == 1 and set(errors[0]) == {"code", "description"}
        assert errors[0]["code"] == status and errors[0]["description"]
        return errors[0]["description"]
    root = xml_of(response, status)
    assert root.tag == "errors" and [child.tag for child in root] == ["error"]
    assert [child.tag for child in root[0]] == ["code", "description"]
    assert root.findtext("error/code") == str(status) and root.findtext("error/description")
    return root.findtext("error/description")


def as_list(value: Any) -> list[Any]:
    """xmltodict makes a one-element list a dict (peers.md A.6)."""
    return value if isinstance(value, list) else [value]


# -------------------------------------------------------------------------------------------- discovery

def test_discovery_names_the_endpoint_its_spec_and_both_formats(o311):
    discovery = json_of(o311.get("discovery.json"))
    endpoint = discovery["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == o311.server.base  # as the client called it
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert discovery["changeset"].endswith("+07:00") and discovery["key_service"] and discovery["contact"]

    root = xml_of(o311.get("discovery.xml"))
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    assert [e.tag for e in root.find("endpoints")] == ["endpoint"]
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/url") == o311.server.base


# --------------------------------------------------------------------------------------------- services

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_service_list_is_the_category_trees_leaves(o311, services, fmt):
    listed = o311.client(fmt).get_service_list()
    leaves = [c for c in services.reference.categories.values() if services.reference.is_leaf_category(c.id)]
    assert [s["service_code"] for s in listed] == [c.id for c in leaves]
    jalan = next(s for s in listed if s["service_code"] == JALAN)
    assert (jalan["service_name"], jalan["group"], jalan["type"]) == ("Jalan Rusak", "Infrastruktur", "batch")
    assert jalan["metadata"] in (True, "true")  # JSON boolean; XML text
    if fmt == "xml":
        root = xml_of(o311.get("services.xml"))
        assert root.tag == "services" and {child.tag for child in root} == {"service"}
        assert [e.tag for e in root[0]] == ["service_code", "service_name", "description", "metadata", "type",
                                            "keywords", "group"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_service_definition_offers_the_report_type_and_region_as_attributes(o311, fmt):
    definition = o311.client(fmt).get_service_definition(JALAN)
    assert definition["service_code"] == JALAN
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    by_code = {a["code"]: a for a in attributes}
    assert list(by_code) == ["report_type", "region_code", "title", "institution_id", "anonymous", "confidential"]
    report_type = by_code["report_type"]
    assert report_type["datatype"] == "singlevaluelist"
    values = report_type["values"] if fmt == "json" else report_type["values"]["value"]
    assert [v["key"] for v in values] == ["complaint", "aspiration", "information_request"]
    assert by_code["region_code"]["datatype"] == "string"
    assert [str(a["order"]) for a in attributes] == ["1", "2", "3", "4", "5", "6"]  # unique, positive
    assert all(str(a["required"]).lower() == "false" for a in attributes)  # generic apps must still be able to post


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_services_formats_and_jurisdictions_are_404_in_the_spec_shape(o311, fmt):
    with pytest.raises(requests.HTTPError):
        o311.client(fmt).get_service_definition("infrastruktur")  # a group, not a service
    assert "not found" in open311_error(o311.get(f"services/nope.{fmt}"), 404, fmt)
    assert "jurisdiction" in open311_error(o311.get(f"services.{fmt}", jurisdiction_id="jakarta.go.id"), 404, fmt)
    open311_error(o311.get(f"requests/LAP-2222222222.{fmt}"), 404, fmt)
    open311_error(o311.get(f"requests/not-an-id.{fmt}"), 404, fmt)
    open311_error(o311.get("requests/LAP-2222222222.html"), 404, "xml")  # XML, the mandatory format


# ------------------------------------------------------------------------------------------- submitting

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_answers_a_token_and_records_the_app_as_channel_detail(o311, services, fmt):
    answer = o311.post({"service_code": JALAN, "address_string": "Jl. Juanda, Samarinda",
                        "description": "Jalan berlubang besar di depan pasar Segiri",
                        "attribute[report_type]": "aspiration", "attribute[region_code]": "64.72"}, fmt)
    if fmt == "json":
        created = json_of(answer, 201)
        assert len(created) == 1 and set(created[0]) == {"token", "service_notice"}
        token = created[0]["token"]
    else:
        root = xml_of(answer, 201)
        assert root.tag == "service_requests" and [e.tag for e in root] == ["request"]
        assert [e.tag for e in root[0]] == ["token", "service_notice"]
        token = root.findtext("request/token")
    report_id = token.split(".")[0]
    [submitted] = services.store.load(report_id)
    assert (submitted.type, submitted.channel) == ("ReportSubmitted", "open311")
    assert submitted.event.channel_detail == "Aplikasi Lapor Kota"
    assert (submitted.event.report_type, submitted.event.region_code) == ("aspiration", "64.72")
    assert submitted.event.location == {"address": "Jl. Juanda, Samarinda"}


def test_personal_fields_go_only_to_the_personal_data_record(o311, services):
    report_id, _ = o311.submit(first_name="Siti Nur", last_name="Aisyah", email="siti@example.id",
                               phone="0812-3456-7890")
    [submitted] = services.store.load(report_id)
    stored = json.dumps(submitted.to_dict())
    for personal in ("Siti", "Aisyah", "siti@example.id", "3456", "7890"):
        assert personal not in stored
    record = services.store.get_personal(submitted.event.reporter_ref).to_dict()
    assert (record["name"], record["email"]) == ("Siti Nur Aisyah", "siti@example.id")
    assert record["phone"] == "+6281234567890"  # normalized as the JSON API does


def test_a_submission_without_personal_fields_has_no_reporter_record(o311, services):
    report_id, _ = o311.submit()
    assert services.store.load(report_id)[0].event.reporter_ref is None


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("form, status, words", [
    ({"service_code": JALAN, "description": "Jalan berlubang besar di depan pasar"}, 400, "location is required"),
    ({"service_code": JALAN, "lat": "-0.5", "description": "Jalan berlubang besar di depan pasar"}, 400, "together"),
    ({"service_code": JALAN, "lat": "95", "long": "117", "description": "Jalan berlubang besar"}, 400, "lat must be"),
    ({"service_code": JALAN, "lat": "nan", "long": "117", "description": "Jalan berlubang besar"}, 400, "decimal"),
    ({"service_code": JALAN, "address_id": "123", "description": "Jalan berlubang besar"}, 400, "address_id"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan <b>rusak</b> parah sekali"}, 400,
     "HTML"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "x" * 4001}, 400, "at most 4000"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda"}, 400, "description is required"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar",
      "attribute[report_type]": "gossip"}, 400, "report_type"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar",
      "attribute[requires_inspection]": "true"}, 400, "not an attribute"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar",
      "attribute[region_code]": "99.99"}, 400, "region"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar",
      "phone": "12"}, 400, "phone"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar",
      "nickname": "x"}, 400, "not a field"),
    ({"service_code": "infrastruktur", "address_string": "Jl. Juanda", "description": "Jalan berlubang besar"},
     404, "service_code"),
    ({"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar",
      "jurisdiction_id": "jakarta.go.id"}, 404, "jurisdiction"),
])
def test_invalid_input_is_refused_in_the_spec_shape_and_writes_nothing(o311, form, status, words, fmt):
    assert words in open311_error(o311.post(form, fmt), status, fmt)
    assert o311.events() == [] and o311.counters() == []  # not even the key's request counter


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_field_sent_twice_or_a_body_that_is_not_a_form_is_400(o311, fmt):
    twice = [("service_code", JALAN), ("address_string", "a"), ("address_string", "b"),
             ("description", "Jalan berlubang besar")]
    assert "2 times" in open311_error(o311.post(twice, fmt), 400, fmt)
    as_json = requests.post(f"{o311.server.base}/requests.{fmt}", data=json.dumps({"api_key": o311.key}),
                            headers={"Content-Type": "application/json"}, timeout=10)
    open311_error(as_json, 400, fmt)
    assert o311.events() == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("key", [None, "", "nonsense", "k000000000000.secret", "own-altered"])
def test_a_missing_or_wrong_api_key_is_403_and_writes_nothing(o311, key, fmt):
    presented = o311.key[:-2] + "xx" if key == "own-altered" else key
    form = {"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar"}
    open311_error(o311.post(form, fmt, key=presented), 403, fmt)
    assert o311.events() == [] and o311.counters() == []


def test_a_revoked_key_is_403_from_its_next_request_on_and_writes_nothing(o311):
    issued = o311.issue_key("Aplikasi Lama")
    form = {"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar"}
    assert o311.post(form, key=issued["api_key"]).status_code == 201
    before = len(o311.events())
    revoked = body_of(o311.api.post(f"/open311-keys/{issued['key_id']}/revocation", token=NASIONAL), 200)
    assert revoked["revoked_at"] and revoked["revoked_by"] == "admin_nasional-user"
    open311_error(o311.post(form, "xml", key=issued["api_key"]), 403, "xml")
    assert len(o311.events()) == before
    assert o311.post(form).status_code == 201  # other keys are unaffected


def test_over_its_rate_limit_a_key_gets_429_and_nothing_is_written_until_the_next_minute(o311):
    limited = o311.issue_key("Aplikasi Cepat", rate_per_minute=2)["api_key"]
    form = {"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar"}
    assert [o311.post(form, key=limited).status_code for _ in range(2)] == [201, 201]
    events = len(o311.events())
    refused = o311.post(form, "xml", key=limited)
    assert "2 requests a minute" in open311_error(refused, 429, "xml")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(o311.events()) == events
    assert o311.post(form).status_code == 201  # the limit is per key
    o311.clock.advance(minutes=1)
    assert o311.post(form, key=limited).status_code == 201


def test_a_retry_with_the_same_idempotency_key_answers_the_same_token_and_writes_once(o311):
    form = {"service_code": JALAN, "address_string": "Jl. Juanda", "description": "Jalan berlubang besar"}
    first = o311.post(form, headers={"Idempotency-Key": "app-retry-0001"})
    again = o311.post(form, headers={"Idempotency-Key": "app-retry-0001"})
    assert json_of(first, 201) == json_of(again, 201)
    assert len(o311.events()) == 1


# ---------------------------------------------------------------------------------------------- tokens

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_token_gives_the_id_once_the_report_is_verified_and_public(o311, fmt):
    report_id, token = o311.submit()
    o311.pump.drain()

    def token_answer() -> dict[str, str]:
        response = o311.get(f"tokens/{token}.{fmt}")
        if fmt == "json":
            [record] = json_of(response)
            return record
        root = xml_of(response)
        assert root.tag == "service_requests" and [e.tag for e in root] == ["request"]
        return {child.tag: child.text for child in root[0]}

    pending = token_answer()
    assert pending["token"] == token and "service_request_id" not in pending
    assert "not yet verified" in pending["service_notice"]
    o311.verify(report_id)
    o311.pump.drain()
    assert token_answer() == {"service_request_id": report_id, "token": token}


def test_a_token_explains_an_archived_or_confidential_report_and_a_forged_one_is_404(o311):
    archived_id, archived = o311.submit()
    body_of(o311.api.post(f"/reports/{archived_id}/archive", {"reason": "spam"}, token=NASIONAL), 200)
    secret_id, secret = o311.submit(**{"attribute[confidential]": "true"})
    o311.verify(secret_id)
    o311.pump.drain()
    assert "archived" in json_of(o311.get(f"tokens/{archived}.json"))[0]["service_notice"]
    [confidential] = json_of(o311.get(f"tokens/{secret}.json"))
    assert "confidential" in confidential["service_notice"] and "service_request_id" not in confidential
    for forged in (archived_id, f"{archived_id}.{'0' * 32}", secret[:-1] + ("1" if secret[-1] != "1" else "2")):
        open311_error(o311.get(f"tokens/{forged}.json"), 404, "json")


# -------------------------------------------------------------------------------------------- reading

@pytest.fixture
def reports(o311):
    """Five Open311 reports: public open, public closed, anonymous, confidential, unverified (oldest first)."""
    ids = {}
    ids["open"], _ = o311.submit(address_string="Jl. Juanda No. 3")
    ids["closed"], _ = o311.submit(service_code=DRAINASE)
    ids["anonymous"], _ = o311.submit(**{"attribute[anonymous]": "true", "first_name": "Budi", "email": "b@x.id"})
    ids["confidential"], _ = o311.submit(**{"attribute[confidential]": "true"})
    ids["unverified"], _ = o311.submit()
    for name in ("open", "closed", "anonymous", "confidential"):
        o311.verify(ids[name])
    o311.pump.drain()
    o311.finish(ids["closed"])
    return ids


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_request_list_holds_only_public_reports_newest_first(o311, reports, fmt):
    listed = as_list(o311.client(fmt).get_service_requests())
    assert [r["service_request_id"] for r in listed] == [reports["anonymous"], reports["closed"], reports["open"]]
    for record in listed:
        assert set(record) <= REQUEST_FIELDS and not set(record) & REPORTER_FIELDS
    if fmt == "xml":
        root = xml_of(o311.get("requests.xml"))
        assert root.tag == "service_requests" and {e.tag for e in root} == {"request"}
        assert all({child.tag for child in request} <= REQUEST_FIELDS for request in root)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_request_list_filters_by_service_status_date_and_id(o311, reports, fmt):
    client = o311.client(fmt)

    def ids(**filters: str) -> list[str]:
        if fmt == "xml" and not xml_of(o311.get("requests.xml", **filters)).findall("request"):
            # georeport cannot read an empty XML list: xmltodict makes <service_requests/> None (A.6).
            with pytest.raises(TypeError):
                client.get_service_requests(**filters)
            return []
        return [r["service_request_id"] for r in as_list(client.get_service_requests(**filters))]

    assert ids(service_code=DRAINASE) == [reports["closed"]]
    assert ids(service_code=f"{JALAN},{DRAINASE}") == [reports["anonymous"], reports["closed"], reports["open"]]
    assert ids(status="closed") == [reports["closed"]]
    assert ids(status="open") == [reports["anonymous"], reports["open"]]
    assert ids(status="open,closed") == [reports["anonymous"], reports["closed"], reports["open"]]
    asked = [reports["open"], reports["confidential"], reports["unverified"], reports["closed"], "LAP-2222222222",
             "nonsense"]
    assert ids(service_request_id=",".join(asked)) == [reports["open"], reports["closed"]]
    # service_request_id overrides every other argument (A.2)
    assert ids(service_request_id=reports["open"], status="closed") == [reports["open"]]
    first = o311.services.store.load(reports["open"])[0].occurred_at
    assert ids(start_date=first, end_date=first) == [reports["open"]]
    assert ids(end_date="2026-03-01T00:00:00+07:00") == []
    assert ids(start_date="2026-03-03T00:00:00Z") == []  # every report was made on 2 March


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_maps_status_agency_and_datetimes_with_the_institutions_offset(o311, reports, fmt):
    client = o311.client(fmt)
    opened = client.get_service_request(reports["open"])
    closed = client.get_service_request(reports["closed"])
    assert (opened["status"], closed["status"]) == ("open", "closed")
    assert opened["status_notes"].startswith("LAPOR status disposed")
    assert "reply window passed" in closed["status_notes"] and "Jalan sudah ditambal." in closed["status_notes"]
    assert opened["agency_responsible"] == closed["agency_responsible"] == SAMARINDA_NAME
    assert (opened["service_code"], opened["service_name"]) == (JALAN, "Jalan Rusak")
    assert opened["description"] == "Jalan berlubang besar di depan pasar Segiri"
    assert opened["address"] == "Jl. Juanda No. 3" and float(opened["lat"]) == -0.4948
    assert float(opened["long"]) == 117.1436
    # Samarinda is WITA: 2 March 2026 02:0x UTC is 10:0x +08:00; the resolution deadline ends at 17:00 there.
    assert opened["requested_datetime"].startswith("2026-03-02T10:0")
    assert opened["requested_datetime"].endswith("+08:00")
    assert opened["expected_datetime"].endswith("T17:00:00+08:00")
    assert "14 working days" in opened["service_notice"]
    assert "expected_datetime" not in closed and closed["updated_datetime"].endswith("+08:00")
    closed_at = o311.services.views.get(reports["closed"])["closed"]["at"]
    assert closed["updated_datetime"][:10] == closed_at[:10]  # the closing time (A.3)
    if fmt == "json":  # a single request is still a list (A.2 #6)
        assert isinstance(json_of(o311.get(f"requests/{reports['open']}.json")), list)
    else:
        root = xml_of(o311.get(f"requests/{reports['open']}.xml"))
        assert root.tag == "service_requests" and [e.tag for e in root] == ["request"]
        assert [e.tag for e in root[0]] == [
            "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
            "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
            "address", "lat", "long"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_anonymous_reports_have_no_reporter_field_and_no_location_and_hidden_ones_do_not_exist(o311, reports, fmt):
    anonymous = o311.client(fmt).get_service_request(reports["anonymous"])
    assert not set(anonymous) & (REPORTER_FIELDS | {"lat", "long", "address"})
    everything = json.dumps(o311.client(fmt).get_service_requests())
    for personal in ("Budi", "b@x.id", "RPT-"):
        assert personal not in everything
    for hidden in ("confidential", "unverified"):
        open311_error(o311.get(f"requests/{reports[hidden]}.{fmt}"), 404, fmt)
        assert reports[hidden] not in everything


def test_pages_follow_the_link_header_without_gaps_or_duplicates(o311, reports):
    more = [o311.submit()[0] for _ in range(2)]
    for report_id in more:
        o311.verify(report_id)
    o311.pump.drain()
    url, seen, pages = f"{o311.server.base}/requests.json?page_size=2", [], 0
    while url:
        response = requests.get(url, timeout=10)
        seen += [r["service_request_id"] for r in json_of(response)]
        pages += 1
        link = response.headers.get("Link")
        url = urllib.parse.urljoin(url, link.split(">")[0][1:]) if link else None
        assert link is None or link.endswith('; rel="next"')
    assert seen == [*reversed(more), reports["anonymous"], reports["closed"], reports["open"]]
    assert pages == 3


@pytest.mark.parametrize("query, words", [
    ({"page": "2"}, "Link header"), ({"page": "bm90LWEtY3Vyc29y.0000"}, "cursor"), ({"page_size": "101"}, "page_size"),
    ({"page_size": "0"}, "page_size"), ({"status": "pending"}, "status"), ({"service_code": "nope"}, "service_code"),
    ({"start_date": "2026-03-01"}, "zone"), ({"start_date": "yesterday"}, "W3C"),
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, "90 days"),
    ({"start_date": "2026-03-02T00:00:00Z", "end_date": "2026-03-01T00:00:00Z"}, "after"),
    ({"service_request_id": ",".join(f"LAP-{n:010d}" for n in range(101))}, "at most 100"),
])
def test_bad_list_arguments_are_400(o311, query, words):
    assert words in open311_error(o311.get("requests.json", **query), 400, "json")


def test_the_default_window_is_the_last_90_days(o311, reports):
    assert len(json_of(o311.get("requests.json"))) == 3
    o311.clock.advance(days=91)
    assert json_of(o311.get("requests.json")) == []
    assert len(json_of(o311.get("requests.json", start_date="2026-03-01T00:00:00+07:00"))) == 3


# ------------------------------------------------------------------------------------------------- cost

class Calls:
    """Every DynamoDB request of the services' boto3 client and of pynamodb, except the 5-second generation
    cache's GetItem on the control table (its timing is the wall clock's, not the request's)."""

    def __init__(self, services, monkeypatch) -> None:
        from pynamodb.connection.base import Connection

        self.names: list[str] = []
        control = services.settings.table_names["control"]
        original = Connection._make_api_call

        def pynamodb_call(connection, operation, kwargs):
            self.names.append(operation)
            return original(connection, operation, kwargs)

        def boto3_call(params, model, **_):  # before-parameter-build: `params` are still the call's arguments
            if params.get("TableName") != control:
                self.names.append(model.name)

        monkeypatch.setattr(Connection, "_make_api_call", pynamodb_call)
        services.dynamodb().meta.events.register("before-parameter-build.dynamodb", boto3_call)


def test_reads_cost_one_request_per_report_and_two_per_page_whatever_the_number_of_reports(o311, reports,
                                                                                         monkeypatch):
    _, token = o311.submit()
    calls = Calls(o311.services, monkeypatch)
    for path in (f"requests/{reports['open']}.json", f"tokens/{token}.xml"):
        calls.names.clear()
        assert o311.get(path).status_code == 200
        assert calls.names == ["GetItem"], path
    for query in ({}, {"service_code": JALAN}, {"service_code": f"{JALAN},{DRAINASE}", "status": "open"},
                  {"page_size": "1"}, {"service_request_id": f"{reports['open']},{reports['closed']}"}):
        calls.names.clear()
        assert o311.get("requests.xml", **query).status_code == 200
        assert calls.names == (["BatchGetItem"] if "service_request_id" in query else ["Query", "BatchGetItem"]), query
    calls.names.clear()
    assert o311.get("services.json").status_code == 200 and o311.get("requests/nonsense.json").status_code == 404
    assert calls.names == []
    calls.names.clear()
    assert o311.post({"service_code": JALAN, "lat": "-0.5", "long": "117.1",
                      "description": "Jalan berlubang besar"}).status_code == 201
    assert calls.names == ["GetItem", "UpdateItem", "PutItem"]  # the key, its counter, the event


# ---------------------------------------------------------------------------------------- admin keys

def test_keys_are_issued_listed_and_revoked_by_the_national_admin_only(o311):
    o311.clock.advance(minutes=1)  # listed oldest first
    issued = o311.issue_key("Aplikasi Warga", rate_per_minute=30)
    assert issued["api_key"].startswith(issued["key_id"] + ".") and issued["rate_per_minute"] == 30
    listed = body_of(o311.api.get("/open311-keys", token=NASIONAL), 200)["keys"]
    assert [k["name"] for k in listed] == ["Aplikasi Lapor Kota", "Aplikasi Warga"]
    assert not any("api_key" in k or "key_hash" in k for k in listed)
    assert issued["api_key"] not in json.dumps(boto3.client("dynamodb").scan(
        TableName=o311.services.settings.table_names[OPEN311_KEYS])["Items"])  # only its SHA-256 is stored
    for token in (ADMIN_SAMARINDA, None):
        assert o311.api.post("/open311-keys", {"name": "x"}, token=token).status_code == 403
        assert o311.api.get("/open311-keys", token=token).status_code == 403
        assert o311.api.post(f"/open311-keys/{issued['key_id']}/revocation", token=token).status_code == 403
    error_of(o311.api.post("/open311-keys/k000000000000/revocation", token=NASIONAL), 404, "not_found")
    error_of(o311.api.post("/open311-keys/not-a-key/revocation", token=NASIONAL), 404, "not_found")
    error_of(o311.api.post("/open311-keys", {"name": "x", "rate_per_minute": 0}, token=NASIONAL), 422)
    first = body_of(o311.api.post(f"/open311-keys/{issued['key_id']}/revocation", token=NASIONAL), 200)
    again = body_of(o311.api.post(f"/open311-keys/{issued['key_id']}/revocation", token=NASIONAL), 200)
    assert first["revoked_at"] == again["revoked_at"]


def test_the_json_api_and_open311_show_the_same_report_the_same_way(o311, reports, api):
    """Both APIs answer from one rule: a report the public JSON API hides is hidden here too."""
    for name, report_id in reports.items():
        public = api.get(f"/reports/{report_id}").status_code
        open311 = o311.get(f"requests/{report_id}.json").status_code
        assert public == open311, name
    listed = {r["report_id"] for r in body_of(api.get("/public/reports"), 200)["reports"]}
    assert listed == {r["service_request_id"] for r in json_of(o311.get("requests.json"))}


def test_reports_submitted_through_the_json_api_are_listed_too(o311, api):
    created = body_of(api.post("/reports", REPORT_JALAN_BERLUBANG), 201)
    o311.verify(created["report_id"])
    o311.pump.drain()
    [record] = json_of(o311.get("requests.json"))
    assert (record["service_request_id"], record["status"]) == (created["report_id"], "open")
