"""Audit and evaluation reads: the Ombudsman's timeline, statistics, rankings, institution indicators."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from chalicelib.clock import parse_instant
from chalicelib.domain.access import TIMELINE_ROLES, can_see
from chalicelib.domain.institution import RecordInstitutionIndicators
from chalicelib.domain.report import PUBLIC_CHANNELS, replay
from chalicelib.domain.vocabulary import HANDLING_BUCKET_NAMES, Role, province_of
from chalicelib.errors import Forbidden, NotFound, ReportNotFound, ValidationFailed
from chalicelib.http.endpoint import Call, endpoint
from chalicelib.http.exports import FORMAT, Column, downloadable
from chalicelib.http.validation import Field
from chalicelib.reference import Institution, Region
from chalicelib.services.timeline import build_timeline
from projections.statistics import NATIONAL, Statistics, figures

_PERIOD = re.compile(r"^(20\d\d)(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")
_YEAR = re.compile(r"^20\d\d$")
CHANNELS = (*PUBLIC_CHANNELS, "admin")  # every channel a report can come by (DOMAIN §3)
INDICATORS = {"year": Field(int, required=True, minimum=2015, maximum=2100),
              "has_sk": Field(bool, required=True, description="a decree names its complaint-handling team"),
              "has_renaksi": Field(bool, required=True, description="an action plan (Renaksi) was submitted"),
              "follow_up_quality": Field(bool, required=True,
                                         description="follow-ups match the substance of the reports")}


@endpoint("GET", "/reports/{report_id}/timeline", "getReportTimeline",
          "Each step, who took it, working days taken, flags; ?as_of= rebuilds it at any past instant",
          audience="ombudsman, auditor, supervisor, admin_nasional, the report's own institution", query=("as_of",))
def get_report_timeline(call: Call) -> dict[str, Any]:
    report_id = call.params["report_id"]
    if call.principal.role not in TIMELINE_ROLES:
        raise Forbidden("the audit timeline is for the Ombudsman, auditors, supervisors and the handling institution",
                        "lini masa audit hanya untuk Ombudsman, auditor, supervisor dan instansi penanggung jawab")
    events = call.services.store.load(report_id)
    if not events or not can_see(call.principal, replay(report_id, events).exposure):
        raise ReportNotFound(report_id)
    # By default everything recorded, even by a sweep run with a simulated `--now` later than the clock.
    as_of = max(call.now, parse_instant(events[-1].occurred_at))
    if call.query.get("as_of"):
        try:
            as_of = parse_instant(call.query["as_of"])
            if as_of.year < 2015:  # before SP4N-LAPOR! existed; also keeps far-past instants out of date maths
                raise ValueError("too early")
        except (ValueError, OverflowError):
            raise ValidationFailed("as_of must be an ISO-8601 instant with an offset, e.g. 2026-03-05T10:00:00Z",
                                   "as_of harus waktu ISO-8601 dengan zona", field="as_of") from None
        if as_of > call.now:
            raise ValidationFailed("as_of is in the future", "as_of berada di masa depan", field="as_of")
    return build_timeline(report_id, events, calendar=call.services.calendar, reference=call.services.reference,
                          as_of=as_of)


def _period(call: Call) -> str:
    period = call.query.get("period", str(call.now.year))
    if not _PERIOD.fullmatch(period):
        raise ValidationFailed("period must be YYYY, YYYY-Qn or YYYY-MM (e.g. 2022, 2022-Q3, 2022-07)",
                               "periode harus YYYY, YYYY-Qn atau YYYY-MM", field="period")
    return period


def _year(call: Call) -> str:
    year = call.query.get("year", str(call.now.year))
    if not _YEAR.fullmatch(year):
        raise ValidationFailed("year must be YYYY (e.g. 2026)", "tahun harus YYYY", field="year")
    return year


def _region(call: Call, code: str) -> Region:
    region = call.services.reference.region(code)
    if region is None:
        raise NotFound(f"no region {code!r} (Kemendagri code, e.g. 64 or 64.72)", f"wilayah {code!r} tidak ada")
    return region


def _institution(call: Call, institution_id: str) -> Institution:
    institution = call.services.reference.institution(institution_id)
    if institution is None:
        raise NotFound(f"no institution {institution_id!r}", f"instansi {institution_id!r} tidak ada")
    return institution


def _region_scope(call: Call) -> dict[str, str]:
    code = call.params["region_code"]
    if code == NATIONAL:
        return {"code": NATIONAL, "name": "Indonesia", "level": "national"}
    region = _region(call, code)
    return {"code": region.code, "name": region.name, "level": region.level}


def _institution_scope(institution: Institution) -> dict[str, Any]:
    return {"id": institution.id, "name": institution.name, "region_code": institution.region_code}


def _public_indicators(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """A supervisor's assessment as the public sees it: which role and institution recorded it, not which
    employee (staff user ids are internal, as on reports). Both keys always, so every row has the same shape."""
    indicators = Statistics.indicators_of(item)
    if indicators:
        by = indicators.get("recorded_by") or {}
        indicators["recorded_by"] = {"role": by.get("role"), "institution_id": by.get("institution_id")}
    return indicators


def _months(year: str) -> list[str]:
    return [f"{year}-{month:02d}" for month in range(1, 13)]


# ------------------------------------------------------------------------------- the tables' CSV columns

_PERIOD_COLUMN = Column("period", ("period",))
_REGION_COLUMNS = (Column("region_code", ("region", "code")), Column("region_name", ("region", "name")),
                   Column("region_level", ("region", "level")))
_INSTITUTION_COLUMNS = (Column("institution_id", ("institution", "id")),
                        Column("institution_name", ("institution", "name")),
                        Column("institution_region_code", ("institution", "region_code")))
_INDICATOR_COLUMNS = (
    *(Column(name, ("indicators", name)) for name in ("has_sk", "has_renaksi", "follow_up_quality")),
    *(Column(f"indicators_{name}", ("indicators", name)) for name in ("year", "institution_id", "recorded_at")),
    *(Column(f"indicators_recorded_by_{name}", ("indicators", "recorded_by", name))
      for name in ("role", "institution_id")))


def _figure_columns(call: Call, rows: Sequence[dict[str, Any]]) -> list[Column]:
    """The figures of one row, flat. Every category of the reference tree and every channel has its column
    (0 when none, where the JSON leaves it out), so files of any scope and period share one header."""
    def keys(name: str, known: Iterable[str]) -> list[str]:
        known = list(known)
        # a count under a key the reference no longer has still reaches the file: the CSV holds what the JSON does
        return known + sorted({key for row in rows for key in row["figures"][name]} - set(known))

    at = ("figures",)
    return [Column("received", at + ("received",)),
            *(Column(bucket, at + ("buckets", bucket)) for bucket in HANDLING_BUCKET_NAMES),
            *(Column(name, at + (name,)) for name in ("archived", "completion_rate", "follow_up_rate",
                                                      "follow_up_speed_working_days", "overdue")),
            *(Column(f"category:{c}", at + ("by_category", c), default=0)
              for c in keys("by_category", call.services.reference.categories)),
            *(Column(f"channel:{c}", at + ("by_channel", c), default=0) for c in keys("by_channel", CHANNELS))]


def _region_columns(call: Call, rows: Sequence[dict[str, Any]]) -> list[Column]:
    return [*_REGION_COLUMNS, _PERIOD_COLUMN, *_figure_columns(call, rows)]


def _institution_columns(call: Call, rows: Sequence[dict[str, Any]]) -> list[Column]:
    return [*_INSTITUTION_COLUMNS, _PERIOD_COLUMN, *_figure_columns(call, rows)]


def _institution_stats_columns(call: Call, rows: Sequence[dict[str, Any]]) -> list[Column]:
    return [*_institution_columns(call, rows), *_INDICATOR_COLUMNS]


def _one_row(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [answer]


def _month_rows(scope: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """Each month's row carries its region or institution, so every row of the file stands on its own."""
    return lambda answer: [{scope: answer[scope], **month} for month in answer["months"]]


