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
