"""The pump's bounded drain (what `lapor serve` does when it stops): it delivers whole batches cut to what
ends before the deadline, starts none after it, checkpoints what it delivered, and the next pump delivers
the rest — each record once."""
from __future__ import annotations

import time
from collections import Counter
from typing import Any

from infra.local.pump import Checkpoints
from tests.projections.test_stream_pump import (
    counting,
    new_pump,
    project,
    received,
    submit,
)


def slow(seconds_per_record: float, deliver=project):
    def wrapped(event: dict[str, Any]) -> Any:
        time.sleep(seconds_per_record * len(event["Records"]))
        return deliver(event)
    return wrapped


def test_a_bounded_drain_stops_near_its_deadline_and_the_next_pump_delivers_the_rest(services, api, tmp_path):
    path = tmp_path / "checkpoint.json"
    ids = submit(api, 30)
    first: Counter = Counter()
    pump = new_pump(services, counting(first, slow(0.05)), checkpoints=Checkpoints(path))
    began = time.monotonic()
    delivered, complete = pump.drain_for(0.5)
    took = time.monotonic() - began
    assert not complete and 0 < delivered < 30 and sum(first.values()) == delivered
    # No batch was started that the measured speed said would end past the deadline (all 30 take >= 1.5 s;
    # the margin is for a batch slower than the ones before it, on a loaded machine).
    assert took < 1.2
    assert pump.seconds_per_record is not None and pump.seconds_per_record >= 0.05

    rest: Counter = Counter()
    assert new_pump(services, counting(rest), checkpoints=Checkpoints(path)).drain() == 30 - delivered
    assert set(first) | set(rest) == {(report_id, 1) for report_id in ids} and not set(first) & set(rest)
    assert received(services) == 30


def test_a_bounded_drain_with_time_enough_reads_the_stream_to_its_end(services, api):
    submit(api, 5)
    pump = new_pump(services)
    assert pump.drain_for(30) == (5, True)
    assert pump.drain_for(30) == (0, True)  # nothing new: at once, and still complete
    assert received(services) == 5


def test_a_drain_with_no_time_left_starts_no_batch(services, api):
    submit(api, 3)
    deliveries: Counter = Counter()
    pump = new_pump(services, counting(deliveries))
    assert pump.drain_for(0) == (0, False)
    assert not deliveries
    assert pump.drain() == 3  # the deadline does not outlive the drain that set it
    assert {k[1] for k in deliveries} == {1} and len(deliveries) == 3
