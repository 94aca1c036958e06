"""A local event-source mapping: reads the events table's DynamoDB stream and invokes the projector.

It plays the part Lambda's mapping plays in AWS (infra/template.py), with the same settings:
- **Durable checkpoint per shard.** After a batch is handled, the sequence number of its last record is
  written to a file (atomically, fsync'd). A restart resumes right after it: nothing is skipped, and a crash
  between a batch and its checkpoint only delivers that batch again (read models are version-guarded).
- **At-least-once, in order per shard**, batches of up to BATCH_SIZE records to the same projector handler.
- **Partial-batch failures** (ReportBatchItemFailures): the batch is retried from the lowest failed record
  (later records are delivered again). A **function error** (the handler raises, e.g. every record failed)
  **bisects** the batch until the failing record is alone.
- **A retry limit** (MaximumRetryAttempts): a record that still fails goes to the failure queue (a JSON-lines
  file you can read with `lapor failures`) and the shard moves on, so one poison record cannot block the
  reports behind it. Retries back off exponentially. `lapor serve` delivers the queue again when it starts
  (`retry_failures`), so a record that failed for a passing cause (a full disk) is not lost.
- **Shard rollover**: every shard of the stream is read; a child shard only after its parent is finished.
- **Trimmed records** (a stream keeps 24 h): if the checkpoint is older than the oldest record, the pump
  cannot know what it missed from the stream, so it asks `on_trimmed` to catch up from the event log itself.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from infra.template import BATCH_SIZE, MAXIMUM_RETRY_ATTEMPTS

logger = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], dict[str, Any] | None]

# A batch is cut to what the projector's measured speed delivers in this time (at least one record): a stop
# waits for the batch in flight, so this bounds how long it waits under a backlog. At the projector's usual
# speed a full batch of BATCH_SIZE takes far less.
MAX_BATCH_SECONDS = 2.0


def default_backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1-based): 0.1, 0.2, 0.4 … at most 5 s."""
    return min(0.1 * 2 ** (attempt - 1), 5.0)


