"""chalicelib.open311.mapping and .formats, purely: statuses, offsets, deadlines, tokens, forms, XML, errors."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.vocabulary import Status
from chalicelib.errors import Forbidden, NotFound, RateLimited, UnsupportedMediaType, ValidationFailed
from chalicelib.http.routes import LOCATION
from chalicelib.open311 import mapping as m
from chalicelib.open311.formats import error_response, open311_status, to_xml
from chalicelib.reference import load_reference

REFERENCE = load_reference()
SECRET = "unit-test-secret-0123456789"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def form(fields: dict[str, str] | None = None) -> dict[str, list[str]]:
    base = {"service_code": "infrastruktur.jalan-rusak", "lat": "-0.5", "long": "117.15",
            "description": "Jalan berlubang di depan pasar"}
    return {name: [value] for name, value in (base | (fields or {})).items()}


def view(status: str = Status.IN_PROGRESS, **extra) -> dict:
    return {"report_id": "LAP-2345678923", "status": status, "body": "Jalan berlubang", "report_type": "complaint",
            "category_id": "infrastruktur.jalan-rusak", "institution_id": "pemkot-samarinda", "region_code": "64.72",
            "submitted_at": "2026-03-02T02:00:00.000Z", "updated_at": "2026-03-03T03:00:00.000Z",
            "deadlines": {"follow_up": "2026-03-09T09:00:00.000Z", "resolution": "2026-03-20T09:00:00.000Z"},
            "follow_ups": []} | extra


@pytest.mark.parametrize("status", list(Status))
def test_only_closed_and_archived_are_closed(status):
    assert m.open311_status(status) == ("closed" if status in (Status.CLOSED, Status.ARCHIVED) else "open")


def test_every_lapor_status_has_notes_that_name_it():
    for status in Status:
        if status != Status.NEW:
            assert m.status_notes({"status": status}, "Pemkot X").startswith(f"LAPOR status {status}: ")


@pytest.mark.parametrize("institution, region, offset", [
    ("pemkot-samarinda", "64.72", "+08:00"),  # WITA
    ("pemprov-kepri", "21", "+07:00"),  # WIB
    (None, "81.01", "+09:00"),  # no institution yet: the region's zone (Maluku Tengah, WIT)
    (None, "", "+07:00"),  # no region either (SMS, Open311 before verification): Jakarta's
])
def test_datetimes_carry_the_handling_zones_offset(institution, region, offset):
    record = m.request_record(view(institution_id=institution, region_code=region), REFERENCE)
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert record[name].endswith(offset), (name, record[name])
        parsed = datetime.fromisoformat(record[name])
        assert parsed.tzinfo is not None
    assert datetime.fromisoformat(record["requested_datetime"]) == datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def test_the_expected_datetime_is_the_running_deadline():
    assert m.expected_at(view(Status.SUBMITTED, deadlines={"verification": "v"})) == "v"
    assert m.expected_at(view(Status.IN_PROGRESS)) == "2026-03-20T09:00:00.000Z"  # resolution, not follow-up
    assert m.expected_at(view(Status.ANSWERED, deadlines={"reply": "r", "resolution": "x"})) == "r"
    assert m.expected_at(view(Status.CLOSED)) is None


def test_a_closed_request_is_updated_when_it_closed_and_says_why():
    closed = view(Status.CLOSED, closed={"at": "2026-03-30T10:00:00.000Z", "reason": "accepted"},
                  follow_ups=[{"message": "Sudah ditambal", "final": True}])
    record = m.request_record(closed, REFERENCE)
    assert record["updated_datetime"] == "2026-03-30T18:00:00+08:00"
    assert "reporter accepted" in record["status_notes"] and "Sudah ditambal" in record["status_notes"]
    assert "expected_datetime" not in record and record["status"] == "closed"


def test_a_record_has_only_spec_fields_and_no_location_when_the_presenter_removed_it():
    record = m.request_record(view(reporter_ref="RPT-1", anonymous=True), REFERENCE)
    assert list(record) == ["service_request_id", "status", "status_notes", "service_name", "service_code",
                            "description", "agency_responsible", "service_notice", "requested_datetime",
                            "updated_datetime", "expected_datetime"]
    located = m.request_record(view(location={"lat": -0.5, "lon": 117.1, "address": "Jl. A"}), REFERENCE)
    assert (located["lat"], located["long"], located["address"]) == (-0.5, 117.1, "Jl. A")


def test_inspection_changes_the_service_notice():
    assert "14 working days" in m.service_notice("complaint", False)
    assert "60 working days" in m.service_notice("complaint", True)
    assert "5 working days" in m.service_notice("aspiration", False)


def test_a_token_is_verified_without_storage_and_cannot_be_forged():
    token = m.issue_token(SECRET, "LAP-2345678923")
    assert token.startswith("LAP-2345678923.") and m.report_of_token(SECRET, token) == "LAP-2345678923"
    tag = token.split(".")[1]
    for forged in ("LAP-2345678923", f"LAP-2345678924.{tag}", token[:-1] + ("0" if token[-1] != "0" else "1"),
                   f"../etc.{tag}", ""):
        assert m.report_of_token(SECRET, forged) is None
    assert m.report_of_token("another-secret-0123456789", token) is None


def test_the_token_explains_what_is_not_public_yet():
    assert "not yet verified" in m.token_record("t", None, None)["service_notice"]  # not yet projected
    assert "not yet verified" in m.token_record("t", None, view(Status.ON_HOLD))["service_notice"]
    archived = m.token_record("t", None, view(Status.ARCHIVED, archived={"reason": "duplicate"}))
    assert "duplicate" in archived["service_notice"] and "service_request_id" not in archived
    assert "confidential" in m.token_record("t", None, view(confidential=True))["service_notice"]
    assert m.token_record("t", view(), view()) == {"service_request_id": "LAP-2345678923", "token": "t"}


def test_a_valid_form_becomes_a_submission_with_personal_data_apart():
    parsed = m.parse_submission(form({"first_name": "Siti", "last_name": "Aisyah", "email": "s@x.id",
                                      "attribute[anonymous]": "true", "attribute[region_code]": "64.72",
                                      "media_url": "http://x/y.jpg"}), REFERENCE, LOCATION)
    assert (parsed.category_id, parsed.report_type, parsed.region_code) == ("infrastruktur.jalan-rusak", "complaint",
                                                                            "64.72")
    assert parsed.location == {"lat": -0.5, "lon": 117.15} and parsed.anonymous and not parsed.confidential
    assert parsed.personal == {"name": "Siti Aisyah", "phone": None, "email": "s@x.id", "nik": None}
    assert parsed.ignored == ("media_url",) and "media_url" in m.submit_notice(parsed.ignored)
    assert m.parse_submission(form(), REFERENCE, LOCATION).personal is None
    assert m.parse_submission(form(), REFERENCE, LOCATION).region_code == ""  # the verifier sets it


def test_every_problem_of_a_form_is_reported_at_once():
    with pytest.raises(ValidationFailed) as refused:
        m.parse_submission(form({"lat": "-100", "description": "<p>hi</p> jalan rusak", "long": "",
                                 "attribute[anonymous]": "maybe", "attribute[colour]": "red"}), REFERENCE, LOCATION)
    fields = {e["field"] for e in refused.value.details["errors"]}
    assert {"lat", "description", "attribute[anonymous]", "attribute[colour]", "lat/long"} <= fields
    with pytest.raises(NotFound):
        m.parse_submission(form({"service_code": "kesehatan"}), REFERENCE, LOCATION)


def test_the_request_query_defaults_to_the_last_90_days_and_checks_its_window():
    query = m.parse_request_query({}, REFERENCE, NOW)
    assert (query.start, query.end, query.page_size, query.page) == (NOW - timedelta(days=90), NOW, 100, None)
    only_start = m.parse_request_query({"start_date": "2026-01-01T00:00:00+07:00"}, REFERENCE, NOW)
    assert only_start.end - only_start.start == timedelta(days=90)
    assert m.parse_request_query({"page": "1", "status": ""}, REFERENCE, NOW).page is None  # empty = absent
    for bad in ({"end_date": "2026-03-02T00:00:00"}, {"status": "open,new"}, {"page": "3"}, {"page_size": "1000"},
                {"service_code": "infrastruktur"}):
        with pytest.raises(ValidationFailed):
            m.parse_request_query(bad, REFERENCE, NOW)


def test_services_are_the_leaves_with_their_group():
    listed = m.services(REFERENCE)
    assert {s["service_code"] for s in listed} == {c.id for c in m.service_categories(REFERENCE)}
    assert all(s["type"] == "batch" and s["metadata"] is True for s in listed)
    assert "infrastruktur" not in {s["service_code"] for s in listed}
    orders = [a["order"] for a in m.service_definition(REFERENCE, "kesehatan.jkn")["attributes"]]
    assert orders == sorted(set(orders)) and min(orders) >= 1


def test_xml_has_one_element_per_list_item_and_escapes_text():
    document = to_xml("service_requests", [{"service_request_id": "LAP-1", "description": "a < b & café",
                                            "lat": -0.5, "skip": None}])
    assert document.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    assert document.isascii()
    root = ET.fromstring(document.encode())
    assert [(e.tag, [c.tag for c in e]) for e in root] == [("request", ["service_request_id", "description", "lat"])]
    assert root.findtext("request/description") == "a < b & café"
    nested = ET.fromstring(to_xml("discovery", {"endpoints": [{"formats": ["text/xml", "application/json"]}]}))
    assert [f.text for f in nested.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


@pytest.mark.parametrize("error, status", [
    (NotFound("x"), 404), (Forbidden("x"), 403), (RateLimited(5, 30), 429), (ValidationFailed("x"), 400),
    (UnsupportedMediaType("x"), 400)])
def test_errors_fold_into_the_statuses_the_spec_allows(error, status):
    assert open311_status(error) == status
    response = error_response("json", error)
    assert response.status_code == status
    assert json.loads(response.body) == [{"code": status, "description": error.message}]
    assert response.headers.get("Retry-After") == ("30" if status == 429 else None)