# ------------------------------------------------------------------------------- statistics

@endpoint("GET", "/stats/regions/{region_code}", "getRegionStats",
          "Figures of a province (including its kabupaten/kota) or a kabupaten/kota for ?period=YYYY|YYYY-Qn|YYYY-MM; "
          "?format=json|csv",
          query=("period", FORMAT))
@downloadable(filename=lambda call, a: f"lapor-statistik-wilayah-{a['region']['code']}-{a['period']}",
              rows=_one_row, columns=_region_columns)
def get_region_stats(call: Call) -> dict[str, Any]:
    period = _period(call)
    scope = _region_scope(call)
    return {"region": scope, "period": period,
            "figures": figures(call.services.stats.read(f"region:{scope['code']}", period))}


@endpoint("GET", "/stats/regions/{region_code}/months", "getRegionMonthlyStats",
          "The figures of each of the 12 months of ?year= for a region, in one read (a chart's series); "
          "?format=json|csv",
          query=("year", FORMAT))
@downloadable(filename=lambda call, a: f"lapor-statistik-wilayah-{a['region']['code']}-bulanan-{a['year']}",
              rows=_month_rows("region"), columns=_region_columns)
def get_region_monthly_stats(call: Call) -> dict[str, Any]:
    scope, year = _region_scope(call), _year(call)
    items = call.services.stats.read_many([f"region:{scope['code']}#{month}" for month in _months(year)])
    return {"region": scope, "year": int(year),
            "months": [{"period": month, "figures": figures(items.get(f"region:{scope['code']}#{month}"))}
                       for month in _months(year)]}


