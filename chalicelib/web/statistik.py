"""Statistik (`/statistik`) and Peringkat (`/statistik/peringkat`): the published figures as tables, each with
its chart, and the scripts that draw the charts (`/static/{asset}`).

No second statistics code: every figure is the answer of the JSON API's own route function
(`get_region_stats`, `get_region_monthly_stats`, `get_institution_stats`, `get_institution_monthly_stats`,
`list_region_ranking`), called with a query this page builds from what it checked, so a page's table and the
route's `?format=csv|json` download (linked under each table) are the same numbers.

The tables are the page: they work without JavaScript and are what a screen reader reads. The chart script
(`statistik.js`, with Chart.js) only draws each table's numbers — read from the cells' `data-value` — on a
canvas above it; those two scripts are the only ones any page loads, so only these pages allow `script-src 'self'`.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import Any, Callable

from chalice import Response

from chalicelib.domain.deadlines import institution_zone
from chalicelib.errors import LaporError, NotFound, ValidationFailed
from chalicelib.http.endpoint import Call
from chalicelib.http.errors import status_of
from chalicelib.http.stats_routes import (
    CHANNELS,
    composite_score,
    get_institution_monthly_stats,
    get_institution_stats,
    get_region_monthly_stats,
    get_region_stats,
    list_region_ranking,
)
from chalicelib.web.pages import page
from chalicelib.web.render import SCRIPT_POLICY, SECURITY_HEADERS, Page
from chalicelib.web.texts import month_name
from projections.statistics import NATIONAL

STATIC = Path(__file__).resolve().parent / "static"
# Only these files are served: a name is looked up here, never joined to a path.
ASSETS = {"statistik.js": STATIC / "statistik.js", "chart.umd.min.js": STATIC / "chart.umd.min.js",
          "foto.js": STATIC / "foto.js"}  # the Lapor form's photo uploads (chalicelib/web/photo_forms.py)
BUCKETS = ("belum_diverifikasi", "belum_ditindaklanjuti", "dalam_proses", "selesai")  # DOMAIN §8's order
LEVELS = ("province", "regency", "institution")
_MAX_SHOWN = 40  # an unknown value is shown back in the page's problem box at most this long


@functools.cache
def asset(name: str) -> tuple[str, str]:
    """A script's text and a short digest: pages link `?v=<digest>`, so it may be cached long."""
    content = ASSETS[name].read_bytes()
    return content.decode("utf-8"), hashlib.sha256(content).hexdigest()[:12]


@page("GET", "/static/{asset}", "webScript", "The Statistik pages' scripts: the chart script and Chart.js "
      "(text/javascript); any other name is a 404 page")
def web_script(call: Call, view: Page) -> Response:
    name = call.params["asset"]
    if name not in ASSETS:
        raise NotFound(f"no file {name[:_MAX_SHOWN]!r}", f"berkas {name[:_MAX_SHOWN]!r} tidak ada")
    body, _ = asset(name)
    return Response(body=body, status_code=200, headers={
        "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=86400",
        **SECURITY_HEADERS})


# ------------------------------------------------------------------------------------------------ helpers

def number(lang: str) -> Callable[..., str]:
    """Figures as each language writes them: `53,26 %` and `1.234` in Indonesian, `53.26%` and `1,234` in
    English; a figure that does not exist (a rate of nothing received) is a dash, never 0."""
    def show(value: float | int | None, suffix: str = "") -> str:
        if value is None:
            return "\u2013"
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
        if lang == "id":
            text = text.translate(str.maketrans(",.", ".,"))
        return text + ({"%": " %" if lang == "id" else "%"}.get(suffix, suffix))
    return show


def _api_call(call: Call, params: dict[str, str], query: dict[str, str]) -> Call:
    """The JSON route's call with only what this page checked: the page's own query (a `format=` say) never
    reaches the route, so it always answers its JSON."""
    return dataclasses.replace(call, params=params, query=query)


def _html(call: Call, view: Page, template: str, status: int, **values: Any) -> Response:
    scripts = {name: view.url(f"/static/{name}", v=asset(name)[1]) for name in ASSETS}
    return view.html(template, status, headers=SCRIPT_POLICY, scripts=scripts, num=number(view.lang),
                     month_name=month_name, provinces=call.services.reference.provinces(), **values)


def _problem(view: Page, refused: LaporError) -> str:
    if status_of(refused) == 404:
        return view.t["stat_unknown"]
    return refused.pesan if view.lang == "id" else refused.message


# ------------------------------------------------------------------------------------------------ Statistik

