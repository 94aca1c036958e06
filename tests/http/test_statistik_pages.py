"""The Statistik and Peringkat pages in-process (chalice.test.Client on moto): their tables are the JSON API's
own answers, their download links are the API's `?format=` routes, bad choices are 4xx pages, only they allow
scripts, and their scripts are served. tests/web drives the same pages (and the charts) in Chromium."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.web.statistik import ASSETS
from tests.http.read_models.conftest import shared
from tests.http.test_exports import build_export_world, module_api  # noqa: F401  (the module's moto + client)
from tests.support.api import json_of
from tests.support.tokens import SAMARINDA
from tests.web.html import accessibility_problems, parse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stat_world(module_api):  # noqa: F811
    return build_export_world(module_api)


@pytest.fixture
def sw(stat_world):
    yield from shared(stat_world)


def _page(world: Any, path: str, status: int = 200) -> str:
    response = world.api.client.http.get(path)
    assert response.status_code == status, (path, response.status_code, response.body[:2000])
    assert response.headers["Content-Type"] == "text/html; charset=utf-8", path
    return response.body.decode()


def _table(markup: str, table_id: str) -> list[list[str]]:
    """The `data-value` of every charted cell of a table's body rows: what the chart script reads."""
    body = re.search(rf'<table id="{table_id}".*?<tbody>(.*?)</tbody>', markup, re.S)
    assert body, f"no table {table_id}"
    return [re.findall(r'data-value="([^"]*)"', row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body[1], re.S)]


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def _links(markup: str) -> set[str]:
    return {a.attrs["href"].replace("&amp;", "&") for a in parse(markup).all("a") if "download" in a.attrs}


BUCKETS = ("belum_diverifikasi", "belum_ditindaklanjuti", "dalam_proses", "selesai")


@pytest.mark.parametrize("scope,route", [("region=64.72", "/stats/regions/64.72"),
                                         ("region=64", "/stats/regions/64"),
                                         ("", "/stats/regions/ID"),
                                         (f"institution={SAMARINDA}", f"/stats/institutions/{SAMARINDA}")])
def test_every_table_is_the_json_routes_answer_and_links_its_downloads(sw, scope, route):
    markup = _page(sw, f"/statistik?{scope}&period=2026")
    figures = json_of(sw.api.get(f"{route}?period=2026"))["figures"]
    months = json_of(sw.api.get(f"{route}/months?year=2026"))["months"]
    assert figures["received"] > 0  # the world has reports here: the comparison below is of real numbers
    assert _table(markup, "t-summary") == [[_shown(figures[k])] for k in (
        "received", "completion_rate", "follow_up_rate", "follow_up_speed_working_days", "overdue", "archived")]
    assert _table(markup, "t-buckets") == [[str(figures["buckets"][b])] for b in BUCKETS]
    assert sorted(v for [v] in _table(markup, "t-categories")) == sorted(str(n) for n in figures["by_category"].values())
    channels = _table(markup, "t-channels")
    assert [v for [v] in channels] == [str(figures["by_channel"].get(c, 0)) for c in ("web", "app", "sms", "open311",
                                                                                       "admin")]
    assert _table(markup, "t-months") == [[_shown(v) for v in (
        m["figures"]["received"], m["figures"]["buckets"]["selesai"], m["figures"]["buckets"]["dalam_proses"],
        m["figures"]["completion_rate"], m["figures"]["follow_up_rate"], m["figures"]["follow_up_speed_working_days"])]
        for m in months]
    assert _links(markup) == {f"{route}?period=2026&format=csv", f"{route}?period=2026&format=json",
                              f"{route}/months?year=2026&format=csv", f"{route}/months?year=2026&format=json"}
    for link in _links(markup):
        assert sw.api.get(link).status_code == 200, link


def test_figures_read_as_each_language_writes_them(sw):
    # Samarinda 2026: one report in January (closed), nine in March of which one in progress (11.11 %)
    indonesian = parse(_page(sw, "/statistik?region=64.72&period=2026")).text()
    english = parse(_page(sw, "/statistik?region=64.72&period=2026&lang=en")).text()
    assert "Januari 2026110100 %100 %" in indonesian and "Maret 20269010 %11,11 %" in indonesian
    assert "January 2026110100%100%" in english and "March 20269010%11.11%" in english
    assert "Statistik Kota Samarinda, periode 2026" in indonesian and "Statistics of Kota Samarinda" in english


def test_the_region_links_go_down_from_the_nation_to_a_kabupaten_kota(sw):
    national = parse(_page(sw, "/statistik?period=2026"))
    hrefs = {a.attrs["href"].replace("&amp;", "&") for a in national.all("a")}
    assert "/statistik?region=64&period=2026" in hrefs and len([h for h in hrefs if "region=" in h]) == 38
    province = {a.attrs["href"].replace("&amp;", "&") for a in parse(_page(sw, "/statistik?region=64")).all("a")}
    assert any("region=64.72" in h for h in province)


