"""The figures of the source articles (../shared/seeds) reproduce through the real commands and the API.

Kepri 2022: 273 received, 271 finished, 2 in process → completion 99.27 % (Kemendagri ranked it first).
Samarinda 2022: 92 received, 49 finished, 33 in process, 10 not followed up → completion 53.26 %.
Kaltim 2020: 59 received, 53 finished, 2 in process, 4 not processed → follow-up rate 93 % (KemenPANRB).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from chalice.test import Client

from chalicelib.bootstrap import build_services, use_services
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.services.handlers import Request
from chalicelib.store.memory import InMemoryEventStore
from projections.runner import Projector
from projections.statistics import InMemoryCounters
from tests.support.builders import submit_command, verify_command
from tests.support.principals import NASIONAL
from tests.support.settings import FakeClock, test_settings

CASES = {
    # region, institution, year, finished, in process, disposed but not followed up
    "kepri": ("21", "pemprov-kepri", 2022, 271, 2, 0),
    "samarinda": ("64.72", "pemkot-samarinda", 2022, 49, 33, 10),
    "kaltim": ("64", "pemprov-kaltim", 2020, 53, 2, 4),
}


def _history(services, clock: FakeClock, region: str, institution: str, year: int, finished: int,
             in_process: int, waiting: int) -> None:
    admin = Principal(role="admin_instansi", user_id=f"{institution}-admin", institution_id=institution)
    clock.now = datetime(year, 1, 5, 2, 0, tzinfo=timezone.utc)
    for n in range(finished + in_process + waiting):
        clock.advance(hours=17)  # spread over the year, all within it
        request = lambda: Request(now=clock(), correlation_id=f"seed-{n}")  # noqa: E731
        submitted = services.commands.submit(submit_command(title=f"Laporan {n}", region_code=region, location=None),
                                             request())
        report_id = submitted["report_id"]
        services.commands.execute(report_id, verify_command(NASIONAL, institution), request())
        if n < finished + in_process:
            services.commands.execute(report_id, c.PostFollowUp(
                principal=admin, message="Sedang ditangani", final=n < finished), request())
        if n < finished:
            token_hash = services.commands.load_state(report_id).access_token_hash
            services.commands.execute(report_id, c.AcceptResolution(
                principal=Principal(role="reporter", report_token_hash=token_hash), rating=4, comment=None),
                request())


@pytest.fixture(scope="module")
def seeded():
    """One world for all three cases, on the in-memory twins of the event store and the statistics counters
    (moto needs ~40 ms per statistics transaction; the DynamoDB twin is held to the same results under
    redelivery in test_statistics.py)."""
    import boto3
    from moto import mock_aws

    from infra.tables import create_tables

    with mock_aws():
        create_tables(boto3.client("dynamodb"), "test")
        clock = FakeClock()
        store = InMemoryEventStore()
        services = build_services(test_settings(), store=store, clock=clock)
        counters = InMemoryCounters()
        services.counters = lambda table_name: counters
        for case in CASES.values():
            _history(services, clock, *case)
        projector = Projector([services.stats])
        events = list(store.read_days("2015-01-01", "2030-12-31"))
        for event in events:
            projector.apply(event)
        for event in events[: len(events) // 3]:  # redelivered: must change nothing
            projector.apply(event)
        use_services(services)
        import app as app_module

        with Client(app_module.app) as client:
            yield client
        use_services(None)


def _figures(client, path: str) -> dict:
    response = client.http.get(path)
    assert response.status_code == 200, response.json_body
    return response.json_body["figures"]


def test_kepri_2022_completion_rate_is_99_27_percent(seeded):
    figures = _figures(seeded, "/stats/regions/21?period=2022")
    assert (figures["received"], figures["buckets"]["selesai"], figures["buckets"]["dalam_proses"]) == (273, 271, 2)
    assert figures["completion_rate"] == 99.27


def test_samarinda_2022_completion_rate_is_53_26_percent(seeded):
    figures = _figures(seeded, "/stats/institutions/pemkot-samarinda?period=2022")
    assert figures["received"] == 92
    assert figures["buckets"] == {"belum_diverifikasi": 0, "belum_ditindaklanjuti": 10, "dalam_proses": 33,
                                  "selesai": 49}
    assert figures["completion_rate"] == 53.26
    assert _figures(seeded, "/stats/regions/64.72?period=2022")["completion_rate"] == 53.26


def test_kaltim_2020_follow_up_rate_is_93_percent(seeded):
    figures = _figures(seeded, "/stats/regions/64?period=2020")
    assert (figures["received"], figures["buckets"]["selesai"], figures["buckets"]["dalam_proses"]) == (59, 53, 2)
    assert figures["follow_up_rate"] == 93.22 and round(figures["follow_up_rate"]) == 93


def test_province_figures_include_their_kabupaten_kota(seeded):
    # Samarinda's 2022 reports are Kaltim's 2022 reports too; its 2020 reports are not.
    assert _figures(seeded, "/stats/regions/64?period=2022")["received"] == 92
    assert _figures(seeded, "/stats/regions/64?period=2020-Q1")["received"] <= 59


def test_kepri_ranks_first_among_provinces_in_2022(seeded):
    response = seeded.http.get("/rankings?level=province&period=2022")
    ranking = response.json_body["ranking"]
    assert [row["code"] for row in ranking[:2]] == ["21", "64"]
    assert ranking[0]["figures"]["completion_rate"] == 99.27 and ranking[0]["rank"] == 1
