"""Open-data downloads (chalicelib/http/exports.py): every statistics table, the month series and the public
reports in CSV and JSON — the same data row by row, formula-safe CSV, the public's visibility, flat cost.

The CSV columns are resolved against the JSON here by the README's naming rules, written out again below
(not taken from the routes' own column lists), so a CSV that drifted from its JSON would show.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.bootstrap import use_services
from chalicelib.http.exports import cell
from tests.http.read_models.conftest import World, make_world, shared
from tests.support.api import Api, body_of, error_of, json_of
from tests.support.builders import DRAINASE, JALAN, SITI
from tests.support.tokens import (
    ADMIN_SAMARINDA,
    BALIKPAPAN,
    NASIONAL,
    SAMARINDA,
    SUPERVISOR_KALTIM,
)

FORMULA_TITLES = ('=HYPERLINK("http://contoh.id","klik")', "+62 812 jalan rusak", "-1+1 lampu mati", "@SUM(A1:A9)")
TRICKY_TITLE = 'Got "quotes", commas; and\na new line — “Jalan Pramuka”'
PUBLIC_COLUMNS = ["report_id", "title", "status", "bucket", "report_type", "category_id", "region_code",
                  "institution_id", "submitted_at"]


@pytest.fixture(scope="module")
def module_api():
    """One moto mock and Chalice client for the module, as in tests/http/read_models/ (a world is slow to build)."""
    with mock_aws():
        import app as app_module

        with Client(app_module.app) as client:
            yield Api(client)
        use_services(None)


def build_export_world(api: Api) -> World:
    """Samarinda: one report in January 2026 (closed), then in March: four with formula-like titles, one with
    quotes, commas and a new line, one anonymous by Siti, one by app about drainage, one confidential, one never
    verified, one archived as spam. Balikpapan: one in March. Samarinda's 2026 assessment by the Kaltim supervisor."""
    w = make_world(api, start=datetime(2026, 1, 12, 2, 0, tzinfo=UTC))
    w.submit("january")
    w.verify("january")
    w.do("january", "follow-ups", {"message": "Sudah ditambal.", "final": True}, token=ADMIN_SAMARINDA)
    w.do("january", "acceptance", {"rating": 5}, as_reporter=True)
    w.clock.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    for number, title in enumerate(FORMULA_TITLES):
        w.submit(f"formula{number}", title=title)
    w.submit("tricky", title=TRICKY_TITLE)
    w.submit("anonymous", anonymous=True, reporter=SITI, title="Pungli di kantor kelurahan")
    w.submit("app", channel="app", category_id=DRAINASE, title="Drainase tersumbat")
    w.submit("confidential", confidential=True, title="Rahasia: oknum petugas")
    w.submit("unverified", title="Belum diverifikasi")
    w.submit("spam", title="Promo pinjol")
    w.submit("balikpapan", region_code="64.71", title="Jalan amblas di Balikpapan")
    w.do("spam", "archive", {"reason": "spam"}, token=NASIONAL)
    for name in (*(f"formula{n}" for n in range(len(FORMULA_TITLES))), "tricky", "anonymous", "app", "confidential"):
        w.verify(name)
    w.verify("balikpapan", BALIKPAPAN)
    w.do("app", "follow-ups", {"message": "Dijadwalkan pekan depan."}, token=ADMIN_SAMARINDA)
    body_of(w.api.post(f"/institutions/{SAMARINDA}/indicators",
                       {"year": 2026, "has_sk": True, "has_renaksi": False, "follow_up_quality": True},
                       token=SUPERVISOR_KALTIM), 201)
    w.pump()
    w.end = w.clock.now
    return w


@pytest.fixture(scope="module")
def export_world(module_api) -> World:
    return build_export_world(module_api)


@pytest.fixture
def ew(export_world):
    yield from shared(export_world)


@pytest.fixture
def empty_world(module_api):
    world = make_world(module_api)
    world.end = world.clock.now
    yield world
    use_services(None)


