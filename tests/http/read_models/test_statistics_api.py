"""Statistics, rankings and institution indicators over HTTP, from the statistics read model.

The worlds are in tests/http/read_models/conftest.py.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.http.stats_routes import composite_score
from tests.support.api import Api, body_of, error_of
from tests.support.builders import DRAINASE, JALAN, SITI
from tests.support.tokens import (
    ADMIN_BALIKPAPAN,
    ADMIN_SAMARINDA,
    AUDITOR,
    BALIKPAPAN,
    LIAISON_PUPR,
    NASIONAL,
    OMBUDSMAN,
    SAMARINDA,
    SUPERVISOR,
    SUPERVISOR_KALTIM,
    SUPERVISOR_KEPRI,
)

UTC = timezone.utc


from tests.http.read_models.conftest import World, make_world, shared  # noqa: F401

# ------------------------------------------------------------------------------------------------ the statistics world

def build_stats_world(api: Api) -> World:
    """Samarinda: three reports in March 2026 (one closed after answering the same day, one in progress, one
    waiting) and one in April; Balikpapan: one closed, first answered eight working days after submission;
    one archived spam. Samarinda's supervisor assessment for 2026: SK yes, Renaksi yes, quality no."""
    w = make_world(api)
    w.submit("fast", reporter=SITI)
    w.submit("busy", category_id=DRAINASE, title="Drainase tersumbat")
    w.submit("waiting")
    w.submit("slow", region_code="64.71")
    w.submit("spam", title="Promo pinjol")
    w.do("spam", "archive", {"reason": "spam"}, token=NASIONAL)
    for name in ("fast", "busy", "waiting"):
        w.verify(name)
    w.verify("slow", BALIKPAPAN)
    w.do("fast", "follow-ups", {"message": "Sudah ditambal.", "final": True}, token=ADMIN_SAMARINDA)
    w.do("fast", "acceptance", {"rating": 5}, as_reporter=True)
    w.do("busy", "follow-ups", {"message": "Dijadwalkan pekan depan."}, token=ADMIN_SAMARINDA)
    # Balikpapan answers on Thursday 12 March: 3, 4, 5, 6, 9, 10, 11, 12 March = 8 working days.
    w.clock.now = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)
    w.do("slow", "follow-ups", {"message": "Sudah diperbaiki.", "final": True}, token=ADMIN_BALIKPAPAN)
    w.do("slow", "acceptance", {"rating": 4}, as_reporter=True)
    w.clock.now = datetime(2026, 4, 7, 2, 0, tzinfo=UTC)
    w.submit("april")
    w.verify("april")
    body_of(w.api.post(f"/institutions/{SAMARINDA}/indicators",
                       {"year": 2026, "has_sk": True, "has_renaksi": True, "follow_up_quality": False},
                       token=SUPERVISOR_KALTIM), 201)
    w.pump()
    w.end = w.clock.now
    return w


@pytest.fixture(scope="module")
def stats_world_built(api) -> World:
    return build_stats_world(api)


@pytest.fixture
def sw(stats_world_built):
    yield from shared(stats_world_built)


def stats(world: World, path: str) -> dict[str, Any]:
    return body_of(world.get(path), 200)


def test_region_figures_for_a_month_a_quarter_and_a_year(sw):
    march = stats(sw, "/stats/regions/64.72?period=2026-03")
    april = stats(sw, "/stats/regions/64.72?period=2026-04")
    q1, q2 = stats(sw, "/stats/regions/64.72?period=2026-Q1"), stats(sw, "/stats/regions/64.72?period=2026-Q2")
    year = stats(sw, "/stats/regions/64.72?period=2026")

    assert march["region"] == {"code": "64.72", "name": "Kota Samarinda", "level": "city"}
    assert march["period"] == "2026-03"
    assert march["figures"]["received"] == 3 and march["figures"]["archived"] == 1
    assert march["figures"]["buckets"] == {"belum_diverifikasi": 0, "belum_ditindaklanjuti": 1, "dalam_proses": 1,
                                           "selesai": 1}
    assert (march["figures"]["completion_rate"], march["figures"]["follow_up_rate"]) == (33.33, 66.67)
    assert march["figures"]["follow_up_speed_working_days"] == 0.0
    assert march["figures"]["by_category"] == {DRAINASE: 1, JALAN: 2}
    assert march["figures"]["by_channel"] == {"web": 3}
    assert april["figures"]["received"] == 1 and april["figures"]["buckets"]["belum_ditindaklanjuti"] == 1
    assert q1["figures"] == march["figures"] and q2["figures"] == april["figures"]
    assert year["figures"]["received"] == 4 and year["figures"]["completion_rate"] == 25.0


