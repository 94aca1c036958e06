"""The two halves of a parallel rebuild: read the log's days in parallel but hand them on in order, and
project on workers partitioned by report, so each report's events are applied one after the other, in order.

Why by-day ranges and not parallel Scan segments: the by-day index gives a total order (day, then `at_key` =
time, stream, version), so a report whose events span days reaches its worker in version order without
holding the whole log in memory; a Scan returns items in no documented order, and a rebuild from it would
have to collect and sort every report's events first. Both are bounded here: at most `lookahead` days are
being read ahead of the one being handed on, each holding at most `day_capacity` events, and each worker's
queue holds at most `capacity` events — memory stays flat whatever the size of the log.
"""
from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from events.base import StoredEvent

_DONE = object()
_POLL = 0.05  # seconds between checks of the stop flag while a queue is full or empty


class Stopped(Exception):
    """The other side stopped (it failed, or the consumer gave up): nothing more to hand on."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise Stopped
        try:
            q.put(item, timeout=_POLL)
            return
        except queue.Full:
            continue


def read_days_in_order(read_day: Callable[[str], Iterator[StoredEvent]], days: Sequence[str], *,
                       readers: int, lookahead: int | None = None,
                       day_capacity: int = 2000) -> Iterator[tuple[str, StoredEvent | None]]:
    """Yield (day, event) for every event of `days`, in the order `read_day` gives each day and the days in
    order, then (day, None) once a day is complete; `readers` threads read the days ahead.

    A reader takes the next day only when a lookahead slot is free, and slots are freed in day order as the
    consumer finishes each day: the day being consumed is always assigned (days are taken in order), so the
    consumer can never wait on a day nobody reads. Closing the generator stops and joins the readers.
    """
    lookahead = max(lookahead or 2 * readers, readers)
    queues = [queue.Queue(maxsize=day_capacity) for _ in days]
    slots = threading.Semaphore(lookahead)
    stop = threading.Event()
    taken = {"next": 0}
    taking = threading.Lock()

    def reader() -> None:
        while not stop.is_set():
            if not slots.acquire(timeout=_POLL):
                continue
            with taking:
                n = taken["next"]
                taken["next"] += 1
            if n >= len(days):
                slots.release()
                return
            try:
                for event in read_day(days[n]):
                    _put(queues[n], event, stop)
                _put(queues[n], _DONE, stop)
            except Stopped:
                return
            except BaseException as exc:  # noqa: BLE001 — handed to the consumer, raised in its thread
                try:
                    _put(queues[n], _Failed(exc), stop)
                except Stopped:
                    pass
                return

    threads = [threading.Thread(target=reader, name=f"rebuild-reader-{i}", daemon=True) for i in range(readers)]
    for thread in threads:
        thread.start()
    try:
        for n, day in enumerate(days):
            while True:
                try:
                    item = queues[n].get(timeout=_POLL)
                except queue.Empty:
                    continue
                if item is _DONE:
                    break
                if isinstance(item, _Failed):
                    raise item.error
                yield day, item
            queues[n] = None  # type: ignore[call-overload]  # done with it: let it go
            slots.release()
            yield day, None
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def partition(stream_id: str, workers: int) -> int:
    """A report's worker: stable across processes and runs (Python's own `hash` of a str is salted)."""
    return zlib.crc32(stream_id.encode()) % workers


class ReportWorkers:
    """`workers` threads, each with its own bounded queue; every event of a report goes to the same one.

    A worker applies its queue's events one at a time, in the order they were handed over, so a report's
    events are applied in log order; different reports run concurrently. A failure in any worker stops all
    of them, and `submit`/`finish` raise it in the caller's thread. `apply_runs`, when given, receives a list
    of runs, each one report's events in order: each worker holds up to `run_limit` events, grouped by report,
    before it applies them (and all it holds when the input ends), so memory stays bounded by capacity +
    run_limit per worker.
    """

    def __init__(self, apply: Callable[[StoredEvent], Any], *, workers: int, capacity: int = 500,
                 apply_runs: Callable[[list[list[StoredEvent]]], Any] | None = None,
                 run_limit: int | None = None) -> None:
        self._apply, self._apply_runs, self._run_limit = apply, apply_runs, run_limit or capacity
        self._queues = [queue.Queue(maxsize=capacity) for _ in range(workers)]
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._error_lock = threading.Lock()
        self._applied = [0] * workers
        self._threads = [threading.Thread(target=self._work, args=(n,), name=f"rebuild-worker-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    @property
    def applied(self) -> int:
        return sum(self._applied)

    def submit(self, event: StoredEvent) -> None:
        try:
            _put(self._queues[partition(event.stream_id, len(self._queues))], event, self._stop)
        except Stopped:
            self._raise()
            raise

    def finish(self) -> int:
        """Wait until every submitted event is applied; the number applied, or the first worker's error."""
        for q in self._queues:
            try:
                _put(q, _DONE, self._stop)
            except Stopped:
                break
        self._join()
        self._raise()
        return self.applied

    def abort(self) -> None:
        """Stop the workers where they are (the caller failed): nothing more is applied."""
        self._stop.set()
        self._join()

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self, n: int) -> None:
        if self._apply_runs is None:
            self._work_one_by_one(n)
        else:
            self._work_in_runs(n)

    def _work_one_by_one(self, n: int) -> None:
        q = self._queues[n]
        while not self._stop.is_set():
            try:
                item = q.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _DONE or not self._done_one(n, lambda item=item: self._apply(item), 1):
                return

    def _work_in_runs(self, n: int) -> None:
        """Hold up to `run_limit` events, grouped by report, then apply each report's run at once: in a rebuild
        a report's events lie close together in the log, so most reports cost one read and one write."""
        q = self._queues[n]
        runs: dict[str, list[StoredEvent]] = {}
        held = 0

        def flush() -> bool:
            nonlocal runs, held
            batch, runs, count, held = list(runs.values()), {}, held, 0
            return self._done_one(n, lambda: self._apply_runs(batch), count)

        while not self._stop.is_set():
            try:
                item = q.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _DONE:
                flush()
                return
            runs.setdefault(item.stream_id, []).append(item)  # a report's events keep their order
            held += 1
            if held >= self._run_limit and not flush():
                return

    def _done_one(self, n: int, work: Callable[[], Any], count: int) -> bool:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 — kept, and raised in the caller's thread
            with self._error_lock:
                if self._error is None:
                    self._error = exc
            self._stop.set()
            return False
        self._applied[n] += count
        return True
