"""5. `lapor rebuild` (chalicelib.services.operations.rebuild) over a small log on the server and 100,000 events in-process.

Over HTTP, every event of a rebuild costs two round trips to the moto server (a consistent GetItem and a
conditional PutItem), a few ms each: 100,000 events would take 15+ minutes there, beyond this benchmark's
budget. The 100,000-event rebuild therefore runs on the same moto backend in-process (no HTTP; see
common.in_process), and the small log is rebuilt both ways, so the two modes can be compared at equal size.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import boto3

from chalicelib.bootstrap import Services, build_services
from chalicelib.services.operations import (
    DEFAULT_READERS,
    DEFAULT_WORKERS,
    RebuildProgress,
    days_between,
    rebuild,
)
from chalicelib.store.models import EventItem, bind
from events.chain import verify_chain
from infra.tables import EVENTS, REPORT_VIEWS, STATS, create_tables
from projections.statistics import InMemoryCounters
from tests.bench import data
from tests.bench.common import (
    COUNTER,
    MOTO,
    REGION,
    Usage,
    batch_put,
    breakdown,
    delete_tables,
    in_process,
    query_without_table_sort,
    total,
)
from tests.bench.read_models import ProjectionResults
from tests.conftest import test_settings

REBUILD_REPORTS = 20_000  # x 5 events = 100,000 events
REBUILD_DAYS = 50  # submission days (2026-01-05 onwards); each report's events span 2-3 days


@dataclass
class RebuildRun:
    model: str
    storage: str
    mode: str
    log_events: int
    progress: RebuildProgress  # the main pass, as rebuild() reports it
    wall: float  # the whole call: create the table, main pass, switch, catch-up of the days since the rebuild began
    usage: Usage
    moto: dict[str, tuple[float, int]]
    cpu: float = 0.0  # this process's CPU seconds in the call (moto in-process included; DynamoDB Local not)

    @property
    def rate(self) -> float:
        return self.progress.events / self.progress.seconds


@dataclass
class LargeLog:
    reports: int
    events: int
    days: int
    generate_s: float  # copy_events (hash chain) for every report
    serialize_s: float  # to_item(...).serialize() for every event
    write_s: float
    write_requests: int
    chains_checked: int
    chains_ok: bool
    rebuilt_views: int
    sample_view_ok: bool
    sorted_query_s: float  # one by-day Query page with moto's full-table sort, and without it
    unsorted_query_s: float
    same_page: bool


class TeeStore:
    """The event store, with `read_days` keeping what it read per day; `replaying` serves that back instead.

    The report-view rebuild reads the 100,000 events from moto through it; the statistics rebuild that follows
    gets the same events from memory, so it times rebuild's loop and the statistics code, not moto's reads a
    second time (measured once, in the first rebuild).
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self.days: dict[str, list[Any]] = {}
        self.replaying = False

    def read_days(self, first_day: str, last_day: str):
        for day in days_between(first_day, last_day):
            if self.replaying:
                yield from self.days.get(day, [])
                continue
            kept = []
            for event in self._store.read_days(day, day):
                kept.append(event)
                yield event
            self.days[day] = kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@dataclass
class RebuildResults:
    small_events: int
    small: list[RebuildRun]
    large_log: LargeLog
    large: list[RebuildRun]
    pairs: list[Pair] = field(default_factory=list)  # the same rebuild sequential and parallel, same run
    local: Pair | str | None = None  # the report-view pair on DynamoDB Local (or why it was not measured)
    notes: list[str] = field(default_factory=list)


SEQUENTIAL = {"workers": 1, "readers": 1}  # today's rebuild: one event after the other, in one thread
PARALLEL = {"workers": DEFAULT_WORKERS, "readers": DEFAULT_READERS}  # `lapor rebuild`'s defaults


def timed_rebuild(services: Services, model: str, storage: str, mode: str, today: dt.date,
                  log_events: int, threads: dict[str, int] = SEQUENTIAL) -> RebuildRun:
    COUNTER.table_prefix = services.settings.table_prefix + "-"
    try:
        with COUNTER.measure_all() as usage, MOTO.measure() as spent:
            started, cpu = time.perf_counter(), time.process_time()
            # The log's days are fixed by the generated data: rebuild as of a clock standing on `today` (noon UTC).
            progress = rebuild(services, model,
                               now=lambda: dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC),
                               **threads)
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        COUNTER.table_prefix = None
    return RebuildRun(model, storage, mode, log_events, progress, wall, usage, spent, cpu)