def test_a_province_counts_its_kabupaten_kota_and_the_nation_counts_everything(sw):
    kaltim = stats(sw, "/stats/regions/64?period=2026")["figures"]
    nation = stats(sw, "/stats/regions/ID?period=2026")

    assert kaltim["received"] == 5 and kaltim["buckets"]["selesai"] == 2 and kaltim["archived"] == 1
    assert kaltim["follow_up_speed_working_days"] == round((0 + 0 + 8) / 3, 1)
    assert nation["region"] == {"code": "ID", "name": "Indonesia", "level": "national"}
    assert nation["figures"] == kaltim
    assert stats(sw, "/stats/regions/21?period=2026")["figures"]["received"] == 0
    assert stats(sw, "/stats/regions/64?period=2025")["figures"]["completion_rate"] is None


def test_the_default_period_is_the_current_year(sw):
    assert stats(sw, "/stats/regions/64.72")["period"] == "2026"
    assert stats(sw, "/stats/regions/64.72")["figures"] == stats(sw, "/stats/regions/64.72?period=2026")["figures"]


def test_statistics_of_an_unknown_region_are_not_found(sw):
    error_of(sw.get("/stats/regions/99"), 404, "not_found")
    error_of(sw.get("/stats/regions/64.99?period=2026"), 404, "not_found")


@pytest.mark.parametrize("period", ["26", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "2026-3", "2026-q1", "1999",
                                    "2026-03-01", "2026/03", "this-year", ""])
def test_a_malformed_period_is_refused(sw, period):
    for path in ("/stats/regions/64", f"/stats/institutions/{SAMARINDA}", "/rankings"):
        separator = "&" if "?" in path else "?"
        problem = error_of(sw.get(f"{path}{separator}period={quote(period)}"), 422, "validation_failed")
        assert problem["details"]["field"] == "period"


def test_institution_figures_come_with_the_supervisors_indicators_for_that_year(sw):
    samarinda = stats(sw, f"/stats/institutions/{SAMARINDA}?period=2026-Q1")
    balikpapan = stats(sw, f"/stats/institutions/{BALIKPAPAN}?period=2026")

    assert samarinda["institution"] == {"id": SAMARINDA, "name": samarinda["institution"]["name"],
                                        "region_code": "64.72"}
    assert samarinda["figures"]["received"] == 3 and samarinda["figures"]["completion_rate"] == 33.33
    indicators = samarinda["indicators"]
    assert {k: indicators[k] for k in ("institution_id", "year", "has_sk", "has_renaksi", "follow_up_quality")} == {
        "institution_id": SAMARINDA, "year": 2026, "has_sk": True, "has_renaksi": True, "follow_up_quality": False}
    assert indicators["recorded_by"]["role"] == "supervisor"
    assert stats(sw, f"/stats/institutions/{SAMARINDA}?period=2025")["indicators"] is None
    assert balikpapan["indicators"] is None
    assert balikpapan["figures"]["follow_up_speed_working_days"] == 8.0
    assert balikpapan["figures"]["completion_rate"] == 100.0


def test_statistics_of_an_unknown_institution_are_not_found(sw):
    error_of(sw.get("/stats/institutions/pemkot-atlantis?period=2026"), 404, "not_found")


def test_a_report_the_sweep_reminded_counts_overdue_until_the_institution_answers(new_world):
    from chalicelib.services.sweep import sweep

    world = new_world()
    world.submit("late")
    world.verify("late")  # Monday 2 March: first follow-up due Monday 9 March 17:00 WITA
    world.pump()
    world.clock.now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    recorded = sweep(world.services, world.clock()).recorded
    world.pump()

    assert recorded == {"ReminderSent": 1}
    figures = stats(world, "/stats/institutions/pemkot-samarinda?period=2026-03")["figures"]
    assert figures["overdue"] == 1 and stats(world, "/stats/regions/ID?period=2026")["figures"]["overdue"] == 1
    steps = body_of(world.get(f"/reports/{world.ids['late']}/timeline", OMBUDSMAN), 200)["steps"]
    assert [step["flags"] for step in steps] == [[], [], ["reminder"]]
    assert steps[-1]["by"] == {"role": "system", "user_id": "lapor-system"}

    world.do("late", "follow-ups", {"message": "Sudah ditambal.", "final": True}, token=ADMIN_SAMARINDA)
    world.pump()

    figures = stats(world, "/stats/institutions/pemkot-samarinda?period=2026-03")["figures"]
    assert figures["overdue"] == 0 and figures["buckets"]["dalam_proses"] == 1
    assert figures["follow_up_speed_working_days"] == 6.0  # 3, 4, 5, 6, 9, 10 March


