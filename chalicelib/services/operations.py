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
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class UnknownLogStart(Exception):
    """The control table does not know the log's first day; a rebuild from "today" would lose the past."""


def rebuild(services: Any, logical: str, *, now: Callable[[], datetime], since: str | None = None,
            on_progress: Callable[[RebuildProgress], None] | None = None,
            settle: Callable[[], None] = lambda: None, owner: str | None = None) -> RebuildProgress:
    """Replay the whole log into a fresh generation of one read model, switch to it, then catch up.

    The live projector keeps writing the old generation until the switch reaches it (`settle` waits out the
    generation cache); the catch-up pass re-applies every day from the rebuild's start to its end, which the
    version guards make harmless for everything already applied. One rebuild at a time (`RebuildLock`, a lease
    in the control table): a second one is refused with who holds the lock (RebuildBusy).
    """
    from infra.tables import CONTROL, physical_name

    lock = RebuildLock(services.dynamodb(), physical_name(services.settings.table_prefix, CONTROL),
                       owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}", now)
    lock.acquire(f"rebuild {logical}")
    try:
        return _rebuild_holding(services, logical, lock, now=now, since=since, on_progress=on_progress,
                                settle=settle)
    finally:
        lock.release()


def _rebuild_holding(services: Any, logical: str, lock: RebuildLock, *, now: Callable[[], datetime],
                     since: str | None, on_progress: Callable[[RebuildProgress], None] | None,
                     settle: Callable[[], None]) -> RebuildProgress:
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
    started, applied = time.monotonic(), 0
    for n, day in enumerate(days, start=1):
        for event in services.store.read_days(day, day):
            if target.handles(event):
                target.project(event)
                applied += 1
        lock.renew_if_due()  # the lease never runs out while we work
        if on_progress:
            on_progress(RebuildProgress(logical, n, len(days), applied, time.monotonic() - started))
    result = RebuildProgress(logical, len(days), len(days), applied, time.monotonic() - started)
    lock.renew()  # still ours, right before the switch: a rebuild that lost its lease must not switch
    services.generations.switch(logical, generation)
    settle()
    # Catch up with what the live projector wrote to the old generation meanwhile, however long it took.
    catch_up_end = max((now().date() + timedelta(days=1)).isoformat(), services.generations.log_days()[1] or "")
    for day in days_between(started_day.isoformat(), catch_up_end):
        for event in services.store.read_days(day, day):
            if target.handles(event):
                target.project(event)
    return result
