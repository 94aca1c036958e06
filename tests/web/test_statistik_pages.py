"""Statistik and Peringkat in Chromium against `lapor serve`: the charts draw the tables' own numbers, the CSV
download holds the JSON's and the table's figures, the pages work without JavaScript, their weight, and
screenshots at 360 px and 1280 px (tests/artifacts/statistik-360.png, …)."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.e2e.support import REPORT, call, eventually

MAX_PAGE_BYTES = 60 * 1024
LIBRARY = "/static/chart.umd.min.js"  # cached apart, and weighed apart (README)
REGION = "/statistik?region=64.72"
PAGES = {"statistik": REGION, "statistik-en": REGION + "&lang=en", "statistik-nasional": "/statistik",
         "peringkat": "/statistik/peringkat", "peringkat-kabkota": "/statistik/peringkat?level=regency&province=64"}
CHARTS = {REGION: 6, "/statistik/peringkat?level=regency&province=64": 1}


@pytest.fixture(scope="module")
def seeded(server, staff) -> dict[str, Any]:
    """Three reports in Samarinda by the JSON API, two verified to the city; then the projector catches up."""
    ids = []
    for title in ("Lampu jalan padam di Jl. Juanda", "Drainase tersumbat di Jl. Pramuka", "Jalan berlubang di Sempaja"):
        status, created = call("POST", f"{server.base}/reports", REPORT | {"title": title})
        assert status == 201, created
        ids.append(created["report_id"])
    for report_id in ids[:2]:
        status, body = call("POST", f"{server.base}/reports/{report_id}/verification",
                            {"institution_id": "pemkot-samarinda", "region_code": "64.72",
                             "category_id": REPORT["category_id"]}, headers=staff["nasional"])
        assert status == 200, body

    def caught_up() -> dict | None:
        code, body = call("GET", f"{server.base}/stats/regions/64.72")
        figures = body.get("figures", {})
        return body if code == 200 and figures.get("received", 0) >= 3 and \
            figures["buckets"]["belum_ditindaklanjuti"] >= 2 else None

    return eventually(caught_up, "the statistics to count the seeded reports")


def _open(browser: Any, server: Any, path: str, *, javascript: bool = True, width: int = 360) -> tuple[Any, Page,
                                                                                                       list[str]]:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
    page = context.new_page()
    problems: list[str] = []  # a script error, a policy refusal (a CSP violation is a console error), a 4xx file
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.goto(server.base + path)
    page.wait_for_load_state("load")
    return context, page, problems


TABLE_OF_CHART = """box => {
  const table = document.getElementById(box.dataset.table);
  const rows = [...table.tBodies[0].rows].filter(r => !box.dataset.rows || r.classList.contains(box.dataset.rows));
  const series = box.dataset.series.split(',').map(Number);
  const value = cell => cell.dataset.value === '' ? null : Number(cell.dataset.value);
  const chart = Chart.getChart(box.querySelector('canvas'));
  const canvas = box.querySelector('canvas');
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i]) painted++; }
  return {table: series.map(c => rows.map(r => value(r.cells[c]))),
          chart: chart.data.datasets.map(d => d.data),
          labels: [rows.map(r => r.querySelector('th').textContent.trim()), chart.data.labels],
          painted, label: canvas.getAttribute('aria-label')};
}"""


@pytest.mark.parametrize("path", list(CHARTS))
def test_every_chart_draws_exactly_its_tables_numbers(browser, server, seeded, path):
    context, page, problems = _open(browser, server, path, width=1280)
    boxes = page.locator(".chart.drawn")
    assert boxes.count() == CHARTS[path] == page.locator(".chart").count()
    drawn = [boxes.nth(n).evaluate(TABLE_OF_CHART) for n in range(boxes.count())]
    for chart in drawn:
        assert chart["chart"] == chart["table"] and chart["labels"][0] == chart["labels"][1], chart
        assert chart["painted"] > 1000, chart  # pixels on the canvas, not an empty box
        assert chart["label"].startswith("Grafik: ")
    if path == REGION:  # the seeded reports are in the numbers the charts drew
        received = next(c for c in drawn if len(c["table"]) == 3)["table"][0]
        assert sum(v or 0 for v in received) >= seeded["figures"]["received"] >= 3
    assert problems == []
    context.close()


def test_the_csv_download_holds_the_jsons_and_the_tables_figures(browser, server, seeded):
    context, page, _ = _open(browser, server, REGION)
    table = {row.locator("th").inner_text().split("\n")[0].strip(): row.locator("td").get_attribute("data-value")
             for row in page.locator("#t-summary tbody tr").all()}
    csv_link = page.locator("#t-summary + p.downloads a", has_text="CSV").first.get_attribute("href")
    json_link = page.locator("#t-summary + p.downloads a", has_text="JSON").first.get_attribute("href")
    downloaded = page.request.get(server.base + csv_link)
    assert downloaded.headers["content-type"] == "text/csv; charset=utf-8"
    [row] = list(csv.DictReader(io.StringIO(downloaded.text())))
    figures = page.request.get(server.base + json_link).json()["figures"]
    for label, name in (("Laporan diterima", "received"), ("Tingkat penyelesaian (Kemendagri)", "completion_rate"),
                        ("Tingkat tindak lanjut (KemenPANRB)", "follow_up_rate"), ("Melewati batas waktu", "overdue")):
        expected = "" if figures[name] is None else str(figures[name])
        assert row[name] == table[label] == expected, (name, row[name], table[label], figures[name])
    assert int(row["received"]) >= 3 and int(row["belum_ditindaklanjuti"]) >= 2
    months = page.locator(".table-wrap:has(#t-months) + p.downloads a", has_text="CSV").first.get_attribute("href")
    monthly = list(csv.DictReader(io.StringIO(page.request.get(server.base + months).text())))
    shown = [r.locator("td").first.get_attribute("data-value") for r in page.locator("#t-months tbody tr").all()]
    assert [r["received"] for r in monthly] == shown and len(shown) == 12
    context.close()


@pytest.mark.parametrize("path", list(PAGES.values()))
def test_without_javascript_the_tables_are_the_page(browser, server, seeded, path):
    context, page, _ = _open(browser, server, path, javascript=False)
    tables = page.locator("table.data")
    assert tables.count() >= 1 and tables.first.is_visible()
    assert page.locator("canvas").count() == 0 and not page.locator(".chart").first.is_visible()
    assert page.locator("p.downloads a").count() >= 2
    context.close()


def test_the_pages_weigh_under_60_kb_before_the_chart_library(browser, server, seeded, record_property):
    weights, library = {}, set()
    for name, path in PAGES.items():
        context = browser.new_context(viewport={"width": 360, "height": 900})
        page = context.new_page()
        finished: list[Any] = []
        page.on("requestfinished", lambda request, seen=finished: seen.append(request))
        page.goto(server.base + path)
        page.wait_for_load_state("load")
        sizes = {r.url: r.sizes()["responseBodySize"] for r in finished}
        library |= {size for url, size in sizes.items() if LIBRARY in url}
        weights[name] = sum(size for url, size in sizes.items() if LIBRARY not in url)
        assert any(LIBRARY in url for url in sizes) and any("/static/statistik.js" in url for url in sizes), name
        context.close()
    print(f"\npage weights (bytes, without Chart.js): {weights}; Chart.js: {library}")
    record_property("weights", weights)
    assert all(4000 < weight < MAX_PAGE_BYTES for weight in weights.values()), weights
    assert library and all(150_000 < size < 260_000 for size in library), library  # the minified file, once


@pytest.mark.parametrize("width", (360, 1280))
def test_screenshots_and_nothing_overflows(browser, server, seeded, artifacts, width):
    for name, path in PAGES.items():
        context, page, problems = _open(browser, server, path, width=width)
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        assert problems == [], (name, problems)
        context.close()
