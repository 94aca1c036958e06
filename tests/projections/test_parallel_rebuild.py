"""The parallel rebuild (readers ahead by day, workers by report) builds exactly what the sequential one does,
keeps each report's events in order however the threads are scheduled, and stops cleanly on any failure."""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import defaultdict

import pytest
from botocore.exceptions import ClientError

from chalicelib.generations import RebuildLock
from chalicelib.services.operations import RebuildProgress, rebuild
from chalicelib.services.parallel import ReportWorkers, read_days_in_order
from chalicelib.store.models import EventItem, bind
from infra.tables import DEADLINES, REPORT_VIEWS, STATS
from tests.bench import data
from tests.bench.common import batch_put

REPORTS = 40  # x 5 events, submitted over 6 days; each report's events span 2-3 days


_STREAMS: dict[str, list] = {}


def _streams(services, first: dt.date) -> list:
    """Made once per test run (the domain's events do not depend on the test's tables)."""
    key = first.isoformat()
    if key not in _STREAMS:
        templates = [data.make_template(services.reference, services.calendar, start, life)
                     for start in data.day_starts(first, 6) for life in data.LIVES]
        _STREAMS[key] = [data.copy_events(template, rid, shift)
                         for template, rid, shift in data.copies(templates, REPORTS)]
    return _STREAMS[key]


@pytest.fixture
def log(services, clock):
    """A real, hash-chained log of many reports over many days (tests/bench/data: the real domain's events),
    written as the store writes events (its own item serialization), 25 to a BatchWriteItem."""
    first = clock.now.date() - dt.timedelta(days=12)
    streams = _streams(services, first)
    table = services.settings.table_names["events"]
    batch_put(services.dynamodb(), table,
              data.event_items(bind(EventItem, table, host=None, region=services.settings.region), streams))
    services.generations.note_first_day(first.isoformat())
    assert any(stream[0].day != stream[-1].day for stream in streams)  # reports whose events span days
    return streams


def _items(services, table: str) -> dict[str, dict]:
    client, items, start = services.dynamodb(), {}, None
    while True:
        page = client.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            key = item.get("report_id", item.get("key"))["S"]
            items[key] = item
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def _without_zero_counters(items: dict[str, dict]) -> dict[str, dict]:
    """What the statistics API reads (chalicelib/http/stats_routes.py `figures`: an absent counter is 0)."""
    return {key: {name: value for name, value in item.items() if value != {"N": "0"}} for key, item in items.items()}


def _live(services, logical: str) -> str:
    return services.generations.table_name(logical)


def _lock_is_free(services, clock) -> bool:
    lock = RebuildLock(services.dynamodb(), services.settings.table_names["control"], "probe", clock)
    lock.acquire("probe")
    lock.release()
    return True


@pytest.mark.parametrize("logical", [REPORT_VIEWS, STATS, DEADLINES])
def test_the_parallel_rebuild_builds_exactly_the_items_the_sequential_one_does(services, clock, log, logical):
    sequential = rebuild(services, logical, now=clock, workers=1, readers=1)
    expected = _items(services, _live(services, logical))

    parallel = rebuild(services, logical, now=clock, workers=8, readers=3)
    got = _items(services, _live(services, logical))

    assert services.generations.current()[logical] == 2
    assert parallel.events == sequential.events == REPORTS * 5
    assert len(expected) >= REPORTS
    if logical == STATS:  # counters summed per batch never write a +1 -1 pair: a counter at 0 may be absent
        expected, got = _without_zero_counters(expected), _without_zero_counters(got)
    assert got == expected  # every attribute of every item


class Recording:
    """The real read model, with each event's application delayed at random and recorded in order."""

    def __init__(self, target, seed: int, fail_on: tuple[str, int] | None = None) -> None:
        self._target, self._random, self._fail_on = target, random.Random(seed), fail_on
        self.seen: dict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()

    def handles(self, stored) -> bool:
        return self._target.handles(stored)

    def project(self, stored) -> bool:
        with self._lock:
            pause = self._random.random() / 2000  # up to 0.5 ms: shuffles which worker runs when
        time.sleep(pause)
        if self._fail_on == (stored.stream_id, stored.version):
            raise RuntimeError(f"broken on {stored.stream_id} v{stored.version}")
        with self._lock:
            self.seen[stored.stream_id].append(stored.version)
        return self._target.project(stored)