@contextmanager
def dynamodb_requests(world: World) -> Iterator[list[str]]:
    """The DynamoDB API calls of the block, by name: a botocore event on the services' shared client (the
    statistics and the report views use it directly), minus the control table's generation lookup (cached for
    seconds, not per request). `before-parameter-build` sees the call's own arguments, so its TableName."""
    names: list[str] = []
    control = world.services.settings.table_names["control"]

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        if params.get("TableName") != control:
            names.append(model.name)

    events = world.services.dynamodb().meta.events
    events.register("before-parameter-build.dynamodb", count, unique_id="test-exports-count")
    try:
        yield names
    finally:
        events.unregister("before-parameter-build.dynamodb", unique_id="test-exports-count")


# ------------------------------------------------------------------------------------------------ reading a CSV

def csv_of(response: Any, filename: str | None = None) -> list[list[str]]:
    assert response.status_code == 200, (response.status_code, response.body)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.csv"'), disposition
    if filename is not None:
        assert disposition == f'attachment; filename="{filename}"'
    text = response.body.decode("utf-8")
    assert text.endswith("\r\n")  # RFC 4180: every record, the last included, ends with CRLF
    return list(csv.reader(io.StringIO(text, newline="")))


# The README's column naming, restated: a header is the JSON path of its value in a row.
FIGURES = {"received", "archived", "completion_rate", "follow_up_rate", "follow_up_speed_working_days", "overdue"}
BUCKETS = {"belum_diverifikasi", "belum_ditindaklanjuti", "dalam_proses", "selesai"}
INDICATORS = {"has_sk", "has_renaksi", "follow_up_quality"}
MISSING = object()