@endpoint("GET", "/stats/institutions/{institution_id}", "getInstitutionStats",
          "Figures of one institution for ?period=, with its supervisors' indicators for that year; ?format=json|csv",
          query=("period", FORMAT))
@downloadable(filename=lambda call, a: f"lapor-statistik-instansi-{a['institution']['id']}-{a['period']}",
              rows=_one_row, columns=_institution_stats_columns)
def get_institution_stats(call: Call) -> dict[str, Any]:
    institution, period = _institution(call, call.params["institution_id"]), _period(call)
    items = call.services.stats.read_many([f"institution:{institution.id}#{period}",
                                           f"indicators#{institution.id}#{period[:4]}"])
    return {"institution": _institution_scope(institution),
            "period": period,
            "figures": figures(items.get(f"institution:{institution.id}#{period}")),
            "indicators": _public_indicators(items.get(f"indicators#{institution.id}#{period[:4]}"))}


@endpoint("GET", "/stats/institutions/{institution_id}/months", "getInstitutionMonthlyStats",
          "The figures of each of the 12 months of ?year= for an institution, in one read; ?format=json|csv",
          query=("year", FORMAT))
@downloadable(filename=lambda call, a: f"lapor-statistik-instansi-{a['institution']['id']}-bulanan-{a['year']}",
              rows=_month_rows("institution"), columns=_institution_columns)
def get_institution_monthly_stats(call: Call) -> dict[str, Any]:
    institution, year = _institution(call, call.params["institution_id"]), _year(call)
    items = call.services.stats.read_many([f"institution:{institution.id}#{month}" for month in _months(year)])
    return {"institution": _institution_scope(institution), "year": int(year),
            "months": [{"period": month, "figures": figures(items.get(f"institution:{institution.id}#{month}"))}
                       for month in _months(year)]}


def composite_score(figures_: dict[str, Any], indicators: dict[str, Any] | None) -> float:
    """0–100: 50 completion rate, 20 follow-up speed (full marks at ≤ 5 working days), 10 each SK, Renaksi,
    follow-up quality. Documented in the README; regions without a recorded assessment score 0 there."""
    completion = (figures_["completion_rate"] or 0) / 100
    speed = figures_["follow_up_speed_working_days"]
    speed_score = 0.0 if speed is None else 1.0 if speed <= 5 else 5 / speed
    marks = sum(bool(indicators and indicators[k]) for k in ("has_sk", "has_renaksi", "follow_up_quality"))
    return round(50 * completion + 20 * speed_score + 10 * marks, 2)


