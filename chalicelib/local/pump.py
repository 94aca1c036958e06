"""A local event-source mapping: reads the events table's DynamoDB stream and invokes the projector.

It behaves like Lambda's mapping with ReportBatchItemFailures: a batch that reports failures is retried
from the lowest failed sequence number (records after it are delivered again), and a record that keeps
failing is set aside after `max_attempts` so it cannot block the shard forever.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

logger = logging.getLogger(__name__)

Deliver = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    attempts: dict[str, int] = field(default_factory=dict)


class StreamPump:
    def __init__(self, dynamodb: Any, streams: Any, table_name: str, deliver: Deliver, *,
                 batch_size: int = 100, max_attempts: int = 5) -> None:
        self._streams, self._deliver = streams, deliver
        self._batch_size, self._max_attempts = batch_size, max_attempts
        self.stream_arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._shards: dict[str, _Shard] = {}
        self.set_aside: list[dict[str, Any]] = []  # records that failed max_attempts times (the failure queue)
        self._lock = threading.Lock()

    def _refresh_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            if shard["ShardId"] not in self._shards:
                iterator = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard["ShardId"],
                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], iterator)

    def _iterator_at(self, shard: _Shard, sequence_number: str, kind: str) -> str:
        return self._streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard.shard_id,
                                                ShardIteratorType=kind,
                                                SequenceNumber=sequence_number)["ShardIterator"]

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if hasattr(created, "timestamp"):
            change["ApproximateCreationDateTime"] = created.timestamp()  # Lambda sends epoch seconds
        return dict(record, dynamodb=change, eventSourceARN=self.stream_arn)

    def poll_once(self) -> int:
        """Deliver at most one batch per shard; returns how many records were delivered."""
        with self._lock:
            self._refresh_shards()
            return sum(self._poll_shard(shard) for shard in self._shards.values())

    def drain(self, max_rounds: int = 1000) -> int:
        """Deliver until the stream has nothing new (tests, rebuilds)."""
        total = 0
        for _ in range(max_rounds):
            delivered = self.poll_once()
            total += delivered
            if delivered == 0:
                return total
        raise RuntimeError("stream did not drain")

    def _poll_shard(self, shard: _Shard) -> int:
        if shard.iterator is None:
            return 0
        response = self._streams.get_records(ShardIterator=shard.iterator, Limit=self._batch_size)
        records = response["Records"]
        if not records:
            shard.iterator = response.get("NextShardIterator")
            return 0
        event = {"Records": [self._lambda_record(record) for record in records]}
        try:
            result = self._deliver(event) or {}
            failed = [item["itemIdentifier"] for item in result.get("batchItemFailures", [])]
        except Exception:  # the whole batch failed: Lambda retries it from its first record
            logger.exception("projector failed a whole batch")
            failed = [records[0]["dynamodb"]["SequenceNumber"]]
        if not failed:
            shard.iterator = response.get("NextShardIterator")
            return len(records)
        first_failed = min(failed, key=int)
        attempts = shard.attempts[first_failed] = shard.attempts.get(first_failed, 0) + 1
        if attempts >= self._max_attempts:
            record = next(r for r in records if r["dynamodb"]["SequenceNumber"] == first_failed)
            logger.error("setting aside stream record %s after %d attempts", first_failed, attempts)
            self.set_aside.append(record)
            shard.iterator = self._iterator_at(shard, first_failed, "AFTER_SEQUENCE_NUMBER")
        else:
            shard.iterator = self._iterator_at(shard, first_failed, "AT_SEQUENCE_NUMBER")
        return len(records)

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        while not stop.is_set():
            try:
                if self.poll_once() == 0:
                    stop.wait(interval)
            except Exception:  # keep pumping; a transient error must not stop local projections
                logger.exception("stream pump error")
                stop.wait(1.0)
