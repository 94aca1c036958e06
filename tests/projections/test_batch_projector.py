"""The batch-aware projector: within one stream batch each read model reads and writes a report once.

The stream path (`project_events` -> Projector.handle_batch) groups a batch's events by report and hands each
read model the whole run of a report's events; statistics sum the batch's contributions per counter item. The
tests count the DynamoDB requests of one batch, redeliver it whole and from a failed record, compare batched
folding with one event at a time over random interleavings and batch sizes, and check the statistics twins
against the per-event path and TransactWriteItems' 100-item limit.
"""
from __future__ import annotations

import random
from collections import Counter
from typing import Any, Iterator

import boto3
import botocore.client
import pytest

from events.base import StoredEvent
from projections.guard import OutOfOrder, PartlyApplied, fold_run
from projections.report_view import ReportViews
from projections.runner import group_by_report
from projections.statistics import MAX_TRANSACTION_ITEMS, DynamoDBCounters, InMemoryCounters
from tests.projections.test_report_view import (  # noqa: F401 — fixtures, used by name
    capture_batches,
    deterministic_salts,
    failures,
    interleavings,
    key,
    new_world,
    project,
    records_of,
    reference_views,
)
from tests.projections.test_statistics import (  # noqa: F401 — fixtures, used by name
    Desk,
    counter_keys,
    expected_totals,
    history,
    new_counters,
    non_zero,
    statistics_on,
)
from tests.support.builders import verify_command
from tests.support.principals import NASIONAL

# ------------------------------------------------------------------------------------------------ helpers


class Requests:
    """Every DynamoDB request any botocore client (boto3's, pynamodb's) makes, by (operation, table)."""

    def __init__(self) -> None:
        self.made: Counter[tuple[str, str]] = Counter()

    def of(self, table_part: str) -> dict[str, int]:
        return {operation: n for (operation, table), n in self.made.items() if table_part in table}

    @property
    def writes(self) -> Counter[tuple[str, str]]:
        return Counter({k: n for k, n in self.made.items() if k[0] in (
            "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")})


@pytest.fixture
def requests(monkeypatch) -> Iterator[Requests]:
    counted, original = Requests(), botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            if operation_name == "TransactWriteItems":
                tables = {next(iter(item.values()))["TableName"] for item in api_params["TransactItems"]}
            elif operation_name in ("BatchGetItem", "BatchWriteItem"):
                tables = set(api_params["RequestItems"])
            else:
                tables = {api_params.get("TableName", "")}
            for table in tables:
                counted.made[operation_name, table] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    yield counted


def scan(table: str) -> list[dict[str, Any]]:
    client, items, start = boto3.client("dynamodb"), [], None
    while True:
        page = client.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return sorted(items, key=lambda item: sorted((k, str(v)) for k, v in item.items()))


def everything(world) -> dict[str, Any]:
    """What every read model holds: every item of the views, deadlines, outbox and stats tables (statistics
    counters up to fields at 0, see test_statistics)."""
    names = world.services.settings.table_names
    generations = world.services.generations
    stats = scan(generations.table_name("stats"))
    counters = {item["key"]["S"]: {n: int(v["N"]) for n, v in item.items() if "N" in v}
                for item in stats if not item["key"]["S"].startswith("guard#")}
    return {"views": scan(generations.table_name("report_views")), "deadlines": scan(generations.table_name("deadlines")),
            "outbox": scan(names["outbox"]), "guards": [item for item in stats if item["key"]["S"].startswith("guard#")],
            "counters": non_zero(counters)}


@pytest.fixture
def script_records(new_world) -> list[dict[str, Any]]:
    """The script's 20 stream records (3 reports), as the stream holds them, read once."""
    source = new_world()
    source.run_script()
    return records_of(capture_batches(source))


# ------------------------------------------------------------------------------------------------ pure folding

def test_fold_run_skips_what_was_applied_stops_at_a_gap_and_keeps_what_it_folded(history):
    report_ids, events = history
    r1 = [stored for stored in events if stored.stream_id == report_ids[0]]
    add = lambda total, stored: total + [stored.version]  # noqa: E731

    folded = fold_run(r1, 2, [], add)  # v1, v2 already applied
    assert (folded.value, folded.last, folded.version, folded.start, folded.finish()) == (
        [3, 4, 5, 6, 7], 2, 7, 2, 5)

    gap = fold_run(r1[:2] + r1[3:], 0, [], add)  # v3 missing
    assert gap.value == [1, 2] and gap.version == 2 and gap.stopped_at == 2
    with pytest.raises(PartlyApplied) as stopped:
        gap.finish()
    assert stopped.value.done == 2 and isinstance(stopped.value.cause, OutOfOrder)

    def broken_at_v4(total, stored):
        if stored.version == 4:
            raise ValueError("a bug")
        return add(total, stored)

    broken = fold_run(r1, 1, [], broken_at_v4)
    assert broken.value == [2, 3] and broken.start == 1 and broken.done == 3
    assert broken.unwritten(ConnectionError()).done == 1  # a failed write: v2 is the first it lacks

    assert fold_run(r1 + r1[-1:], 0, [], add).value == [1, 2, 3, 4, 5, 6, 7]  # a duplicate record is skipped