INDICATORS = {"year": 2026, "has_sk": True, "has_renaksi": False, "follow_up_quality": True}


@pytest.mark.parametrize("token", [NASIONAL, ADMIN_SAMARINDA, OMBUDSMAN, AUDITOR, LIAISON_PUPR, None],
                         ids=["admin_nasional", "admin_instansi", "ombudsman", "auditor", "liaison", "public"])
def test_only_a_supervisor_records_indicators(sw, token):
    error_of(sw.api.post(f"/institutions/{BALIKPAPAN}/indicators", INDICATORS, token=token), 403, "forbidden")


def test_a_supervisor_records_indicators_only_within_their_province(sw):
    error_of(sw.api.post(f"/institutions/{SAMARINDA}/indicators", INDICATORS, token=SUPERVISOR_KEPRI), 403,
             "forbidden")


def test_indicators_of_an_unknown_institution_are_refused(sw):
    error_of(sw.api.post("/institutions/pemkot-atlantis/indicators", INDICATORS, token=SUPERVISOR), 422,
             "unknown_institution")


@pytest.mark.parametrize("body", [INDICATORS | {"year": 2014}, INDICATORS | {"year": "2026"},
                                  {k: v for k, v in INDICATORS.items() if k != "has_sk"},
                                  INDICATORS | {"has_renaksi": "ya"}])
def test_malformed_indicators_are_refused(sw, body):
    error_of(sw.api.post(f"/institutions/{BALIKPAPAN}/indicators", body, token=SUPERVISOR), 422)


def test_recorded_indicators_appear_once_projected_and_the_latest_assessment_counts(new_world):
    world = new_world()
    path = f"/institutions/{BALIKPAPAN}/indicators"
    first = body_of(world.api.post(path, INDICATORS, token=SUPERVISOR_KALTIM), 201)
    world.pump()
    assert first["institution_id"] == BALIKPAPAN and first["version"] == 1

    shown = stats(world, f"/stats/institutions/{BALIKPAPAN}?period=2026-05")["indicators"]
    assert (shown["has_sk"], shown["has_renaksi"], shown["follow_up_quality"]) == (True, False, True)

    body_of(world.api.post(path, INDICATORS | {"has_renaksi": True}, token=SUPERVISOR), 201)
    world.pump()
    assert stats(world, f"/stats/institutions/{BALIKPAPAN}?period=2026")["indicators"]["has_renaksi"] is True
    assert stats(world, f"/stats/institutions/{BALIKPAPAN}?period=2027")["indicators"] is None


# ------------------------------------------------------------------------------------------------ rankings

def ranking(world: World, query: str) -> list[dict[str, Any]]:
    return stats(world, "/rankings" + query)["ranking"]


def test_provinces_rank_by_completion_rate(sw):
    rows = ranking(sw, "?level=province&period=2026")

    assert rows[0]["code"] == "64" and rows[0]["rank"] == 1
    assert rows[0]["figures"]["completion_rate"] == 40.0  # 2 of 5
    assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 38 and all(row["figures"]["completion_rate"] is None for row in rows[1:])
    assert [row["code"] for row in rows[1:]] == sorted(row["code"] for row in rows[1:])  # no figures: by code
    assert stats(sw, "/rankings?period=2026")["level"] == "province"


def test_the_kabupaten_kota_of_a_province_rank_by_completion_rate(sw):
    rows = ranking(sw, "?level=regency&province=64&period=2026-03")
    top = [(row["code"], row["figures"]["completion_rate"], row["figures"]["follow_up_speed_working_days"])
           for row in rows[:2]]

    # Balikpapan 1 of 1 closed (100 %); Samarinda 1 of 3 (33.33 %).
    assert top == [("64.71", 100.0, 8.0), ("64.72", 33.33, 0.0)]
    assert {row["code"] for row in rows} == {"64.01", "64.02", "64.03", "64.07", "64.08", "64.09", "64.11",
                                             "64.71", "64.72", "64.74"}