def json_path(header: str, row: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
    """(path, what an absent key means) of a CSV header in a JSON row."""
    kind, _, key = header.partition(":")
    if key:
        return ("figures", {"category": "by_category", "channel": "by_channel"}[kind], key), 0
    if header in FIGURES:
        return ("figures", header), MISSING
    if header in BUCKETS:
        return ("figures", "buckets", header), MISSING
    if header in INDICATORS:
        return ("indicators", header), MISSING
    if header.startswith("indicators_recorded_by_"):
        return ("indicators", "recorded_by", header.removeprefix("indicators_recorded_by_")), MISSING
    if header.startswith("indicators_"):
        return ("indicators", header.removeprefix("indicators_")), MISSING
    scope, _, rest = header.partition("_")
    if isinstance(row.get(scope), dict):  # region_code -> region.code where the row has a region object
        return (scope, rest), MISSING
    return (header,), MISSING


def resolve(row: dict[str, Any], path: tuple[str, ...], absent: Any) -> Any:
    value: Any = row
    for key in path:
        if value is None:  # no indicators recorded: every indicator cell is empty
            return None
        if key not in value:
            assert absent is not MISSING, f"{'.'.join(path)} is in the CSV but not in the JSON"
            return absent
        value = value[key]
    return value


def json_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a JSON answer, each with the context the README says every CSV row carries."""
    if "months" in answer:
        scope = "region" if "region" in answer else "institution"
        return [{scope: answer[scope]} | month for month in answer["months"]]
    if "ranking" in answer:
        return [{key: answer[key] for key in ("level", "province", "period")} | row for row in answer["ranking"]]
    if "reports" in answer:
        return answer["reports"]
    return [answer]


def leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from leaves(inner, path + (key,))
    else:
        yield path


def expected_cell(value: Any) -> str:
    """How the README says a JSON value reads in the CSV."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and value else value


def assert_same_table(answer: dict[str, Any], table: list[list[str]]) -> None:
    header, *cells = table
    rows = json_rows(answer)
    assert len(cells) == len(rows)
    assert len(set(header)) == len(header), "a column appears twice"
    for row, line in zip(rows, cells, strict=True):
        assert len(line) == len(header)
        paths = {}
        for name, shown in zip(header, line, strict=True):
            path, absent = json_path(name, row)
            paths[path] = name
            value = resolve(row, path, absent)
            assert shown == expected_cell(value), (name, shown, value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert float(shown) == value  # a number in the CSV reads back as the same number
        for leaf in leaves(row):  # and nothing of the JSON row is missing from the CSV
            assert any(path[:len(leaf)] == leaf for path in paths), f"{'.'.join(leaf)} is not in the CSV"


TABLES = [
    "/stats/regions/64.72?period=2026-03",
    "/stats/regions/64?period=2026",
    "/stats/regions/ID?period=2026-Q1",
    f"/stats/institutions/{SAMARINDA}?period=2026",
    f"/stats/institutions/{BALIKPAPAN}?period=2026-03",
    "/stats/regions/64.72/months?year=2026",
    "/stats/regions/ID/months?year=2026",
    f"/stats/institutions/{SAMARINDA}/months?year=2026",
    "/rankings?period=2026",
    "/rankings?level=regency&province=64&period=2026-03",
    "/rankings?level=institution&province=64&period=2026",
    "/public/reports?limit=100",
    "/public/reports?region=64.72&limit=100",
    f"/public/reports?category={DRAINASE}",
    "/public/reports?region=31",
]


def with_format(path: str, fmt: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}format={fmt}"


# ------------------------------------------------------------------------------------------------ same data

@pytest.mark.parametrize("path", TABLES)
def test_the_csv_of_every_table_holds_the_same_rows_as_its_json(ew, path):
    answer = body_of(ew.get(path), 200)
    table = csv_of(ew.get(with_format(path, "csv")))

    assert_same_table(answer, table)
    assert json_rows(answer) or path.endswith("region=31")  # every table but the empty one has rows to compare


@pytest.mark.parametrize("path", TABLES)
def test_format_json_is_the_same_json_as_a_download(ew, path):
    plain = json_of(ew.get(path))
    download = ew.get(with_format(path, "json"))

    assert json_of(download) == plain
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="lapor-') and disposition.endswith('.json"')


def test_numbers_stay_numbers_in_json_and_the_figures_are_what_was_reported(ew):
    march = json_of(ew.get("/stats/regions/64.72?period=2026-03"))["figures"]
    header, row = csv_of(ew.get("/stats/regions/64.72?period=2026-03&format=csv"))
    shown = dict(zip(header, row, strict=True))

    # 8 verified in March (4 formula titles, the tricky one, the anonymous, the app one, the confidential), the
    # unverified one waiting; the spam archived apart.
    assert (march["received"], march["archived"], march["buckets"]["belum_diverifikasi"]) == (9, 1, 1)
    assert march["buckets"]["dalam_proses"] == 1 and march["by_channel"] == {"app": 1, "web": 8}
    assert type(march["received"]) is int and type(march["follow_up_speed_working_days"]) is float
    assert (shown["received"], shown["dalam_proses"], shown["completion_rate"]) == ("9", "1", "0.0")
    assert (shown[f"category:{DRAINASE}"], shown[f"category:{JALAN}"], shown["channel:sms"]) == ("1", "8", "0")
    assert shown["region_name"] == "Kota Samarinda" and shown["period"] == "2026-03"


@pytest.mark.parametrize(("path", "filename"), [
    ("/stats/regions/64.72?period=2026-03", "lapor-statistik-wilayah-64.72-2026-03.csv"),
    ("/stats/regions/ID", "lapor-statistik-wilayah-ID-2026.csv"),
    (f"/stats/institutions/{SAMARINDA}?period=2026-Q1", f"lapor-statistik-instansi-{SAMARINDA}-2026-Q1.csv"),
    ("/stats/regions/64/months?year=2026", "lapor-statistik-wilayah-64-bulanan-2026.csv"),
    (f"/stats/institutions/{SAMARINDA}/months", f"lapor-statistik-instansi-{SAMARINDA}-bulanan-2026.csv"),
    ("/rankings?period=2026", "lapor-peringkat-provinsi-2026.csv"),
    ("/rankings?level=regency&province=64&period=2026", "lapor-peringkat-kabkota-64-2026.csv"),
    ("/rankings?level=institution&period=2026-03", "lapor-peringkat-instansi-2026-03.csv"),
    ("/public/reports", "lapor-laporan-publik.csv"),
    ("/public/reports?region=64.72", "lapor-laporan-publik-wilayah-64.72.csv"),
    (f"/public/reports?institution={SAMARINDA}", f"lapor-laporan-publik-instansi-{SAMARINDA}.csv"),
])
def test_every_download_has_a_meaningful_file_name(ew, path, filename):
    csv_of(ew.get(with_format(path, "csv")), filename)


def test_files_of_any_scope_and_period_share_one_header(ew):
    headers = {tuple(csv_of(ew.get(path))[0]) for path in (
        "/stats/regions/64.72?period=2026-03&format=csv", "/stats/regions/31?period=2019&format=csv",
        "/stats/regions/ID/months?year=2026&format=csv")}

    assert len(headers) == 1  # every category and channel has its column, counted or not


# ------------------------------------------------------------------------------------------------ CSV safety

def test_formula_like_titles_are_neutralised_in_csv_and_untouched_in_json(ew):
    answer = json_of(ew.get("/public/reports?limit=100"))
    header, *rows = csv_of(ew.get("/public/reports?limit=100&format=csv"))
    titles = {row["report_id"]: row["title"] for row in answer["reports"]}
    shown = {line[header.index("report_id")]: line[header.index("title")] for line in rows}

    for number, title in enumerate(FORMULA_TITLES):
        report_id = ew.ids[f"formula{number}"]
        assert titles[report_id] == title  # JSON: the citizen's text as written
        assert shown[report_id] == "'" + title  # CSV: text a spreadsheet will not run
    assert shown[ew.ids["tricky"]] == titles[ew.ids["tricky"]] == TRICKY_TITLE  # quoted by RFC 4180, intact
    assert shown[ew.ids["january"]] == "Jalan berlubang di Jl. Juanda"


@pytest.mark.parametrize(("value", "shown"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("a=1", "a=1"), ("", ""), ("Jalan", "Jalan"), (-1, -1), (33.33, 33.33), (0, 0), (True, "true"),
    (False, "false"), (None, ""),
])
def test_a_cell_is_neutralised_only_when_it_is_text_a_spreadsheet_would_run(value, shown):
    assert cell(value) == shown
    assert type(cell(value)) is type(shown)


# ------------------------------------------------------------------------------------------------ the public's view

def test_the_public_reports_file_has_the_documented_columns_and_only_public_reports(ew):
    response = ew.get("/public/reports?limit=100&format=csv")
    header, *rows = csv_of(response)
    names = ew.names([{"report_id": line[0]} for line in rows])
    text = response.body.decode("utf-8")

    assert header == PUBLIC_COLUMNS
    assert sorted(names) == sorted(["january", *(f"formula{n}" for n in range(4)), "tricky", "anonymous", "app",
                                    "balikpapan"])
    assert not {"confidential", "unverified", "spam"} & set(names)
    assert "Rahasia" not in text and "pinjol" not in text and "Belum diverifikasi" not in text
    for secret in ("Siti", "siti.rahma", "0812", "RPT-", "-user", "-0.49", "117.14"):  # identity, staff, place
        assert secret not in text, secret


def test_pages_of_the_public_reports_file_follow_each_other_by_the_link_header_one_query_each(ew):
    everything = json_of(ew.get("/public/reports?limit=100"))["reports"]
    found, path, pages = [], "/public/reports?limit=4&format=csv", 0
    while path:
        with dynamodb_requests(ew) as calls:
            response = ew.get(path)
        header, *rows = csv_of(response)
        assert calls == ["Query"], path
        found += [dict(zip(header, row, strict=True))["report_id"] for row in rows]
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            break
        target, rel = link.split(";", 1)
        assert rel.strip() == 'rel="next"' and target.startswith("<") and target.endswith(">")
        query = dict(parse_qsl(urlsplit(target[1:-1]).query))
        assert query["format"] == "csv" and query["limit"] == "4" and query["cursor"]
        path = f"/public/reports?limit=4&format=csv&cursor={quote(query['cursor'])}"

    assert found == [row["report_id"] for row in everything] and pages == 3  # 9 reports, 4 a page


def test_indicators_name_the_supervisors_role_and_never_their_user_id(ew):
    indicators = json_of(ew.get(f"/stats/institutions/{SAMARINDA}?period=2026"))["indicators"]
    ranking = ew.get("/rankings?level=institution&province=64&period=2026&format=csv").body.decode()

    assert indicators["recorded_by"] == {"role": "supervisor", "institution_id": None}
    assert (indicators["has_sk"], indicators["has_renaksi"], indicators["follow_up_quality"]) == (True, False, True)
    assert "supervisor-user" not in ranking and "supervisor-user" not in json.dumps(indicators)


# ------------------------------------------------------------------------------------------------ the months

@pytest.mark.parametrize("scope", ["/stats/regions/64.72", "/stats/regions/64", "/stats/regions/ID",
                                   f"/stats/institutions/{SAMARINDA}", f"/stats/institutions/{BALIKPAPAN}"])
def test_the_months_of_a_year_are_each_months_figures_in_one_batch_read(ew, scope):
    with dynamodb_requests(ew) as calls:
        series = json_of(ew.get(f"{scope}/months?year=2026"))

    assert calls == ["BatchGetItem"]
    assert series["year"] == 2026
    assert [month["period"] for month in series["months"]] == [f"2026-{m:02d}" for m in range(1, 13)]
    for month in series["months"]:
        assert month["figures"] == json_of(ew.get(f"{scope}?period={month['period']}"))["figures"], month["period"]
    received = [month["figures"]["received"] for month in series["months"]]
    if scope == "/stats/regions/64.72":
        assert received == [1, 0, 9] + [0] * 9


def test_the_months_cost_the_same_one_request_with_no_reports_and_with_many(ew, empty_world):
    counted = []
    for world in (empty_world, ew):
        world.install()
        with dynamodb_requests(world) as calls:
            for path in ("/stats/regions/64.72/months?year=2026&format=csv", f"/stats/institutions/{SAMARINDA}/months"):
                assert world.get(path).status_code == 200
        counted.append(calls)

    assert counted == [["BatchGetItem", "BatchGetItem"]] * 2


def test_the_months_default_to_the_current_year(ew):
    assert json_of(ew.get("/stats/regions/64.72/months"))["year"] == ew.clock.now.year


@pytest.mark.parametrize("year", ["26", "2026-03", "1999", "abc", "", "2026 "])
def test_a_malformed_year_is_refused(ew, year):
    for scope in ("/stats/regions/64", f"/stats/institutions/{SAMARINDA}"):
        problem = error_of(ew.get(f"{scope}/months?year={quote(year)}"), 422, "validation_failed")
        assert problem["details"]["field"] == "year"


def test_the_months_of_an_unknown_region_or_institution_are_not_found(ew):
    error_of(ew.get("/stats/regions/99/months?year=2026"), 404, "not_found")
    error_of(ew.get("/stats/institutions/pemkot-atlantis/months?year=2026"), 404, "not_found")


# ------------------------------------------------------------------------------------------------ bad format, docs

@pytest.mark.parametrize("fmt", ["xml", "CSV", "Json", "", "csv,json", "csv;", "text/csv"])
def test_a_bad_format_is_a_422_and_reads_nothing(ew, fmt):
    for path in TABLES:
        with dynamodb_requests(ew) as calls:
            response = ew.get(with_format(path, quote(fmt)))
        problem = json_of(response, 422)
        assert problem["code"] == "validation_failed" and problem["details"]["field"] == "format", path
        assert problem["message"] and problem["pesan"] and problem["pesan"] != problem["message"]
        assert calls == [], path


TABLE_OPERATIONS = {"getRegionStats", "getInstitutionStats", "getRegionMonthlyStats", "getInstitutionMonthlyStats",
                    "listRegionRanking", "listPublicReports"}


def test_the_openapi_document_lists_the_format_parameter_and_stays_valid(ew):
    from openapi_spec_validator import validate

    document = json_of(ew.get("/openapi.json"))
    validate(document)
    operations = {op["operationId"]: op for item in document["paths"].values() for op in item.values()}
    for operation_id in TABLE_OPERATIONS:
        query = {p["name"] for p in operations[operation_id]["parameters"] if p["in"] == "query"}
        assert "format" in query, operation_id
    assert {p["name"] for p in operations["getRegionMonthlyStats"]["parameters"]} == {"region_code", "year", "format"}
    assert document["paths"]["/stats/institutions/{institution_id}/months"]["get"]["operationId"] == (
        "getInstitutionMonthlyStats")