def test_group_by_report_keeps_each_reports_versions_in_order(history):
    _, events = history
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    runs = group_by_report(shuffled)
    assert sorted(run[0].stream_id for run in runs) == sorted({stored.stream_id for stored in events})
    for run in runs:
        assert [stored.version for stored in run] == list(range(1, len(run) + 1))
        assert {stored.stream_id for stored in run} == {run[0].stream_id}


# ------------------------------------------------------------------------------------------------ one batch

def test_a_batch_writes_each_read_model_once_per_report(new_world, script_records, reference_views, requests):
    world = new_world()
    assert len(script_records) == 20 and len({key(r)[0] for r in script_records}) == 3
    requests.made.clear()  # the tables were made; from here on, only the projector

    response = project({"Records": script_records})

    assert failures(response) == []
    views, stats = requests.of("report_views"), requests.of("-stats")
    deadlines, outbox = requests.of("-deadlines"), requests.of("-outbox")
    messages = [item for item in scan(world.services.settings.table_names["outbox"])
                if not item["message_id"]["S"].startswith("report#")]
    # one read for the batch, one write per report, not per event
    assert views == {"BatchGetItem": 1, "PutItem": 3}
    assert deadlines == {"BatchGetItem": 1, "PutItem": 3}
    # the outbox: one read, one guard write per report, plus one create-only put per message
    assert outbox == {"BatchGetItem": 1, "PutItem": 3 + len(messages)} and messages
    # statistics: every guard in one BatchGetItem, every guard move and counter ADD in one transaction
    assert stats == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert world.views(reference_views) == reference_views


def test_redelivering_a_batch_whole_or_from_a_failed_record_changes_nothing(new_world, script_records, requests):
    world = new_world()
    assert failures(project({"Records": script_records})) == []
    before = everything(world)
    requests.made.clear()

    assert failures(project({"Records": script_records})) == []  # the whole batch again
    assert failures(project({"Records": script_records[7:]})) == []  # from a failed record on (Lambda's retry)
    for start in range(0, 20, 3):  # and in small pieces
        assert failures(project({"Records": script_records[start:start + 3]})) == []

    assert requests.writes == Counter()  # nothing written: every guard said "already applied"
    assert everything(world) == before


def test_a_report_whose_write_fails_fails_exactly_its_own_records_and_the_retry_completes_it(
        new_world, script_records, reference_views, monkeypatch):
    world = new_world()
    r2 = list(dict.fromkeys(key(record)[0] for record in script_records))[1]
    original, thrown = ReportViews.project_run, []

    def throttled_once(self, events, *stored):
        if events[0].stream_id == r2 and not thrown:
            thrown.append(True)
            raise ConnectionError("ProvisionedThroughputExceeded")
        return original(self, events, *stored)

    monkeypatch.setattr(ReportViews, "project_run", throttled_once)
    first = project({"Records": script_records})

    failed = failures(first)
    assert failed == [r["dynamodb"]["SequenceNumber"] for r in script_records if key(r)[0] == r2]
    views = world.views(reference_views)
    assert views[r2] is None  # none of r2 is in its view; the other reports are whole
    assert all(views[rid] == reference_views[rid] for rid in reference_views if rid != r2)
    # Lambda retries from the lowest failed sequence number: other reports' later records come again too.
    lowest = next(i for i, r in enumerate(script_records) if r["dynamodb"]["SequenceNumber"] == failed[0])
    assert any(key(r)[0] != r2 for r in script_records[lowest:])
    assert failures(project({"Records": script_records[lowest:]})) == []
    assert {rid: world.services.views.get(rid, consistent=True) for rid in reference_views} == reference_views


def test_an_event_ahead_of_its_predecessor_fails_only_its_report(new_world, script_records):
    world = new_world()
    per_report: dict[str, list[dict[str, Any]]] = {}
    for record in script_records:
        per_report.setdefault(key(record)[0], []).append(record)
    r1, r2, _ = per_report
    batch = [per_report[r1][0], per_report[r1][2], per_report[r1][3], per_report[r2][0], per_report[r2][1]]

    response = project({"Records": batch})

    assert failures(response) == [batch[1]["dynamodb"]["SequenceNumber"], batch[2]["dynamodb"]["SequenceNumber"]]
    assert world.services.views.get(r1, consistent=True)["version"] == 1
    assert world.services.views.get(r2, consistent=True)["version"] == 2


# ------------------------------------------------------------------------------------------------ equal to one at a time