def _scope(call: Call, view: Page, period: str) -> dict[str, Any]:
    """The figures of one region or institution: the period's and its year's months, from the API's routes."""
    institution_id = call.query.get("institution")
    if institution_id:
        params = {"institution_id": institution_id}
        stats = get_institution_stats(_api_call(call, params, {"period": period}))
        months = get_institution_monthly_stats(_api_call(call, params, {"year": period[:4]}))
        path = f"/stats/institutions/{institution_id}"
        return {"stats": stats, "months": months, "name": stats["institution"]["name"], "region": None,
                "institution": stats["institution"], "score": composite_score(stats["figures"], stats["indicators"]),
                "zone": institution_zone(stats["institution"]["id"], call.services.reference),
                "figures_csv": view.url(path, period=period, format="csv"),
                "figures_json": view.url(path, period=period, format="json"),
                "months_csv": view.url(path + "/months", year=period[:4], format="csv"),
                "months_json": view.url(path + "/months", year=period[:4], format="json")}
    code = call.query.get("region") or NATIONAL
    stats = get_region_stats(_api_call(call, {"region_code": code}, {"period": period}))
    months = get_region_monthly_stats(_api_call(call, {"region_code": code}, {"year": period[:4]}))
    path = f"/stats/regions/{stats['region']['code']}"
    return {"stats": stats, "months": months, "name": stats["region"]["name"], "region": stats["region"],
            "institution": None,
            "figures_csv": view.url(path, period=period, format="csv"),
            "figures_json": view.url(path, period=period, format="json"),
            "months_csv": view.url(path + "/months", year=period[:4], format="csv"),
            "months_json": view.url(path + "/months", year=period[:4], format="json")}


def _trail(call: Call, region: dict[str, Any] | None) -> tuple[list[Any], list[Any]]:
    """The region's parents (Indonesia › province) and the regions one level down, for links."""
    reference = call.services.reference
    if region is None or region["level"] == "national":
        return [], reference.provinces()
    found = reference.region(region["code"])
    if region["level"] == "province":
        return [], reference.regions_in(found.code)
    return [reference.region(found.province_code)], []


@page("GET", "/statistik", "webStatistics", "Statistik: a region's or an institution's figures, by bucket, "
      "category, channel and month, as tables with charts (HTML)")
def statistics_page(call: Call, view: Page) -> Response:
    period = call.query.get("period") or str(call.now.year)
    chosen = {name: call.query[name] for name in ("region", "institution") if call.query.get(name)}
    try:
        shown, status, problem = _scope(call, view, period), 200, None
    except (ValidationFailed, NotFound) as refused:
        shown, status, problem = None, status_of(refused), _problem(view, refused)
    parents, children = _trail(call, shown["region"] if shown else None)
    reference = call.services.reference
    return _html(call, view, "statistik.html", status, shown=shown, problem=problem, period=period[:_MAX_SHOWN],
                 chosen=chosen, parents=parents, children=children, buckets=BUCKETS, channels=CHANNELS,
                 category_name=lambda c: (reference.category(c).name if reference.category(c) else c),
                 institutions=sorted(reference.institutions.values(), key=lambda i: i.name),
                 switch=view.switch_url("/statistik") if status == 200 else None)


# ------------------------------------------------------------------------------------------------ Peringkat

@page("GET", "/statistik/peringkat", "webRankings", "Peringkat: provinces, the kabupaten/kota of a province or "
      "institutions ranked by completion rate, as a table with a chart (HTML)")
def rankings_page(call: Call, view: Page) -> Response:
    level = call.query.get("level") or "province"
    province = call.query.get("province") or None
    if level == "province":
        province = None  # provinces are ranked nationally; a province chosen for another level is not a filter
    period = call.query.get("period") or str(call.now.year)
    query = {"level": level, "period": period} | ({"province": province} if province else {})
    try:
        ranked, status, problem = list_region_ranking(_api_call(call, {}, query)), 200, None
    except (ValidationFailed, NotFound) as refused:
        ranked, status, problem = None, status_of(refused), _problem(view, refused)
    return _html(call, view, "peringkat.html", status, ranked=ranked, problem=problem, levels=LEVELS,
                 level=level[:_MAX_SHOWN], province=(province or "")[:_MAX_SHOWN], period=period[:_MAX_SHOWN],
                 csv=view.url("/rankings", **query, format="csv"), json=view.url("/rankings", **query, format="json"),
                 switch=view.switch_url("/statistik/peringkat") if status == 200 else None)