def test_an_institutions_page_shows_its_supervisors_indicators_and_composite_score(sw):
    answer = json_of(sw.api.get(f"/stats/institutions/{SAMARINDA}?period=2026"))
    ranked = {row["code"]: row for row in json_of(sw.api.get("/rankings?level=institution&period=2026"))["ranking"]}
    markup = _page(sw, f"/statistik?institution={SAMARINDA}&period=2026")
    indicators = answer["indicators"]
    assert (indicators["has_sk"], indicators["has_renaksi"], indicators["follow_up_quality"]) == (True, False, True)
    # the three marks as the API records them, then the score the ranking gives the same institution
    assert _table(markup, "t-indicators") == [["1"], ["0"], ["1"], [str(ranked[SAMARINDA]["composite_score"])]]
    text = parse(markup).text()
    assert "Indikator pembinaan, tahun 2026" in text and "Dicatat " in text
    assert "Supervision indicators, 2026" in parse(_page(sw, f"/statistik?institution={SAMARINDA}&period=2026"
                                                            "&lang=en")).text()


def test_a_year_without_an_assessment_says_so_and_scores_without_the_marks(sw):
    markup = _page(sw, f"/statistik?institution={SAMARINDA}&period=2025")
    assert json_of(sw.api.get(f"/stats/institutions/{SAMARINDA}?period=2025"))["indicators"] is None
    assert 'id="t-indicators"' not in markup
    assert "Supervisor belum mencatat indikator instansi ini untuk tahun ini." in parse(markup).text()


def test_a_region_page_has_no_institution_indicators(sw):
    assert 'id="s-indicators"' not in _page(sw, "/statistik?region=64.72&period=2026")


@pytest.mark.parametrize("query", ["level=province", "level=regency&province=64", "level=institution",
                                   "level=institution&province=64"])
def test_the_ranking_table_is_the_ranking_routes_answer(sw, query):
    markup = _page(sw, f"/statistik/peringkat?{query}&period=2026")
    ranking = json_of(sw.api.get(f"/rankings?{query}&period=2026"))["ranking"]
    assert ranking and _table(markup, "t-ranking") == [[_shown(v) for v in (
        row["rank"], row["figures"]["received"], row["figures"]["buckets"]["selesai"], row["figures"]["completion_rate"],
        row["figures"]["follow_up_rate"], row["figures"]["follow_up_speed_working_days"], row["composite_score"])]
        for row in ranking]
    order = "level=" + query.split("level=")[1].split("&")[0]
    assert {link.split("?")[0] for link in _links(markup)} == {"/rankings"}
    for link in _links(markup):
        assert order in link and "period=2026" in link
        assert sw.api.get(link).status_code == 200, link


@pytest.mark.parametrize("path,status,words", [
    ("/statistik?region=99.99", 404, "Wilayah atau instansi itu tidak ada"),
    ("/statistik?institution=" + "x" * 300, 404, "Wilayah atau instansi itu tidak ada"),
    ("/statistik?period=2026-13", 422, "periode harus"),
    ("/statistik?region=64&period=%3Cscript%3E", 422, "periode harus"),
    ("/statistik/peringkat?level=regency", 422, "perlu ?province="),
    ("/statistik/peringkat?level=kecamatan", 422, "level tidak sah"),
    ("/statistik/peringkat?level=regency&province=64.72", 422, "kode provinsi"),
    ("/statistik/peringkat?period=20266", 422, "periode harus"),
])
def test_a_bad_choice_is_a_4xx_page_with_the_form_never_a_500(sw, path, status, words):
    markup = _page(sw, path, status)
    assert words in markup and 'name="period"' in markup and "<script>" not in markup.split("<main>")[1]


def test_a_format_asked_of_the_page_does_not_turn_it_into_a_download(sw):
    assert "t-summary" in _page(sw, "/statistik?region=64.72&period=2026&format=csv")


def test_only_the_statistik_pages_allow_scripts_and_only_from_this_origin(sw):
    for path in ("/statistik", "/statistik/peringkat"):
        response = sw.api.client.http.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy and "default-src 'none'" in policy
        markup = response.body.decode()
        scripts = parse(markup).all("script")
        assert [s.attrs["src"].split("?")[0] for s in scripts] == ["/static/chart.umd.min.js", "/static/statistik.js"]
        assert all(not s.text.strip() for s in scripts) and " style=" not in markup  # nothing inline
    for path in ("/", "/lacak", "/laporan"):
        assert "script-src" not in sw.api.client.http.get(path).headers["Content-Security-Policy"]


def test_the_scripts_are_served_as_javascript_and_other_names_are_a_404_page(sw):
    for name in ASSETS:
        response = sw.api.client.http.get(f"/static/{name}")
        assert response.status_code == 200 and response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert response.headers["X-Content-Type-Options"] == "nosniff" and len(response.body) > 1000
    for name in ("lapor.js", "..%2Fpages.py", "chart.umd.min.js.map"):
        _page(sw, f"/static/{name}", 404)


def test_the_shipped_chart_library_is_the_makefiles_pinned_chart_js_with_its_licence():
    pinned = re.search(r"^CHARTJS_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)[1]
    header = ASSETS["chart.umd.min.js"].read_text()[:200]
    assert f"Chart.js v{pinned}" in header and "Released under the MIT License" in header


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("path", ["/statistik?region=64.72&period=2026", f"/statistik?institution={SAMARINDA}",
                                  "/statistik", "/statistik/peringkat?level=regency&province=64",
                                  "/statistik?region=99"])
def test_the_pages_pass_the_static_accessibility_checks(sw, path, lang):
    markup = _page(sw, f"{path}&lang={lang}" if "?" in path else f"{path}?lang={lang}",
                   404 if "region=99" in path else 200)
    assert accessibility_problems(markup) == []
    assert f'<html lang="{lang}">' in markup
