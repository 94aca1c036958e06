"""The OpenAPI document matches the routes the app really serves, and the reference endpoints answer as documented."""
from __future__ import annotations

from typing import Any

from chalicelib.http.endpoint import OTHER_METHODS_VIEW
from tests.support.api import json_of

REQUIRED_OPERATIONS = {
    "health", "submitReport", "getReport", "replyToReport", "acceptResolution", "objectToResolution",
    "escalateToOmbudsman", "verifyReport", "archiveReport", "holdReport", "assignReport", "returnReport",
    "redisposeReport", "postFollowUp", "listCategories", "listRegions", "listInstitutions", "getReportEvents",
    "verifyReportChain",
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS]


def _schemas(schema: dict[str, Any], at: str = "body"):
    yield at, schema
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "object" and "properties" in prop:
            yield from _schemas(prop, f"{at}.{name}")


def test_the_document_is_openapi_3_1_and_describes_exactly_the_served_routes(api):
    import app as app_module

    document = json_of(api.get("/openapi.json"))
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] and document["info"]["version"]

    # The routes of the methods a path lacks (405 / OPTIONS / HEAD, chalicelib/http/endpoint.py) are no operations.
    served = {(path, method.lower()) for path, methods in app_module.app.routes.items()
              for method, entry in methods.items() if entry.view_name != OTHER_METHODS_VIEW}
    documented = {(path, method) for path, method, _ in _operations(document)}
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert ("/reports", "post") in served and ("/reports/{report_id}", "get") in served


def test_every_required_operation_is_documented_once(api):
    document = json_of(api.get("/openapi.json"))
    operation_ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    assert REQUIRED_OPERATIONS <= set(operation_ids), REQUIRED_OPERATIONS - set(operation_ids)
    by_id = {op["operationId"]: (path, method) for path, method, op in _operations(document)}
    assert by_id["submitReport"] == ("/reports", "post")
    assert by_id["getReport"] == ("/reports/{report_id}", "get")
    assert by_id["verifyReportChain"] == ("/reports/{report_id}/chain-verification", "get")


def test_every_request_body_is_closed_to_unknown_fields(api):
    document = json_of(api.get("/openapi.json"))
    bodies = 0
    for path, method, operation in _operations(document):
        if "requestBody" not in operation:
            continue
        bodies += 1
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        for where, nested in _schemas(schema):
            assert nested["type"] == "object", (path, method, where)
            assert nested.get("additionalProperties") is False, (path, method, where)
    assert bodies >= 12  # submit and every command


def test_the_documented_body_matches_what_the_server_accepts(api):
    document = json_of(api.get("/openapi.json"))
    submit = document["paths"]["/reports"]["post"]
    schema = submit["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"body", "type", "region_code"}
    assert schema["properties"]["body"]["maxLength"] == 5000
    assert schema["properties"]["type"]["enum"] == ["complaint", "aspiration", "information_request"]
    assert schema["properties"]["reporter"]["additionalProperties"] is False
    assert "201" in submit["responses"] and "422" in submit["responses"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in submit["parameters"])
    rating = document["paths"]["/reports/{report_id}/acceptance"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["rating"]
    assert (rating["type"], rating["minimum"], rating["maximum"]) == ("integer", 1, 5)
    for path, _, operation in _operations(document):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == {segment[1:-1] for segment in path.split("/") if segment.startswith("{")}, path
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "pesan"}


def test_health_answers_ok(api):
    health = json_of(api.get("/health"))
    assert health["status"] == "ok" and health["service"] == "lapor"


# ------------------------------------------------------------------------------------------ reference

def test_the_regions_endpoint_lists_38_provinces_and_the_kabupaten_kota_of_one(api):
    provinces = json_of(api.get("/regions"))["regions"]
    assert len(provinces) == 38
    assert all(p["level"] == "province" for p in provinces)
    assert {"code": "64", "name": "Kalimantan Timur", "level": "province", "province_code": "64",
            "timezone": "WITA"} in provinces
    assert {p["timezone"] for p in provinces} == {"WIB", "WITA", "WIT"}
    assert [p["code"] for p in provinces] == sorted(p["code"] for p in provinces)

    kaltim = json_of(api.get("/regions?province=64"))
    assert kaltim["province"]["name"] == "Kalimantan Timur"
    by_code = {r["code"]: r for r in kaltim["regions"]}
    assert by_code["64.72"]["name"] == "Kota Samarinda" and by_code["64.72"]["timezone"] == "WITA"
    assert all(code.startswith("64.") for code in by_code) and len(by_code) == 10  # 7 kabupaten, 3 kota
    kepri = json_of(api.get("/regions?province=21"))
    assert len(kepri["regions"]) == 7 and kepri["province"]["timezone"] == "WIB"

    for unknown in ("99", "64.72", "x"):
        error = json_of(api.get(f"/regions?province={unknown}"), 404)
        assert error["code"] == "not_found" and error["message"]


def test_the_categories_endpoint_is_a_two_level_tree(api):
    tree = json_of(api.get("/categories"))["categories"]
    top = {c["id"]: c for c in tree}
    assert all(c["parent_id"] is None for c in tree)
    assert {"infrastruktur", "administrasi-kependudukan"} <= set(top)
    assert "infrastruktur.jalan-rusak" in {child["id"] for child in top["infrastruktur"]["children"]}
    for category in tree:
        for child in category.get("children", []):
            assert child["parent_id"] == category["id"]
            assert not child.get("children")  # two levels, no more


def test_the_institutions_endpoint_lists_samarinda_with_its_units(api):
    institutions = {i["id"]: i for i in json_of(api.get("/institutions"))["institutions"]}
    samarinda = institutions["pemkot-samarinda"]
    assert samarinda["region_code"] == "64.72" and samarinda["timezone"] == "WITA"
    assert {"dinas-pupr", "dinas-kominfo"} <= {unit["id"] for unit in samarinda["units"]}
    assert {"pemprov-kaltim", "kemenpanrb"} <= set(institutions)
