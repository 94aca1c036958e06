"""What operators and auditors do with the whole log: restore, verify, replay, export, rebuild.

All of it reads the log in order through the by-day index (never a Scan) and writes read models through
the same projection code the stream uses, so a rebuild cannot disagree with live projection.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.clock import iso
from chalicelib.domain.report import replay, state_to_json
from chalicelib.generations import RebuildLock
from chalicelib.services.parallel import ReportWorkers, read_days_in_order
from chalicelib.store.base import Append, EventStore
from events.base import StoredEvent
from events.chain import (
    ArchiveCheck,
    ChainVerifier,
    canonical_json,
    compare_with_archive,
)

MAX_TRANSACTION_ITEMS = 100


def restore(store: EventStore, events: Iterable[StoredEvent]) -> tuple[int, int]:
    """Write archived events into an empty store, stream by stream in version order, all-or-nothing per chunk."""
    streams: dict[str, list[StoredEvent]] = defaultdict(list)
    for event in events:
        streams[event.stream_id].append(event)
    written = 0
    for stream_id, stream in streams.items():
        stream.sort(key=lambda event: event.version)
        for start in range(0, len(stream), MAX_TRANSACTION_ITEMS):
            chunk = stream[start:start + MAX_TRANSACTION_ITEMS]
            store.append(Append(stream_id, chunk[0].version - 1, chunk))
            written += len(chunk)
    return len(streams), written


def verify_log(events: Iterable[StoredEvent]) -> ChainVerifier:
    verifier = ChainVerifier()
    for event in events:
        verifier.feed(event.to_dict())
    return verifier


def verify_against_archive(log_events: Iterable[StoredEvent], archive_events: Iterable[StoredEvent], *,
                           drained: bool = False, log_name: str = "the event log",
                           archive_name: str = "the archive") -> ArchiveCheck:
    """Check the log's chains and compare each with the archive's record of it, which alone shows truncation.

    The archive is read whole before the log (see `compare_with_archive`): pass a live log lazily, as
    `read_days` does, so it is read after the archive and the archive's lag cannot look like removed events.
    """
    return compare_with_archive((event.to_dict() for event in log_events),
                                (event.to_dict() for event in archive_events),
                                drained=drained, log_name=log_name, archive_name=archive_name)


def replay_as_of(store: EventStore, report_id: str, as_of: datetime) -> dict[str, Any] | None:
    history = [event for event in store.load(report_id) if event.occurred_at <= iso(as_of)]
    if not history:
        return None
    state = state_to_json(replay(report_id, history))
    state.pop("access_token_hash")  # a credential's hash: only the hash-chained event history carries it
    return state


def export(events: Iterable[StoredEvent], path: Path) -> int:
    """The auditors' export: JSON lines, the archive's format, verifiable offline with `lapor verify --archive`."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for event in events:
            out.write(canonical_json(event.to_dict()) + "\n")
            count += 1
    return count


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


@dataclass(frozen=True)
class RebuildProgress:
    projection: str
    days_done: int
    days_total: int
    events: int  # events handed to the read model's `project` and applied (or found already applied)
    seconds: float
    read: int = 0  # events read from the log so far, of every type (ahead of `events` by what is queued)
    expected: int | None = None  # events in the log by the table's ItemCount (approximate, refreshed ~6-hourly)
    workers: int = 1
    readers: int = 1

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left in the main pass: by events when the log's size is known and not yet passed, else by
        days (which assumes the days left are as busy as the days done). None before anything is measured."""
        if self.seconds <= 0:
            return None
        if self.expected and 0 < self.read < self.expected:
            return (self.expected - self.read) * self.seconds / self.read
        if self.days_done:
            return self.seconds * (self.days_total - self.days_done) / self.days_done
        return None


class UnknownLogStart(Exception):
    """The control table does not know the log's first day; a rebuild from "today" would lose the past."""


DEFAULT_WORKERS = 16  # projection threads: each waits on DynamoDB round trips most of the time
DEFAULT_READERS = 4  # days read ahead in parallel (each one a paged Query of the by-day index)
PROGRESS_EVERY = 0.5  # seconds between progress reports within a busy day
_RETRIES = 6
_TRANSIENT = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
              "InternalServerError", "ServiceUnavailable", "TransactionConflictException",
              "TransactionInProgressException"}