class Checkpoints:
    """Per stream and shard: the last sequence number handled, and whether the shard is finished.

    In a file (`path`), replaced atomically on every save so a crash leaves the old or the new version,
    never a torn one; in memory when `path` is None (in-process tests).
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._positions: dict[str, dict[str, dict[str, Any]]] = {}
        if path is not None and path.exists():
            self._positions = json.loads(path.read_text(encoding="utf-8"))

    def position(self, stream_arn: str, shard_id: str) -> dict[str, Any] | None:
        return self._positions.get(stream_arn, {}).get(shard_id)

    def save(self, stream_arn: str, shard_id: str, *, sequence_number: str | None = None,
             finished: bool = False, created: float | None = None) -> None:
        shards = self._positions.setdefault(stream_arn, {})
        position = dict(shards.get(shard_id, {}))
        if sequence_number is not None:
            position["after"] = sequence_number
        if created is not None:
            position["created"] = created
        position["finished"] = finished or position.get("finished", False)
        shards[shard_id] = position
        self._write()

    def _write(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        _replace_atomically(self._path, json.dumps(self._positions))


def _replace_atomically(path: Path, text: str) -> None:
    """Write a temporary file, fsync it, rename it over `path`, fsync the folder: the old or the new content
    survives any crash, never a torn one. A failed write (disk full) leaves `path` as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class FailureQueue:
    """Where records go after the retry limit: Lambda's on-failure destination, as a JSON-lines file.

    Unlike SQS it keeps the records themselves, so `StreamPump.retry_failures` can deliver them again once
    their cause (a full disk, a bug) is gone."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self.entries: list[dict[str, Any]] = read_failures(path) if path else []

    def put(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        if self._path is None:
            return
        with self._path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, default=str) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def keep_only(self, entries: list[dict[str, Any]]) -> None:
        self.entries = list(entries)
        if self._path is not None:
            _replace_atomically(self._path, "".join(json.dumps(entry, default=str) + "\n" for entry in entries))


def read_failures(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)  # read from the stream, not yet handled
    end_of_shard: bool = False  # the stream said there is nothing more (a closed shard, read to its end)
    finished: bool = False
    batch_limit: int = BATCH_SIZE  # halved on each function error (bisect), reset on success
    attempts: int = 0  # failed deliveries of pending[0]
    retry_at: float = 0.0  # monotonic time before which pending[0] is not retried


class StreamPump:
    def __init__(self, dynamodb: Any, streams: Any, table_name: str, deliver: Deliver, *,
                 checkpoints: Checkpoints | None = None, failures: FailureQueue | None = None,
                 batch_size: int = BATCH_SIZE, max_retries: int = MAXIMUM_RETRY_ATTEMPTS,
                 backoff: Callable[[int], float] = default_backoff,
                 on_trimmed: Callable[[float | None], None] | None = None) -> None:
        self._streams, self._deliver = streams, deliver
        self._batch_size, self._max_retries, self._backoff = batch_size, max_retries, backoff
        self._on_trimmed = on_trimmed
        self.checkpoints = checkpoints or Checkpoints()
        self.failures = failures or FailureQueue()
        self.stream_arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._shards: dict[str, _Shard] = {}
        self._lock = threading.Lock()
        # Seconds the projector took per record, smoothed over recent batches: how large a batch still ends
        # before a stop's deadline (`drain_for`). Unknown (None) until a first batch was handled.
        self.seconds_per_record: float | None = None
        self._deadline: float | None = None  # while set, no batch is started that would end after it
        self._held_back = False  # a batch was not started because of the deadline

    @property
    def set_aside(self) -> list[dict[str, Any]]:
        """The records given up on (the failure queue's records)."""
        return [entry["record"] for entry in self.failures.entries]

    # ------------------------------------------------------------------------------------------ shards

    def _refresh_shards(self) -> None:
        start: str | None = None
        while True:
            arguments: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                arguments["ExclusiveStartShardId"] = start
            description = self._streams.describe_stream(**arguments)["StreamDescription"]
            for shard in description["Shards"]:
                if shard["ShardId"] not in self._shards:
                    known = self.checkpoints.position(self.stream_arn, shard["ShardId"]) or {}
                    self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"),
                                                            finished=known.get("finished", False),
                                                            batch_limit=self._batch_size)
            start = description.get("LastEvaluatedShardId")
            if not start:
                return

    def _ready(self, shard: _Shard) -> bool:
        """A child shard waits until its parent (if the stream still has it) is finished."""
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return not shard.finished and (parent is None or parent.finished)

    def _open(self, shard: _Shard) -> None:
        """An iterator right after the checkpoint (or at the oldest record for a shard never read)."""
        position = self.checkpoints.position(self.stream_arn, shard.shard_id) or {}
        arguments: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if "after" in position:
            arguments |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position["after"]}
        else:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        try:
            shard.iterator = self._streams.get_shard_iterator(**arguments)["ShardIterator"]
        except self._streams.exceptions.TrimmedDataAccessException:
            self._catch_up_from_log(shard)

    def _catch_up_from_log(self, shard: _Shard) -> None:
        position = self.checkpoints.position(self.stream_arn, shard.shard_id) or {}
        logger.error("stream records after checkpoint %s of shard %s were trimmed; catching up from the log",
                     position.get("after"), shard.shard_id)
        if self._on_trimmed is None:
            raise RuntimeError(f"shard {shard.shard_id}: records after the checkpoint were trimmed and no "
                               "catch-up from the log is configured")
        self._on_trimmed(position.get("created"))  # from the time of the last record handled
        shard.iterator = self._streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def _fill(self, shard: _Shard) -> None:
        if shard.iterator is None:
            self._open(shard)
        try:
            response = self._streams.get_records(ShardIterator=shard.iterator, Limit=self._batch_size)
        except self._streams.exceptions.ExpiredIteratorException:  # iterators live 15 minutes
            shard.iterator = None
            return
        except self._streams.exceptions.TrimmedDataAccessException:
            self._catch_up_from_log(shard)
            return
        shard.pending = [self._lambda_record(record) for record in response["Records"]]
        shard.iterator = response.get("NextShardIterator")
        shard.end_of_shard = shard.iterator is None

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()  # Lambda sends epoch seconds
        return dict(record, dynamodb=change, eventSourceARN=self.stream_arn)

    # -------------------------------------------------------------------------------------- delivering

    def poll_once(self) -> int:
        """Deliver at most one batch per shard; returns how many records were delivered."""
        with self._lock:
            self._refresh_shards()
            delivered = 0
            while True:
                finished = sum(shard.finished for shard in self._shards.values())
                delivered += sum(self._poll_shard(shard) for shard in list(self._shards.values())
                                 if self._ready(shard))
                if sum(shard.finished for shard in self._shards.values()) == finished:
                    return delivered  # no shard finished just now, so no child became ready

    def _poll_shard(self, shard: _Shard) -> int:
        if not shard.pending:
            if shard.end_of_shard:
                shard.finished = True
                self.checkpoints.save(self.stream_arn, shard.shard_id, finished=True)
                return 0
            self._fill(shard)
            if not shard.pending:
                return 0
        if time.monotonic() < shard.retry_at:
            return 0
        limit = self._limit_for_deadline(shard.batch_limit)
        if limit == 0:
            self._held_back = True
            return 0
        batch = shard.pending[:limit]
        started = time.monotonic()
        try:
            result = self._deliver({"Records": batch}) or {}
        except Exception:  # noqa: BLE001 — a function error: Lambda bisects the batch, then retries
            logger.exception("projector failed a batch of %d records", len(batch))
            if len(batch) > 1:
                shard.batch_limit = len(batch) // 2  # not yet a failure of any one record
            else:
                self._record_failed(shard)
            return len(batch)
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        first_failed = next((index for index, record in enumerate(batch)
                             if record["dynamodb"]["SequenceNumber"] in failed), None)
        handled = batch if first_failed is None else batch[:first_failed]
        if first_failed is None:
            self._measured(time.monotonic() - started, len(batch))
        if handled:
            self._checkpoint(shard, handled[-1])
            del shard.pending[:len(handled)]
            shard.attempts, shard.retry_at = 0, 0.0
        shard.batch_limit = self._batch_size
        if first_failed is not None:
            self._record_failed(shard)  # retried from the lowest failed record; later ones come again
        return len(batch)

    def _measured(self, seconds: float, records: int) -> None:
        per_record = seconds / records
        previous = self.seconds_per_record
        self.seconds_per_record = per_record if previous is None else 0.7 * previous + 0.3 * per_record

    def _limit_for_deadline(self, limit: int) -> int:
        """The batch size expected to take at most MAX_BATCH_SECONDS and to end before the deadline, if one
        is set (0: start none); at most `limit`."""
        per_record = self.seconds_per_record
        if per_record is not None:
            limit = min(limit, max(1, int(MAX_BATCH_SECONDS / max(per_record, 1e-6))))
        if self._deadline is None:
            return limit
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            return 0
        if per_record is None:  # nothing measured yet: one record tells how long records take
            return 1
        return min(limit, int(remaining / max(per_record, 1e-6)))

    def _record_failed(self, shard: _Shard) -> None:
        """pending[0] failed once more: retry it after a pause, or give up on it past the retry limit."""
        shard.attempts += 1
        if shard.attempts <= self._max_retries:
            shard.retry_at = time.monotonic() + self._backoff(shard.attempts)
            return
        record = shard.pending.pop(0)
        sequence_number = record["dynamodb"]["SequenceNumber"]
        keys = record["dynamodb"].get("Keys")
        logger.error("stream record %s %s failed %d times: moved to the failure queue", sequence_number, keys,
                     shard.attempts)
        self.failures.put({"failed_at": datetime.now(timezone.utc).isoformat(), "stream_arn": self.stream_arn,
                           "shard_id": shard.shard_id, "sequence_number": sequence_number,
                           "attempts": shard.attempts, "keys": keys, "record": record})
        self._checkpoint(shard, record)
        shard.attempts, shard.retry_at, shard.batch_limit = 0, 0.0, self._batch_size

    def _checkpoint(self, shard: _Shard, record: dict[str, Any]) -> None:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        self.checkpoints.save(self.stream_arn, shard.shard_id, sequence_number=record["dynamodb"]["SequenceNumber"],
                              created=float(created) if isinstance(created, (int, float)) else None)

    def retry_failures(self) -> tuple[int, int]:
        """Deliver every queued record again, oldest first (a report's later records follow its first failed
        one into the queue, so order is kept); those handled now leave the queue. Returns (handled, left)."""
        with self._lock:
            left = []
            for entry in self.failures.entries:
                try:
                    result = self._deliver({"Records": [entry["record"]]}) or {}
                    handled = not result.get("batchItemFailures")
                except Exception:  # noqa: BLE001 — still failing: it stays queued
                    logger.exception("queued stream record %s still fails", entry.get("sequence_number"))
                    handled = False
                if not handled:
                    left.append(entry)
            retried = len(self.failures.entries) - len(left)
            if retried:
                self.failures.keep_only(left)
            return retried, len(left)

    # ---------------------------------------------------------------------------------------- running

    def drain(self, max_rounds: int = 100_000, timeout: float = 600.0) -> int:
        """Deliver until every shard is read to its current end and nothing waits for a retry."""
        total, deadline = 0, time.monotonic() + timeout
        for _ in range(max_rounds):
            delivered = self.poll_once()
            total += delivered
            waiting = [shard.retry_at for shard in self._shards.values() if shard.pending and not shard.finished]
            if delivered == 0 and not waiting:
                return total
            if time.monotonic() > deadline:
                break
            if delivered == 0 and waiting:
                time.sleep(max(0.0, min(waiting) - time.monotonic()))
        raise RuntimeError("stream did not drain")

    def drain_for(self, seconds: float) -> tuple[int, bool]:
        """Deliver for at most about `seconds`: batches are cut to what the projector's measured speed
        finishes before the deadline, and none is started after it. Returns (records delivered, whether the
        stream was read to its end). What is left stays in the stream after the checkpoint, for the next run.
        """
        self.finish_by(time.monotonic() + seconds)
        total = 0
        try:
            while True:
                self._held_back = False
                delivered = self.poll_once()
                total += delivered
                waiting = [shard.retry_at for shard in self._shards.values() if shard.pending and not shard.finished]
                if delivered == 0 and not waiting:
                    return total, True
                assert self._deadline is not None
                if self._held_back or time.monotonic() >= self._deadline:
                    return total, False
                if delivered == 0:  # every waiting shard backs off after a failure
                    time.sleep(max(0.0, min(min(waiting), self._deadline) - time.monotonic()))
        finally:
            self._deadline = None

    def finish_by(self, deadline: float | None) -> None:
        """From now on (also in the thread running `run`), start no batch expected to end after `deadline`
        (a `time.monotonic()` value); None lifts it."""
        self._deadline = deadline

    def run(self, stop: threading.Event, interval: float = 0.1) -> None:
        while not stop.is_set():
            try:
                if self.poll_once() == 0:
                    stop.wait(interval)
            except Exception:  # keep pumping; a transient error (database restarting) must not stop projections
                logger.exception("stream pump error")
                stop.wait(1.0)