def test_institutions_with_the_same_completion_rate_rank_faster_first(new_world):
    world = new_world()
    world.submit("samarinda")
    world.submit("balikpapan", region_code="64.71")
    world.verify("samarinda")
    world.verify("balikpapan", BALIKPAPAN)
    world.do("samarinda", "follow-ups", {"message": "Selesai.", "final": True}, token=ADMIN_SAMARINDA)
    world.do("samarinda", "acceptance", {"rating": 5}, as_reporter=True)
    world.clock.now = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)
    world.do("balikpapan", "follow-ups", {"message": "Selesai.", "final": True}, token=ADMIN_BALIKPAPAN)
    world.do("balikpapan", "acceptance", {"rating": 3}, as_reporter=True)
    world.pump()

    for query, codes in (("?level=institution&province=64&period=2026", [SAMARINDA, BALIKPAPAN]),
                         ("?level=regency&province=64&period=2026", ["64.72", "64.71"])):
        rows = ranking(world, query)
        assert [row["code"] for row in rows[:2]] == codes, query  # the slower one has the smaller code
        assert [row["figures"]["completion_rate"] for row in rows[:2]] == [100.0, 100.0]
        assert [row["figures"]["follow_up_speed_working_days"] for row in rows[:2]] == [0.0, 8.0]


def test_ranking_institutions_of_a_province_lists_only_its_institutions(sw):
    rows = ranking(sw, "?level=institution&province=64&period=2026")

    assert {row["code"] for row in rows} == {"pemprov-kaltim", SAMARINDA, BALIKPAPAN, "pemkab-kutai-timur"}
    assert [row["code"] for row in rows[:2]] == [BALIKPAPAN, SAMARINDA]
    national = ranking(sw, "?level=institution&period=2026")
    assert len(national) == 20 and national[0]["code"] == BALIKPAPAN


def test_the_composite_score_follows_the_documented_formula(sw):
    rows = {row["code"]: row for row in ranking(sw, "?level=institution&province=64&period=2026")}
    samarinda, balikpapan = rows[SAMARINDA], rows[BALIKPAPAN]

    # 50 × completion + 20 × speed score (full at ≤ 5 WD, else 5 / speed) + 10 per indicator met.
    assert samarinda["composite_score"] == round(50 * 0.25 + 20 * 1.0 + 10 * 2, 2) == 52.5
    assert balikpapan["composite_score"] == round(50 * 1.0 + 20 * 5 / 8, 2) == 62.5
    assert rows["pemprov-kaltim"]["composite_score"] == 0.0
    assert samarinda["indicators"]["has_sk"] is True and balikpapan["indicators"] is None
    for row in rows.values():
        assert row["composite_score"] == composite_score(row["figures"], row["indicators"])
    regency = {row["code"]: row for row in ranking(sw, "?level=regency&province=64&period=2026")}
    assert regency["64.72"]["institution_id"] == SAMARINDA
    assert regency["64.72"]["composite_score"] == samarinda["composite_score"]


def test_composite_score_edges():
    none = {"completion_rate": None, "follow_up_speed_working_days": None}
    assert composite_score(none, None) == 0.0
    assert composite_score({"completion_rate": 100.0, "follow_up_speed_working_days": 5.0},
                           {"has_sk": True, "has_renaksi": True, "follow_up_quality": True}) == 100.0
    assert composite_score({"completion_rate": 99.27, "follow_up_speed_working_days": 26.1}, None) == round(
        50 * 0.9927 + 20 * 5 / 26.1, 2)


@pytest.mark.parametrize(("query", "field_name"), [("?level=regency&period=2026", "province"),
                                                   ("?level=kecamatan&period=2026", "level"),
                                                   ("?level=regency&province=64.72&period=2026", "province")])
def test_a_ranking_that_cannot_be_drawn_is_refused(sw, query, field_name):
    problem = error_of(sw.get("/rankings" + query), 422, "validation_failed")
    assert problem["details"]["field"] == field_name


def test_ranking_the_kabupaten_kota_of_an_unknown_province_is_not_found(sw):
    error_of(sw.get("/rankings?level=regency&province=99&period=2026"), 404, "not_found")
