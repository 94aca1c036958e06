"""Feeding a report's events to every read model again, from the log: the way out of a poison record.

A stream record that fails every retry goes to the failure queue and the shard moves on, so the report's read
models (and the archive) stop at the version before it. Once the cause is fixed, `reproject` hands every event of
the report, in version order, to the same read models the stream consumer feeds. Their version guards make this
safe at any time, also while the stream is delivering: what a read model already has is skipped, the rest is
applied in order. The log (the events table) is the source, never the stream, which forgets after 24 hours.

In AWS the failure queue (SQS, Lambda's on-failure destination) holds only where the failed batch was — a shard
and a range of sequence numbers — so `reports_of_failed_batch` reads that range back from the stream to learn
which reports it held; a message is deleted only once every one of them projected cleanly.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from events.base import StoredEvent
from projections.runner import ReadModel
from projections.stream import decode_record


@dataclass(frozen=True)
class Reprojected:
    report_id: str
    events: int
    failures: tuple[str, ...] = ()  # "ReadModel vN: error", for each event a read model still refused

    @property
    def clean(self) -> bool:
        return not self.failures


def reproject(load: Callable[[str], list[StoredEvent]], read_models: Iterable[ReadModel],
              report_id: str) -> Reprojected:
    """Every event of the report to every read model; each read model's failure is named, none stops the rest
    (the archive must not miss an event because a view fails on it)."""
    events = load(report_id)
    failures: list[str] = []
    for read_model in read_models:
        for stored in events:
            if not read_model.handles(stored):
                continue
            try:
                read_model.project(stored)
            except Exception as failure:  # noqa: BLE001 — reported to the operator, who fixes and runs again
                failures.append(f"{type(read_model).__name__} v{stored.version}: {failure}")
                break  # the read model's guard would refuse every later version of this report anyway
    return Reprojected(report_id, len(events), tuple(failures))


class StreamRangeTrimmed(Exception):
    """The failed range is older than the stream's 24 hours: its reports cannot be learnt from the stream."""


def reports_of_failed_batch(message: dict[str, Any], streams: Any) -> set[str]:
    """The reports whose records an on-failure message points at (`DDBStreamBatchInfo`: stream, shard, first and
    last sequence number), read back from the stream."""
    info = message["DDBStreamBatchInfo"]
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(StreamArn=info["streamArn"], ShardId=info["shardId"],
                                              ShardIteratorType="AT_SEQUENCE_NUMBER",
                                              SequenceNumber=info["startSequenceNumber"])["ShardIterator"]
    except streams.exceptions.TrimmedDataAccessException as trimmed:
        raise StreamRangeTrimmed(str(trimmed)) from None
    reports: set[str] = set()
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page["Records"]:
            if int(record["dynamodb"]["SequenceNumber"]) > last:
                return reports
            if int(record["dynamodb"]["SequenceNumber"]) >= first:
                stored = decode_record(record)
                if stored is not None:
                    reports.add(stored.stream_id)
        if not page["Records"]:  # an open shard with nothing newer: the range has been read
            return reports
        iterator = page.get("NextShardIterator")
    return reports


@dataclass
class Drained:
    messages: int = 0
    reprojected: list[Reprojected] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # why each message still in the queue stayed there

    @property
    def clean(self) -> bool:
        return not self.kept


def drain_failure_queue(sqs: Any, queue_url: str, streams: Any,
                        reproject_report: Callable[[str], Reprojected], *, max_messages: int = 1000) -> Drained:
    """Each on-failure message: its reports reprojected from the log, then the message deleted — unless one of
    them still fails (it stays, visible again after the queue's visibility timeout) or its range was trimmed
    from the stream (it stays: `lapor rebuild` is then the way, and the operator is told)."""
    drained = Drained()
    while drained.messages < max_messages:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = received.get("Messages", [])
        if not messages:
            break
        for message in messages:
            drained.messages += 1
            body = json.loads(message["Body"])
            try:
                reports = reports_of_failed_batch(body, streams)
            except StreamRangeTrimmed:
                drained.kept.append(f"{message['MessageId']}: its stream range is past the stream's 24 h; "
                                    "rebuild the read models (`lapor rebuild`) to be sure they hold every event")
                continue
            results = [reproject_report(report_id) for report_id in sorted(reports)]
            drained.reprojected.extend(results)
            still = [r for r in results if not r.clean]
            if still:
                drained.kept.append(f"{message['MessageId']}: " + "; ".join(
                    f"{r.report_id}: {', '.join(r.failures)}" for r in still))
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return drained