class RecordingRuns(Recording):
    """The same, for the read model's `project_run` (a run of one report's events at once)."""

    def project_run(self, events) -> int:
        with self._lock:
            pause = self._random.random() / 500
        time.sleep(pause)
        assert len({e.stream_id for e in events}) == 1
        with self._lock:
            self.seen[events[0].stream_id] += [e.version for e in events]
        return self._target.project_run(events)


def _recording(services, monkeypatch, seed: int, fail_on=None, kind=Recording) -> list[Recording]:
    made: list[Recording] = []
    original = services.read_model_in

    def read_model_in(logical, table_name):
        made.append(kind(original(logical, table_name), seed, fail_on))
        return made[-1]

    monkeypatch.setattr(services, "read_model_in", read_model_in)
    return made


@pytest.mark.parametrize(("seed", "kind"), [(1, Recording), (2, Recording), (3, RecordingRuns)])
def test_each_reports_events_are_applied_in_version_order_under_random_scheduling(services, clock, log,
                                                                                    monkeypatch, seed, kind):
    made = _recording(services, monkeypatch, seed, kind=kind)

    rebuild(services, REPORT_VIEWS, now=clock, workers=12, readers=4)

    seen = made[0].seen
    assert {stream[0].stream_id: [e.version for e in stream] for stream in log} == dict(seen)
    rebuilt = made[0]._target  # the new generation, now live
    assert all(rebuilt.get(stream[0].stream_id, consistent=True)["version"] == len(stream) for stream in log)