def rebuild(services: Any, logical: str, *, now: Callable[[], datetime], since: str | None = None,
            on_progress: Callable[[RebuildProgress], None] | None = None,
            settle: Callable[[], None] = lambda: None, owner: str | None = None,
            workers: int = DEFAULT_WORKERS, readers: int = DEFAULT_READERS,
            sleep: Callable[[float], None] = time.sleep) -> RebuildProgress:
    """Replay the whole log into a fresh generation of one read model, switch to it, then catch up.

    The live projector keeps writing the old generation until the switch reaches it (`settle` waits out the
    generation cache); the catch-up pass re-applies every day from the rebuild's start to its end, which the
    version guards make harmless for everything already applied. One rebuild at a time (`RebuildLock`, a lease
    in the control table): a second one is refused with who holds the lock (RebuildBusy).

    `readers` threads read days of the log ahead, handed on in day order; `workers` threads project, each
    report always on the same one (chalicelib/services/parallel.py), so each report's events are applied in
    version order. `workers=1, readers=1` is the strictly sequential rebuild (one event after the other, in
    this thread). Any failure stops every thread before the switch; the lock is released either way.
    """
    from infra.tables import CONTROL, physical_name

    lock = RebuildLock(services.dynamodb(), physical_name(services.settings.table_prefix, CONTROL),
                       owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}", now)
    lock.acquire(f"rebuild {logical}")
    try:
        return _rebuild_holding(services, logical, lock, now=now, since=since, on_progress=on_progress,
                                settle=settle, workers=max(1, workers), readers=max(1, readers), sleep=sleep)
    finally:
        lock.release()


def _rebuild_holding(services: Any, logical: str, lock: RebuildLock, *, now: Callable[[], datetime],
                     since: str | None, on_progress: Callable[[RebuildProgress], None] | None,
                     settle: Callable[[], None], workers: int, readers: int,
                     sleep: Callable[[float], None]) -> RebuildProgress:
    from infra.tables import create_table, drop_table, physical_name

    started_day = now().date()
    first, last = services.generations.log_days()
    first = since or first
    if first is None:
        raise UnknownLogStart("the log's first day is not recorded in the control table; "
                              "give the first day of the log (--since YYYY-MM-DD)")
    generation = services.generations.current()[logical] + 1
    name = physical_name(services.settings.table_prefix, logical, generation)
    client = services.dynamodb()
    if name in client.list_tables()["TableNames"]:  # a rebuild that died half-way: start that table again
        drop_table(client, name)  # it is deletion-protected like every generation: protection goes off first
    create_table(client, logical, name)  # deletion protection and point-in-time recovery, as the stack's tables
    target = services.read_model_in(logical, name)
    # Events are bucketed by UTC day; a local "today" may already be tomorrow in UTC terms, and a sweep run
    # with `--now` may have dated events ahead: read to whichever is later.
    end = max((started_day + timedelta(days=1)).isoformat(), last or "")
    days = days_between(min(first, started_day.isoformat()), end)
    expected = _log_size(services) if on_progress else None
    passes = _Pass(services.store, target, lock, workers=workers, readers=readers, sleep=sleep)

    def report(done: int, applied: int, read: int, seconds: float) -> None:
        if on_progress:
            on_progress(RebuildProgress(logical, done, len(days), applied, seconds, read, expected, workers,
                                        readers))

    applied, seconds, read = passes.run(days, report)
    result = RebuildProgress(logical, len(days), len(days), applied, seconds, read, expected, workers, readers)
    lock.renew()  # still ours, right before the switch: a rebuild that lost its lease must not switch
    services.generations.switch(logical, generation)
    settle()
    # Catch up with what the live projector wrote to the old generation meanwhile, however long it took.
    catch_up_end = max((now().date() + timedelta(days=1)).isoformat(), services.generations.log_days()[1] or "")
    passes.run(days_between(started_day.isoformat(), catch_up_end), lambda *_: None)
    return result


def _log_size(services: Any) -> int | None:
    """The events table's ItemCount (one DescribeTable), for the ETA; None where the store has no table."""
    try:
        table = services.dynamodb().describe_table(TableName=services.settings.table_names["events"])["Table"]
        return int(table.get("ItemCount") or 0) or None
    except Exception:  # noqa: BLE001 — an estimate only: a rebuild never fails for want of it
        return None


