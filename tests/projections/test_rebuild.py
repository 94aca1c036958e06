"""`rebuild` into a fresh generation: never silently empty, and nothing written meanwhile is lost."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.services.operations import UnknownLogStart, rebuild
from tests.support.builders import REPORT_JALAN_RUSAK as REPORT


def test_a_rebuild_refuses_when_the_log_start_is_unknown_instead_of_emptying_the_read_model(services, clock):
    with pytest.raises(UnknownLogStart):
        rebuild(services, "report_views", now=clock)
    assert services.generations.current()["report_views"] == 0  # nothing was switched


def test_a_rebuild_that_spans_days_catches_up_with_every_event_written_meanwhile(services, api, pump, clock):
    # Given: one report in the log, projected live (which also records the log's first day).
    first = api.post("/reports", REPORT).json_body["report_id"]
    pump.drain()
    late = {}

    def meanwhile() -> None:
        # While the rebuild waits for the switch to reach every process, three days pass and a citizen
        # submits another report; the live projector would write it to the OLD generation only.
        clock.advance(days=3)
        late["id"] = api.post("/reports", REPORT).json_body["report_id"]

    # When
    result = rebuild(services, "report_views", now=clock, settle=meanwhile)

    # Then: the new generation is live and holds both reports, the late one through the catch-up.
    assert services.generations.current()["report_views"] == 1 and result.events == 1
    new_views = services.read_model_in("report_views", "test-report_views-g1")
    assert new_views.get(first)["status"] == "submitted"
    assert new_views.get(late["id"])["status"] == "submitted"


def test_a_rebuild_can_be_told_where_the_log_starts(services, api, clock):
    report_id = api.post("/reports", REPORT).json_body["report_id"]  # not projected: no first day recorded
    rebuild(services, "report_views", now=clock, since=(clock.now - timedelta(days=1)).date().isoformat())
    assert services.views.get(report_id)["version"] == 1


# ------------------------------------------------------------------------------------------- one at a time

def _lock(services, clock, owner: str):
    from chalicelib.generations import RebuildLock

    return RebuildLock(services.dynamodb(), services.settings.table_names["control"], owner, clock)


def _tables(services) -> list[str]:
    return services.dynamodb().list_tables()["TableNames"]


def test_a_second_rebuild_is_refused_while_one_runs_and_told_who_holds_the_lock(services, api, pump, clock):
    from chalicelib.generations import RebuildBusy

    api.post("/reports", REPORT)
    pump.drain()
    _lock(services, clock, "host-a:41:first").acquire("rebuild stats")

    with pytest.raises(RebuildBusy, match=r"rebuild stats, by host-a:41:first, started .* UTC"):
        rebuild(services, "report_views", now=clock)

    assert services.generations.current()["report_views"] == 0
    assert "test-report_views-g1" not in _tables(services)  # refused before it touched anything


def test_a_killed_rebuilds_lock_runs_out_and_the_next_rebuild_proceeds(services, api, pump, clock):
    api.post("/reports", REPORT)
    pump.drain()
    _lock(services, clock, "killed").acquire("rebuild report_views")  # never released: the process died
    clock.advance(minutes=11)  # past the 10-minute lease

    rebuild(services, "report_views", now=clock)

    assert services.generations.current()["report_views"] == 1


def test_a_rebuild_that_lost_its_lease_stops_without_switching(services, api, pump, clock):
    from chalicelib.generations import LeaseLost, RebuildBusy

    api.post("/reports", REPORT)
    pump.drain()

    def stalled(progress) -> None:  # the rebuild stalls past its lease, and another rebuild takes the lock
        clock.advance(minutes=11)
        _lock(services, clock, "the-other").acquire("rebuild report_views")

    with pytest.raises(LeaseLost):
        rebuild(services, "report_views", now=clock, on_progress=stalled)

    assert services.generations.current()["report_views"] == 0
    with pytest.raises(RebuildBusy, match="by the-other"):  # the other's lock was left alone
        _lock(services, clock, "third").acquire("x")


def test_the_lock_is_released_after_a_rebuild_and_after_one_that_failed(services, api, pump, clock):
    api.post("/reports", REPORT)
    pump.drain()
    rebuild(services, "report_views", now=clock)
    services.dynamodb().delete_item(TableName=services.settings.table_names["control"], Key={"key": {"S": "log"}})
    with pytest.raises(UnknownLogStart):  # a rebuild that fails (here: the log's start unknown) releases too
        rebuild(services, "stats", now=clock)

    rebuild(services, "report_views", now=clock, since=clock.now.date().isoformat())  # not refused as busy
    assert services.generations.current()["report_views"] == 2