def _rank_key(row: dict[str, Any]) -> tuple:
    f = row["figures"]
    speed = f["follow_up_speed_working_days"]
    return (f["completion_rate"] is None, -(f["completion_rate"] or 0), speed is None, speed or 0, row["code"])


_RANKED = {"province": "provinsi", "regency": "kabkota", "institution": "instansi"}  # for the file name


def _ranking_filename(call: Call, answer: dict[str, Any]) -> str:
    return "-".join(filter(None, ("lapor-peringkat", _RANKED[answer["level"]], answer["province"], answer["period"])))


def _ranking_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Each row carries what was ranked (level, province, period), so every row of the file stands on its own."""
    context = {key: answer[key] for key in ("level", "province", "period")}
    return [context | row for row in answer["ranking"]]


def _ranking_columns(call: Call, rows: Sequence[dict[str, Any]]) -> list[Column]:
    return [*(Column(name, (name,)) for name in ("rank", "level", "province", "period", "code", "name",
                                                 "institution_id")),
            *_figure_columns(call, rows), *_INDICATOR_COLUMNS, Column("composite_score", ("composite_score",))]


@endpoint("GET", "/rankings", "listRegionRanking",
          "Rank provinces, the kabupaten/kota of ?province=, or institutions (?level=institution) for ?period=: "
          "completion rate, ties by faster follow-up; indicators and composite score beside; ?format=json|csv",
          query=("level", "province", "period", FORMAT))
@downloadable(filename=_ranking_filename, rows=_ranking_rows, columns=_ranking_columns)
def list_region_ranking(call: Call) -> dict[str, Any]:
    reference, period = call.services.reference, _period(call)
    level = call.query.get("level", "province")
    province = call.query.get("province")
    if level not in ("province", "regency", "institution"):
        raise ValidationFailed("level must be province, regency or institution", "level tidak sah", field="level")
    if province is not None and _region(call, province).level != "province":
        raise ValidationFailed("province must be a province code such as 64", "kode provinsi tidak sah",
                               field="province")
    if level == "regency" and province is None:
        raise ValidationFailed("ranking kabupaten/kota needs ?province=", "peringkat kab/kota perlu ?province=",
                               field="province")
    pemda = {i.region_code: i for i in reference.institutions.values() if i.region_code}
    if level == "institution":
        subjects = [(i.id, i.name, f"institution:{i.id}", i) for i in reference.institutions.values()
                    if province is None or province_of(i.region_code) == province]
    else:
        regions = reference.provinces() if level == "province" else reference.regions_in(province)
        subjects = [(r.code, r.name, f"region:{r.code}", pemda.get(r.code)) for r in regions]
    year = period[:4]
    stats = call.services.stats
    items = stats.read_many([f"{key}#{period}" for _, _, key, _ in subjects]
                            + [f"indicators#{inst.id}#{year}" for *_, inst in subjects if inst])
    rows = []
    for code, name, key, institution in subjects:
        row_figures = figures(items.get(f"{key}#{period}"))
        indicators = _public_indicators(items.get(f"indicators#{institution.id}#{year}")) if institution else None
        rows.append({"code": code, "name": name, "institution_id": institution.id if institution else None,
                     "figures": row_figures, "indicators": indicators,
                     "composite_score": composite_score(row_figures, indicators)})
    rows.sort(key=_rank_key)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return {"level": level, "province": province, "period": period, "ranking": rows}


@endpoint("POST", "/institutions/{institution_id}/indicators", "recordInstitutionIndicators",
          "Supervisor: record an institution's SK, Renaksi and follow-up quality for a year",
          body=INDICATORS, status=201, audience=Role.SUPERVISOR, idempotent_key=True)
def record_institution_indicators(call: Call) -> dict[str, Any]:
    b = call.body
    command = RecordInstitutionIndicators(principal=call.principal, institution_id=call.params["institution_id"],
                                          year=b["year"], has_sk=b["has_sk"], has_renaksi=b["has_renaksi"],
                                          follow_up_quality=b["follow_up_quality"])
    return call.services.commands.record_indicators(command, call.request())