def test_runs_of_one_reports_events_reach_project_runs_in_order():
    """A read model that takes runs gets each worker's held events grouped by report, each run in order."""
    runs: list[list[tuple[str, int]]] = []
    lock = threading.Lock()
    gate = threading.Event()

    def project_runs(batch) -> None:
        gate.wait(5)  # hold the workers until everything is queued
        with lock:
            runs.extend([(e.stream_id, e.version) for e in events] for events in batch)

    events = [_Event(f"LAP-{n % 7}", n // 7 + 1) for n in range(70)]
    workers = ReportWorkers(lambda e: None, workers=3, capacity=100, apply_runs=project_runs, run_limit=8)
    for event in events:
        workers.submit(event)
    gate.set()
    assert workers.finish() == 70

    by_report: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        assert len({sid for sid, _ in run}) == 1  # one report per run
        by_report[run[0][0]] += [v for _, v in run]
    assert dict(by_report) == {f"LAP-{r}": list(range(1, 11)) for r in range(7)}
    assert any(len(run) > 1 for run in runs)


class _Event:
    def __init__(self, stream_id: str, version: int) -> None:
        self.stream_id, self.version = stream_id, version


def test_a_failing_worker_stops_the_rebuild_without_switching_and_releases_the_lock(services, clock, log,
                                                                                      monkeypatch):
    broken = (log[len(log) // 2][0].stream_id, 3)
    made = _recording(services, monkeypatch, seed=7, fail_on=broken)

    with pytest.raises(RuntimeError, match="broken on"):
        rebuild(services, REPORT_VIEWS, now=clock, workers=8, readers=3)

    assert services.generations.current()[REPORT_VIEWS] == 0  # never switched
    assert _lock_is_free(services, clock)
    assert not [t for t in threading.enumerate() if t.name.startswith("rebuild-")]  # every thread stopped
    assert sum(map(len, made[0].seen.values())) < REPORTS * 5


def test_a_failing_read_stops_the_rebuild_without_switching(services, clock, log, monkeypatch):
    days = sorted({stream[1].day for stream in log})
    original = services.store.read_days

    def read_days(first, last):
        if first == days[2]:
            raise ConnectionError("the network went away")
        return original(first, last)

    monkeypatch.setattr(services.store, "read_days", read_days)
    with pytest.raises(ConnectionError):
        rebuild(services, REPORT_VIEWS, now=clock, workers=4, readers=3)
    assert services.generations.current()[REPORT_VIEWS] == 0
    assert _lock_is_free(services, clock)
    assert not [t for t in threading.enumerate() if t.name.startswith("rebuild-")]


def test_a_throttled_or_conflicting_write_is_retried_and_nothing_is_lost(services, clock, log, monkeypatch):
    made = _recording(services, monkeypatch, seed=5)
    victim = log[3][0].stream_id
    failures = {"left": 2}

    def project(stored, original=None):
        target = made[-1]
        if stored.stream_id == victim and stored.version == 2 and failures["left"]:
            failures["left"] -= 1
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                               "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]},
                              "TransactWriteItems")
        return Recording.project(target, stored)

    original_read_model_in = services.read_model_in

    def read_model_in(logical, table_name):
        recording = original_read_model_in(logical, table_name)
        recording.project = project
        return recording

    monkeypatch.setattr(services, "read_model_in", read_model_in)
    rebuild(services, REPORT_VIEWS, now=clock, workers=4, readers=2, sleep=lambda s: None)

    assert failures["left"] == 0
    assert made[0]._target.get(victim, consistent=True)["version"] == 5


def test_progress_reports_days_events_rate_and_an_eta(services, clock, log):
    seen: list[RebuildProgress] = []

    result = rebuild(services, REPORT_VIEWS, now=clock, workers=6, readers=2, on_progress=seen.append)

    assert [p.days_done for p in seen] == sorted(p.days_done for p in seen)
    assert seen[-1].days_done == seen[-1].days_total == result.days_total
    assert seen[-1].events == result.events == REPORTS * 5
    assert all(p.expected == REPORTS * 5 for p in seen)  # the events table's ItemCount
    assert all(p.workers == 6 and p.readers == 2 for p in seen)
    assert result.rate > 0 and all(p.eta is not None for p in seen if p.seconds > 0)
    assert seen[-1].eta == 0


def test_the_eta_comes_from_the_events_left_else_from_the_days_left():
    by_events = RebuildProgress("report_views", 5, 50, events=200, seconds=10.0, read=250, expected=1000)
    assert by_events.eta == pytest.approx(30.0) and by_events.rate == 20.0
    by_days = RebuildProgress("report_views", 5, 50, events=200, seconds=10.0, read=250, expected=None)
    assert by_days.eta == pytest.approx(90.0)
    passed = RebuildProgress("report_views", 5, 50, events=200, seconds=10.0, read=1200, expected=1000)
    assert passed.eta == pytest.approx(90.0)  # the (approximate) count was passed: by days
    assert RebuildProgress("report_views", 0, 50, events=0, seconds=0.0).eta is None


def test_days_are_handed_on_in_order_whatever_order_the_readers_finish_in():
    days = [f"2026-01-{n:02d}" for n in range(1, 21)]
    rng = random.Random(11)
    pauses = {day: rng.random() / 200 for day in days}

    def read_day(day):
        for n in range(30):
            time.sleep(pauses[day] / 30)
            yield _Event(f"{day}#{n}", 1)

    out = list(read_days_in_order(read_day, days, readers=5, day_capacity=7))

    assert [e.stream_id for _, e in out if e is not None] == [f"{d}#{n}" for d in days for n in range(30)]
    assert [d for d, e in out if e is None] == days


def test_the_progress_line_shows_the_bar_events_rate_and_eta():
    from infra.cli import _rebuild_line

    line = _rebuild_line(RebuildProgress("report_views", 5, 50, events=200, seconds=10.0, read=250, expected=1000))
    assert line == ("report_views  [###...........................] 5/50 days  200/1,000 events  20 events/s  "
                    "ETA 00:30")
    long = _rebuild_line(RebuildProgress("stats", 1, 400, events=10, seconds=100.0))
    assert long.endswith("0 events/s  ETA 11:05:00") and "10 events" in long
    assert _rebuild_line(RebuildProgress("stats", 0, 4, events=0, seconds=0.0)).endswith("ETA --:--")