def test_batched_folding_equals_one_event_at_a_time_for_random_interleavings(new_world, script_records):
    one_by_one = new_world()
    for record in script_records:
        assert failures(project({"Records": [record]})) == []
    expected = everything(one_by_one)
    assert expected["counters"] and expected["outbox"] and expected["deadlines"]

    for seed in range(4):
        order = interleavings(script_records, seed)
        world = new_world()
        rng, position = random.Random(seed), 0
        while position < len(order):
            size = rng.choice([2, 5, 9, 20])
            assert failures(project({"Records": order[position:position + size]})) == []
            position += size
        assert everything(world) == expected, seed


# ------------------------------------------------------------------------------------------------ statistics

def many_reports(count: int) -> list[StoredEvent]:
    desk = Desk()
    for n in range(count):
        report_id = desk.submit(region_code=("64.72", "64.71", "21.71")[n % 3])
        if n % 2:
            desk.run(report_id, verify_command(NASIONAL, "pemkot-samarinda"))
    return list(desk.store.read_days("2015-01-01", "2030-12-31"))


def test_statistics_sum_a_batch_per_counter_item_within_the_transaction_limit(new_counters, history):
    _, events = history
    counters = new_counters()
    stats = statistics_on(counters)
    calls: list[tuple[int, int, int]] = []
    original = counters.commit

    def recording(moves, deltas, puts):
        calls.append((len(moves), len(deltas), len(puts)))
        return original(moves, deltas, puts)

    counters.commit = recording
    assert stats.project_runs(group_by_report(events)) == [None] * 4

    assert calls == [(4, calls[0][1], 0)]  # one commit: four guards, each counter item once
    keys = counter_keys(events)
    assert calls[0][1] <= len(keys)
    per_event = statistics_on(InMemoryCounters())
    for stored in events:
        per_event.project(stored)
    assert non_zero(stats.read_many(keys)) == non_zero(per_event.read_many(keys)) == expected_totals(events)
    assert stats.project_runs(group_by_report(events)) == [None] * 4 and len(calls) == 1  # a redelivery: no write


@pytest.mark.parametrize("twin", ["in_memory", "dynamodb"])
def test_a_batch_above_the_transaction_limit_is_split_between_reports_and_counted_once(services, twin):
    events = many_reports(150)
    counters = InMemoryCounters() if twin == "in_memory" else DynamoDBCounters(
        services.settings.table_names["stats"], services.dynamodb)
    stats = statistics_on(counters)
    commits: list[int] = []
    original = counters.commit

    def recording(moves, deltas, puts):
        commits.append(len(moves) + len(deltas) + len(puts))
        return original(moves, deltas, puts)

    counters.commit = recording
    runs = group_by_report(events)
    assert stats.project_runs(runs) == [None] * 150

    assert len(commits) >= 2 and all(n <= MAX_TRANSACTION_ITEMS for n in commits)
    keys = counter_keys(events)
    assert non_zero(stats.read_many(keys)) == expected_totals(events)
    assert stats.read("region:ID", "2026")["received"] == 150
    guards = counters.guards(f"guard#{run[0].stream_id}" for run in runs)
    assert {key: version for key, (version, _) in guards.items()} == {
        f"guard#{run[0].stream_id}": run[-1].version for run in runs}


def test_the_twins_refuse_a_transaction_above_the_limit(services):
    from projections.statistics import GuardMove

    moves = [GuardMove(f"guard#LAP-{n:010d}", 0, 1, None) for n in range(MAX_TRANSACTION_ITEMS + 1)]
    for counters in (InMemoryCounters(), DynamoDBCounters(services.settings.table_names["stats"], services.dynamodb)):
        with pytest.raises(ValueError, match="items in one transaction"):
            counters.commit(moves, {}, {})
        assert counters.guards(move.key for move in moves) == {}


@pytest.mark.parametrize("twin", ["in_memory", "dynamodb"])
def test_a_guard_moved_by_a_concurrent_delivery_leaves_the_other_reports_of_the_batch_counted(services, history,
                                                                                               twin):
    _, events = history
    counters = InMemoryCounters() if twin == "in_memory" else DynamoDBCounters(
        services.settings.table_names["stats"], services.dynamodb)
    stats, racer = statistics_on(counters), statistics_on(counters)
    runs = group_by_report(events)
    original = counters.guards
    raced: list[bool] = []

    def read_then_lose_the_race(keys):
        seen = original(list(keys))
        if not raced:  # another delivery applies r1's first two events meanwhile
            raced.append(True)
            for stored in runs[0][:2]:
                assert racer.project(stored) is True
        return seen

    counters.guards = read_then_lose_the_race
    outcomes = stats.project_runs(runs)
    counters.guards = original

    assert raced
    assert outcomes[1:] == [None, None, None]  # the other reports were committed without r1
    assert isinstance(outcomes[0], PartlyApplied) and outcomes[0].done == 2  # r1 from v3 on: delivered again
    assert stats.project_runs([runs[0][2:]]) == [None]
    keys = counter_keys(events)
    assert non_zero(stats.read_many(keys)) == expected_totals(events)
