"""Audit and evaluation reads: the Ombudsman's timeline, statistics, rankings, institution indicators."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.clock import parse_instant
from chalicelib.domain.access import TIMELINE_ROLES, can_see
from chalicelib.domain.institution import RecordInstitutionIndicators
from chalicelib.domain.report import replay
from chalicelib.domain.vocabulary import Role, province_of
from chalicelib.errors import Forbidden, NotFound, ReportNotFound, ValidationFailed
from chalicelib.http.endpoint import Call, endpoint
from chalicelib.http.validation import Field
from chalicelib.reference import Institution, Region
from chalicelib.services.timeline import build_timeline
from projections.statistics import NATIONAL, figures

_PERIOD = re.compile(r"^(20\d\d)(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")
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


@endpoint("GET", "/stats/regions/{region_code}", "getRegionStats",
          "Figures of a province (including its kabupaten/kota) or a kabupaten/kota for ?period=YYYY|YYYY-Qn|YYYY-MM",
          query=("period",))
def get_region_stats(call: Call) -> dict[str, Any]:
    code, period = call.params["region_code"], _period(call)
    scope = {"code": NATIONAL, "name": "Indonesia", "level": "national"}
    if code != NATIONAL:
        region = _region(call, code)
        scope = {"code": region.code, "name": region.name, "level": region.level}
    return {"region": scope, "period": period,
            "figures": figures(call.services.stats.read(f"region:{code}", period))}


@endpoint("GET", "/stats/institutions/{institution_id}", "getInstitutionStats",
          "Figures of one institution for ?period=, with its supervisors' indicators for that year",
          query=("period",))
def get_institution_stats(call: Call) -> dict[str, Any]:
    institution, period = _institution(call, call.params["institution_id"]), _period(call)
    stats = call.services.stats
    items = stats.read_many([f"institution:{institution.id}#{period}", f"indicators#{institution.id}#{period[:4]}"])
    return {"institution": {"id": institution.id, "name": institution.name, "region_code": institution.region_code},
            "period": period,
            "figures": figures(items.get(f"institution:{institution.id}#{period}")),
            "indicators": stats.indicators_of(items.get(f"indicators#{institution.id}#{period[:4]}"))}


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


@endpoint("GET", "/rankings", "listRegionRanking",
          "Rank provinces, the kabupaten/kota of ?province=, or institutions (?level=institution) for ?period=: "
          "completion rate, ties by faster follow-up; indicators and composite score beside",
          query=("level", "province", "period"))
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
        indicators = stats.indicators_of(items.get(f"indicators#{institution.id}#{year}")) if institution else None
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