def _transient(exc: BaseException) -> bool:
    """A throttle or a transaction conflict that botocore's own retries did not outlast: safe to re-apply,
    since the version guard refuses whatever was in fact applied."""
    cause = getattr(exc, "cause", None)  # PartlyApplied (a run stopped part-way), pynamodb's errors
    if isinstance(cause, BaseException) and cause is not exc and _transient(cause):
        return True
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code") or getattr(exc, "cause_response_code", None)
    if code in _TRANSIENT:
        return True
    reasons = response.get("CancellationReasons") or []
    return code == "TransactionCanceledException" and any(
        (reason or {}).get("Code") in ("TransactionConflict", "ThrottlingError") for reason in reasons)


class _Pass:
    """One pass over days of the log into the target: sequential, or readers + report-partitioned workers."""

    def __init__(self, store: Any, target: Any, lock: RebuildLock, *, workers: int, readers: int,
                 sleep: Callable[[float], None]) -> None:
        self._store, self._target, self._lock = store, target, lock
        self._workers, self._readers, self._sleep = workers, readers, sleep

    def _retrying(self, apply: Callable[[Any], Any]) -> Callable[[Any], None]:
        def applied(what: Any) -> None:
            for attempt in range(_RETRIES + 1):
                try:
                    apply(what)
                    return
                except Exception as exc:
                    if attempt == _RETRIES or not _transient(exc):
                        raise
                    self._sleep(min(0.05 * 2 ** attempt, 2.0))
        return applied

    def _runs(self) -> Callable[[list[list[StoredEvent]]], None] | None:
        """How a worker applies what it holds, grouped by report, when the read model can take runs at once:
        `project_runs` (a whole batch: statistics sums the counters of all its reports into one transaction),
        else `project_run` per report (one read and one write per report's run); else None, one by one."""
        many, one = getattr(self._target, "project_runs", None), getattr(self._target, "project_run", None)
        if many is not None:
            def apply(runs: list[list[StoredEvent]]) -> None:
                failed = next((outcome for outcome in many(runs) if outcome is not None), None)
                if failed is not None:  # PartlyApplied: raised with its cause, so `_transient` can judge it
                    raise failed
            return self._retrying(apply)
        if one is not None:
            return self._retrying(lambda runs: [one(run) for run in runs])
        return None

    def run(self, days: list[str], report: Callable[[int, int, int, float], Any]) -> tuple[int, float, int]:
        """(events applied, seconds, events read); `report(days done, applied, read, seconds)` as it goes."""
        started = time.monotonic()
        if self._workers == 1 and self._readers == 1:
            applied = read = 0
            for n, day in enumerate(days, start=1):
                for event in self._store.read_days(day, day):
                    read += 1
                    if self._target.handles(event):
                        self._target.project(event)
                        applied += 1
                self._lock.renew_if_due()  # the lease never runs out while we work
                report(n, applied, read, time.monotonic() - started)
            return applied, time.monotonic() - started, read
        pool = ReportWorkers(self._retrying(self._target.project), workers=self._workers,
                             apply_runs=self._runs())
        read, done, reported = 0, 0, started
        try:
            for _day, event in read_days_in_order(lambda day: self._store.read_days(day, day), days,
                                                  readers=self._readers):
                if event is None:  # a day complete
                    done += 1
                    self._lock.renew_if_due()
                    report(done, pool.applied, read, time.monotonic() - started)
                    reported = time.monotonic()
                    continue
                read += 1  # every event of the log counts towards the ETA (ItemCount counts them all)
                if self._target.handles(event):
                    pool.submit(event)
                if read % 256 == 0 and time.monotonic() - reported >= PROGRESS_EVERY:
                    self._lock.renew_if_due()
                    report(done, pool.applied, read, time.monotonic() - started)
                    reported = time.monotonic()
            applied = pool.finish()
            report(done, applied, read, time.monotonic() - started)  # what was still queued is applied now
        except BaseException:
            pool.abort()  # nothing more is written once the rebuild has failed
            raise
        return applied, time.monotonic() - started, read