def table_items(client: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item of a read-model table by its key (a paged Scan): to compare two rebuilds item by item."""
    items, start = {}, None
    while True:
        page = client.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        items.update({(item.get("report_id") or item["key"])["S"]: item for item in page["Items"]})
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


@dataclass
class Pair:
    """The same rebuild, sequential then parallel, into two generations; their items compared."""

    sequential: RebuildRun
    parallel: RebuildRun
    items: int
    same_items: bool

    @property
    def ratio(self) -> float:
        return self.parallel.rate / self.sequential.rate


def rebuild_pair(services: Services, client: Any, model: str, storage: str, mode: str, today: dt.date,
                 log_events: int, compare: bool = True) -> Pair:
    sequential = timed_rebuild(services, model, storage, mode, today, log_events, SEQUENTIAL)
    first = services.generations.table_name(model)
    parallel = timed_rebuild(services, model, storage, mode, today, log_events, PARALLEL)
    if not compare:
        return Pair(sequential, parallel, 0, True)
    expected = table_items(client, first)
    got = table_items(client, services.generations.table_name(model))
    delete_tables(client, [first])
    return Pair(sequential, parallel, len(got), got == expected)


def rebuild_small(projection: ProjectionResults) -> list[RebuildRun]:
    """Section 4's log: over HTTP (its services), then the same tables in-process."""
    services = projection.services
    today = dt.date.fromisoformat(max(event.day for event in projection.event_list))
    n = projection.events
    runs = [timed_rebuild(services, REPORT_VIEWS, "report_views table", "HTTP", today, n),
            timed_rebuild(services, STATS, "DynamoDBCounters (TransactWriteItems)", "HTTP", today, n)]
    services.counters = lambda table_name: InMemoryCounters()
    try:
        runs.append(timed_rebuild(services, STATS, "InMemoryCounters", "HTTP (log reads only)", today, n))
    finally:
        services.counters = None
    with in_process():
        local = build_services(test_settings(dynamodb_endpoint=None, table_prefix=services.settings.table_prefix,
                                             region=REGION))
        local.generations.current()  # warm up: the in-process clients are made on first use
        local.views.get("LAP-WARMUP")
        runs.append(timed_rebuild(local, REPORT_VIEWS, "report_views table", "in-process", today, n))
        runs.append(timed_rebuild(local, STATS, "DynamoDBCounters (TransactWriteItems)", "in-process", today, n))
    runs.append(timed_rebuild(services, REPORT_VIEWS, "report_views table", "HTTP, parallel", today, n, PARALLEL))
    return runs


def write_log(client: Any, services: Services, names: dict[str, str], reports: int,
              host: str | None) -> tuple[LargeLog, dt.date, list[str]]:
    """The generated log (tests/bench/data), written with BatchWriteItem; its first day noted for rebuilds."""
    templates = [data.make_template(services.reference, services.calendar, start, life)
                 for start in data.day_starts(dt.date(2026, 1, 5), REBUILD_DAYS) for life in data.LIVES]
    started = time.perf_counter()
    streams = [data.copy_events(template, rid, shift) for template, rid, shift in data.copies(templates, reports)]
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    items = data.event_items(bind(EventItem, names[EVENTS], host=host, region=REGION), streams)
    serialize_s = time.perf_counter() - started
    started = time.perf_counter()
    write_requests = batch_put(client, names[EVENTS], items)
    write_s = time.perf_counter() - started
    events = len(items)
    del items
    first = min(stream[0].day for stream in streams)
    last = max(stream[-1].day for stream in streams)
    services.generations.note_first_day(first)
    samples = [streams[i][0].stream_id for i in range(0, len(streams), max(1, len(streams) // 20))]
    log = LargeLog(reports, events, REBUILD_DAYS, generate_s, serialize_s, write_s, write_requests, len(samples),
                   False, 0, False, 0.0, 0.0, False)
    return log, dt.date.fromisoformat(last), samples


def rebuild_large(reports: int = REBUILD_REPORTS) -> tuple[LargeLog, list[RebuildRun], list[Pair]]:
    prefix = "bench-rebuild"
    with in_process():
        client = boto3.client("dynamodb", region_name=REGION)
        names = create_tables(client, prefix, only=(EVENTS, REPORT_VIEWS, STATS, "control"))
        services = build_services(test_settings(dynamodb_endpoint=None, table_prefix=prefix, region=REGION))
        log, today, samples = write_log(client, services, names, reports, None)
        first = min(days_between("2026-01-05", today.isoformat()))
        events = log.events

        # moto sorts the whole table in every Query; measure one page both ways, then rebuild without it.
        def one_page() -> tuple[float, list[str]]:
            began = time.perf_counter()
            page = client.query(TableName=names[EVENTS], IndexName="by-day", KeyConditionExpression="#d = :d",
                                ExpressionAttributeNames={"#d": "day"},
                                ExpressionAttributeValues={":d": {"S": first}})
            return time.perf_counter() - began, [i["at_key"]["S"] for i in page["Items"]]

        sorted_s, sorted_keys = one_page()
        with query_without_table_sort():
            unsorted_s, unsorted_keys = one_page()
            chains_ok = all(verify_chain(sid, [s.to_dict() for s in services.store.load(sid)]).valid
                            for sid in samples)
            tee = services.store = TeeStore(services.store)
            views = rebuild_pair(services, client, REPORT_VIEWS, "report_views table", "in-process", today, events)
            tee.replaying = True
            made: list[InMemoryCounters] = []
            services.counters = lambda table_name: made.append(InMemoryCounters()) or made[-1]
            stats = rebuild_pair(services, client, STATS, "InMemoryCounters",
                                 "none: the log as the report-view rebuild read it, from memory", today, events,
                                 compare=False)
            stats.same_items = len(made) == 2 and made[0]._items == made[1]._items
            stats.items = sum(1 for key in made[-1]._items if not key.startswith("guard#")) if made else 0
            services.counters = None
            tee.days.clear()
        live = services.generations.table_name(REPORT_VIEWS)
        rebuilt = client.describe_table(TableName=live)["Table"]["ItemCount"]
        sample = services.views.get(samples[0], consistent=True)
        delete_tables(client, list(names.values()) + [live, services.generations.table_name(STATS)])
    log.chains_ok, log.rebuilt_views, log.sample_view_ok = chains_ok, rebuilt, bool(sample and sample["version"] == 5)
    log.sorted_query_s, log.unsorted_query_s, log.same_page = sorted_s, unsorted_s, sorted_keys == unsorted_keys
    return log, [views.sequential, stats.sequential], [views, stats]


LOCAL_REPORTS = 2_000  # x 5 = 10,000 events on DynamoDB Local: its sequential rebuild alone takes minutes


def rebuild_dynamodb_local(reports: int = LOCAL_REPORTS) -> Pair | str:
    """The report-view rebuild pair against DynamoDB Local (a separate JVM: its work runs outside our GIL)."""
    import tempfile
    from pathlib import Path

    from infra.local.dynamodb_local import (
        DynamoDBLocal,
        DynamoDBLocalMissing,
        find_installation,
    )

    try:
        installation = find_installation()
    except DynamoDBLocalMissing as missing:
        return f"not measured: {missing}"
    with tempfile.TemporaryDirectory() as folder:
        database = DynamoDBLocal(installation, db_path=Path(folder) / "db")
        database.start()
        try:
            client = boto3.client("dynamodb", endpoint_url=database.url, region_name=REGION)
            prefix = "bench-local-rebuild"
            names = create_tables(client, prefix, only=(EVENTS, REPORT_VIEWS, "control"))
            services = build_services(test_settings(dynamodb_endpoint=database.url, table_prefix=prefix,
                                                    region=REGION))
            log, today, _ = write_log(client, services, names, reports, database.url)
            return rebuild_pair(services, client, REPORT_VIEWS, "report_views table (DynamoDB Local)",
                                "HTTP to DynamoDB Local", today, log.events)
        finally:
            database.stop()


def rebuild_all(projection: ProjectionResults | None, reports: int = REBUILD_REPORTS,
                local_reports: int = LOCAL_REPORTS) -> RebuildResults:
    small = rebuild_small(projection) if projection else []
    log, large, pairs = rebuild_large(reports)
    local = rebuild_dynamodb_local(local_reports)
    return RebuildResults(projection.events if projection else 0, small, log, large, pairs, local)


def _requests(run: RebuildRun) -> str:
    return f"{total(run.usage.requests):,}: {breakdown(run.usage.requests)}"


def _reading(run: RebuildRun) -> float:
    """Seconds the rebuild spent in Query calls to the events table (reading the log), main pass and catch-up."""
    return sum(v for k, v in run.usage.seconds.items() if k[1] == "Query" and k[2] == "events")


def render_rebuild(result: RebuildResults) -> list[str]:
    lines: list[str] = []
    add = lines.append
    log = result.large_log
    add(f"## 5. Rebuild (`chalicelib.services.operations.rebuild`): {result.small_events:,} events over HTTP and in-process, "
        f"{log.events:,} events in-process")
    add("")
    add("`rebuild` creates the next table generation, reads the log day by day through the by-day index, feeds "
        "every event to the read model's `project`, switches the live generation, then re-reads every day since the rebuild began "
        "(catch-up: those events are already applied and the version guard skips them). *events/s* is the main "
        "pass as `rebuild` reports it; *wall* is the whole call; *reading* is the time in the Query calls that read "
        "the log (client side, moto included), per event of the log.")
    add("")
    add("| log | read model | storage | moto reached | workers / readers | events/s | ms per event | "
        "of which reading the log (summed over threads) | our CPU ms per event | wall s | requests |")
    add("|---|---|---|---|---|---|---|---|---|---|---|")
    local_runs = [result.local.sequential, result.local.parallel] if isinstance(result.local, Pair) else []
    for run in result.small + [r for pair in result.pairs for r in (pair.sequential, pair.parallel)] + local_runs:
        add(f"| {run.log_events:,} events | {run.model} | {run.storage} | {run.mode} | "
            f"{run.progress.workers} / {run.progress.readers} | {run.rate:,.1f} | "
            f"{1000 / run.rate:.2f} | {1000 * _reading(run) / run.log_events:.2f} ms | "
            f"{1000 * run.cpu / run.log_events:.2f} | {run.wall:.1f} | {_requests(run)} |")
    add("")
    add(f"### Sequential vs parallel, same log, same run (`rebuild(..., workers=1, readers=1)` vs `workers="
        f"{DEFAULT_WORKERS}, readers={DEFAULT_READERS}`, `lapor rebuild`'s defaults)")
    add("")
    add("| log | read model | backend | sequential events/s | parallel events/s | parallel / sequential | "
        "wall s (seq / par) | same items |")
    add("|---|---|---|---|---|---|---|---|")
    pairs = list(result.pairs) + ([result.local] if isinstance(result.local, Pair) else [])
    http_seq = next((r for r in result.small if r.model == REPORT_VIEWS and r.mode == "HTTP"), None)
    http_par = next((r for r in result.small if r.mode == "HTTP, parallel"), None)
    if http_seq and http_par:
        add(f"| {http_seq.log_events:,} events | {REPORT_VIEWS} | moto server over HTTP (same process) | "
            f"{http_seq.rate:,.0f} | {http_par.rate:,.0f} | **{http_par.rate / http_seq.rate:.2f}x** | "
            f"{http_seq.wall:.1f} / {http_par.wall:.1f} | (not compared) |")
    for pair in pairs:
        add(f"| {pair.sequential.log_events:,} events | {pair.sequential.model} | {pair.sequential.storage}, "
            f"{pair.sequential.mode} | {pair.sequential.rate:,.0f} | {pair.parallel.rate:,.0f} | "
            f"**{pair.ratio:.2f}x** | {pair.sequential.wall:.1f} / {pair.parallel.wall:.1f} | "
            f"{'yes' if pair.same_items else '**NO**'} ({pair.items:,} items) |")
    if isinstance(result.local, str):
        add(f"| | {REPORT_VIEWS} | DynamoDB Local | {result.local} | | | | |")
    add("")
    add("*same items*: every item of the generation the parallel rebuild wrote equals the sequential one's "
        "(a Scan of both; for InMemoryCounters, the two counter dicts).")
    add("")
    views = result.large[0]
    stats = result.large[1]
    reading = _reading(views)
    add(f"- The {log.events:,}-event log: {log.reports:,} reports x 5 events (two lives: submit, verify, assign, "
        f"follow-up, final answer; or submit, verify, final answer, accept + close), submitted over {log.days} days "
        f"(see *Sections 4-7: data and method*). Hash-chained with `chain_events` in {log.generate_s:.1f} s, "
        f"serialized with `to_item(...).serialize()` in {log.serialize_s:.1f} s, written with "
        f"{log.write_requests:,} BatchWriteItem requests in {log.write_s:.1f} s (in-process). "
        f"{log.chains_checked} sampled streams read back with `store.load`: hash chains valid: "
        f"{'yes' if log.chains_ok else '**NO**'}.")
    add(f"- The {log.events:,}-event report-view rebuild: {views.rate:,.0f} events/s, {views.wall / 60:.1f} min for "
        f"the whole call. Reading the log took {reading:.0f} s of it ({log.events / reading:,.0f} events/s of "
        f"Query); the rest, {1000 * (views.progress.seconds - reading) / log.events:.2f} ms per event, is the "
        "GetItem + conditional PutItem per event (moto in-process) and our projection code. Afterwards the live "
        f"report_views generation holds {log.rebuilt_views:,} views (expected {log.reports:,}); a sampled view is "
        f"at version 5: {'yes' if log.sample_view_ok else '**NO**'}.")
    if result.small:
        small_stats = [r for r in result.small if r.model == STATS and r.storage.startswith("DynamoDB")]
        txn = {r.mode: r.moto.get("transact_write_items", (0.0, 0)) for r in small_stats}
        txn_text = "; ".join(f"{mode}: {r.rate:,.0f} events/s, moto {1000 * txn[mode][0] / max(txn[mode][1], 1):.1f} ms "
                             "per TransactWriteItems inside its backend" for mode, r in ((r.mode, r) for r in small_stats))
        add(f"- Statistics at {log.events:,} events ran on **InMemoryCounters** (the same Statistics code, counters in a "
            f"dict) and, to time our code rather than moto's reads twice, was fed the log as the report-view rebuild had "
            f"just read it (kept in memory): {stats.rate:,.0f} events/s sequential. A full statistics rebuild from moto is that plus "
            f"the read above. **DynamoDBCounters were measured only on the {result.small_events:,}-event log** "
            f"({txn_text}): on moto every statistics transaction deep-copies the whole stats table (see section 4), so "
            f"{log.events:,} events, with {log.reports:,} guard items in that table, do not fit this benchmark's time.")
    add(f"- moto's Query sorts the whole table on every call (moto/dynamodb/models/table.py `Table.all_items`, "
        f"called by `Table.query`): one by-day page of the {log.events:,}-event table took "
        f"{log.sorted_query_s:.2f} s that way and {log.unsorted_query_s:.2f} s without the sort (same items in the "
        f"same order: {'yes' if log.same_page else '**NO**'}). The {log.events:,}-event rebuilds run without that "
        "sort (tests/bench/common.py `query_without_table_sort`); every other section uses moto as shipped (plus "
        "moto_speedups).")
    if result.small:
        http_views = next(r for r in result.small if r.model == REPORT_VIEWS and r.mode == "HTTP")
        local_views = next(r for r in result.small if r.model == REPORT_VIEWS and r.mode == "in-process")
        add(f"- Why in-process at {log.events:,}: over HTTP the report-view rebuild ran at {http_views.rate:,.0f} "
            f"events/s, so {log.events:,} events would take ~{log.events / http_views.rate / 60:.1f} min on this "
            f"machine. At equal size ({result.small_events:,} events) in-process ran at {local_views.rate:,.0f} "
            f"events/s ({local_views.rate / http_views.rate:.1f}x HTTP).")
    add("- The sequential rebuild does one consistent GetItem and one conditional write per event, each waiting "
        "for the previous one: about one event per two round trips, whatever the machine. The parallel rebuild "
        f"({DEFAULT_READERS} reader threads read days ahead, handed on in day order; {DEFAULT_WORKERS} worker "
        "threads, each report always on the same one, so its events stay in version order) overlaps those round "
        "trips. Where the backend runs in this process (moto in-process, or moto's server in this process) every "
        "thread shares one GIL with the backend's own Python, so the ratio there measures the GIL, not DynamoDB; "
        "DynamoDB Local runs in its own JVM, so only our client side shares the GIL there.")
    add("")
    return lines


def main() -> int:
    """Section 5 alone, without section 4's small log: `python -m tests.bench.rebuild [reports] [local reports]`."""
    import logging
    import sys

    from tests import moto_speedups

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_speedups.install()
    MOTO.install()
    reports = int(sys.argv[1]) if len(sys.argv) > 1 else REBUILD_REPORTS
    local = int(sys.argv[2]) if len(sys.argv) > 2 else LOCAL_REPORTS
    print("\n".join(render_rebuild(rebuild_all(None, reports, local))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
