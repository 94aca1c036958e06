"""The local event-source mapping under the failures Lambda's mapping survives.

On moto's real stream: durable checkpoints (resume, a crash between a batch and its checkpoint), retry
from the lowest failed record, bisect on a function error, the retry limit and the failure queue. On a
scripted stream client: shard rollover (a child after its parent) and records trimmed past the checkpoint.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest

import app as app_module
from infra import cli
from infra.local.pump import Checkpoints, FailureQueue, StreamPump, default_backoff, read_failures
from infra.local.state import LocalState
from tests.support.api import body_of

REPORT = {"title": "Lampu jalan padam", "body": "Lampu jalan di Jl. Juanda padam sejak sepekan",
          "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.penerangan-jalan"}


def project(event: dict[str, Any]) -> dict[str, Any]:
    return app_module.project_events(event, None)


def new_pump(services, deliver=project, **options: Any) -> StreamPump:
    return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                      services.settings.table_names["events"], deliver=deliver,
                      **({"backoff": lambda attempt: 0.0} | options))


def submit(api, n: int) -> list[str]:
    ids = []
    for i in range(n):
        ids.append(body_of(api.post("/reports", REPORT | {"title": f"Lampu jalan padam {i}"}), 201)["report_id"])
    return ids


def key(record: dict[str, Any]) -> tuple[str, int]:
    keys = record["dynamodb"]["Keys"]
    return keys["stream_id"]["S"], int(keys["version"]["N"])


def counting(deliveries: Counter, deliver=project):
    def wrapped(event: dict[str, Any]) -> Any:
        for record in event["Records"]:
            deliveries[key(record)] += 1
        return deliver(event)
    return wrapped


def received(services) -> int:
    return services.stats.read("region:64.72", "2026")["received"]


def test_a_restarted_pump_resumes_right_after_its_durable_checkpoint(services, api, tmp_path):
    path = tmp_path / "checkpoint.json"
    first = submit(api, 3)
    assert new_pump(services, checkpoints=Checkpoints(path)).drain() == 3
    saved = json.loads(path.read_text())
    assert list(saved) == [new_pump(services).stream_arn]  # one stream, one shard, its last sequence number
    (position,) = saved[new_pump(services).stream_arn].values()
    assert position["after"] and position["finished"] is False

    later = submit(api, 2)
    deliveries: Counter = Counter()
    assert new_pump(services, counting(deliveries), checkpoints=Checkpoints(path)).drain() == 2
    assert set(deliveries) == {(report_id, 1) for report_id in later}  # nothing before the checkpoint again
    assert all(services.views.get(report_id)["status"] == "submitted" for report_id in first + later)
    assert received(services) == 5


class CrashAfterDelivery(Checkpoints):
    """The process dies after the projector handled a batch and before its checkpoint was written."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("kill -9")


def test_a_crash_between_a_batch_and_its_checkpoint_redelivers_it_and_counts_nothing_twice(services, api, tmp_path):
    path = tmp_path / "checkpoint.json"
    submit(api, 2)
    new_pump(services, checkpoints=Checkpoints(path)).drain()
    before_crash = path.read_text()
    ids = submit(api, 3)
    with pytest.raises(KeyboardInterrupt):
        new_pump(services, checkpoints=CrashAfterDelivery(path)).drain()
    assert path.read_text() == before_crash  # the checkpoint never moved past the handled batch
    assert all(services.views.get(report_id)["version"] == 1 for report_id in ids)  # it was projected

    deliveries: Counter = Counter()
    assert new_pump(services, counting(deliveries), checkpoints=Checkpoints(path)).drain() == 3
    assert set(deliveries) == {(report_id, 1) for report_id in ids}  # the same batch, delivered again
    assert received(services) == 5  # statistics counted once despite the second delivery


def test_a_batch_is_retried_from_its_lowest_failed_record(services, api):
    ids = submit(api, 4)
    deliveries: Counter = Counter()
    failed_once: set = set()

    def fail_third_once(event: dict[str, Any]) -> dict[str, Any]:
        result = project(event)
        for record in event["Records"]:
            if key(record) == (ids[2], 1) and key(record) not in failed_once:
                failed_once.add(key(record))
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return result

    pump = new_pump(services, counting(deliveries, fail_third_once))
    pump.drain()
    assert [deliveries[(report_id, 1)] for report_id in ids] == [1, 1, 2, 2]  # from the failed one on
    assert pump.failures.entries == [] and received(services) == 4


def test_a_function_error_bisects_the_batch_until_the_poison_record_is_alone_then_queues_it(
        services, api, tmp_path):
    ids = submit(api, 8)
    poison = (ids[5], 1)
    sizes: list[int] = []

    def crash_on_poison(event: dict[str, Any]) -> dict[str, Any]:
        sizes.append(len(event["Records"]))
        if any(key(record) == poison for record in event["Records"]):
            raise MemoryError("the function died")  # not a per-record failure: the whole invocation
        return project(event)

    failures = tmp_path / "failures.jsonl"
    pump = new_pump(services, crash_on_poison, max_retries=2, failures=FailureQueue(failures))
    pump.drain()
    # 8 records → halves until the poison is alone (8, 4, then 2-record and 1-record batches), 1 + 2 retries.
    assert sizes[:2] == [8, 4] and sizes.count(1) >= 3
    queued = read_failures(failures)
    assert [key(entry["record"]) for entry in queued] == [poison] and queued[0]["attempts"] == 3
    for report_id in ids:
        assert (services.views.get(report_id) is None) == (report_id == poison[0])
    assert received(services) == 7


def test_a_poison_record_goes_to_the_failure_queue_and_other_reports_keep_flowing(services, api, tmp_path,
                                                                                   capsys):
    ids = submit(api, 3)
    poison = (ids[1], 1)

    def refuse_poison(event: dict[str, Any]) -> dict[str, Any]:
        good = {"Records": [record for record in event["Records"] if key(record) != poison]}
        result = project(good) if good["Records"] else {"batchItemFailures": []}
        bad = [record for record in event["Records"] if key(record) == poison]
        return {"batchItemFailures": result["batchItemFailures"] +
                [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]} for record in bad]}

    failures = LocalState.at(tmp_path / "home").failures_path  # where `lapor serve` keeps its failure queue
    pump = new_pump(services, refuse_poison, max_retries=3, failures=FailureQueue(failures))
    pump.drain()
    later = submit(api, 2)
    pump.drain()
    assert [key(entry["record"]) for entry in read_failures(failures)] == [poison]
    assert read_failures(failures)[0]["attempts"] == 4  # one delivery and three retries
    for report_id in ids + later:
        assert (services.views.get(report_id) is None) == (report_id == poison[0])

    # An operator finds it with `lapor failures` (exit 1 while the queue is not empty).
    assert cli.main(["--home", str(tmp_path / "home"), "failures"]) == 1
    listed = capsys.readouterr().out
    assert f"{poison[0]} v1" in listed and "after 4 attempts" in listed


def test_retries_back_off_exponentially_up_to_five_seconds():
    assert [default_backoff(n) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.8]
    assert default_backoff(20) == 5.0


# ------------------------------------------------------------------------------ a scripted stream client

class TrimmedDataAccessException(Exception):
    pass


class ExpiredIteratorException(Exception):
    pass


class ScriptedStreams:
    """A stream of two shards (a closed parent and its open child), or one whose old records were trimmed."""

    class exceptions:
        TrimmedDataAccessException = TrimmedDataAccessException
        ExpiredIteratorException = ExpiredIteratorException

    def __init__(self, shards: dict[str, dict[str, Any]], trimmed_before: int = 0) -> None:
        self.shards, self.trimmed_before = shards, trimmed_before
        self.iterator_requests: list[dict[str, Any]] = []

    def describe_stream(self, StreamArn: str, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": [{"ShardId": shard_id, **({"ParentShardId": spec["parent"]}
                                                                          if spec.get("parent") else {})}
                                                 for shard_id, spec in self.shards.items()]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str,
                           SequenceNumber: str | None = None) -> dict[str, Any]:
        self.iterator_requests.append({"shard": ShardId, "type": ShardIteratorType, "after": SequenceNumber})
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            if int(SequenceNumber) < self.trimmed_before:
                raise TrimmedDataAccessException("trimmed")
            start = next((i for i, n in enumerate(self.shards[ShardId]["records"]) if n > int(SequenceNumber)),
                         len(self.shards[ShardId]["records"]))
        else:
            start = next((i for i, n in enumerate(self.shards[ShardId]["records"]) if n >= self.trimmed_before), 0)
        return {"ShardIterator": f"{ShardId}|{start}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard_id, start = ShardIterator.split("|")
        spec, start = self.shards[shard_id], int(start)
        numbers = spec["records"][start:start + Limit]
        records = [{"eventID": str(n), "eventName": "INSERT", "dynamodb": {
            "SequenceNumber": f"{n:021d}", "ApproximateCreationDateTime": 1_772_400_000.0 + n,
            "Keys": {"stream_id": {"S": f"LAP-{n}"}, "version": {"N": "1"}}}} for n in numbers]
        end = start + len(numbers)
        closed_and_read = spec.get("closed") and end >= len(spec["records"])
        return {"Records": records, **({} if closed_and_read else {"NextShardIterator": f"{shard_id}|{end}"})}


class ScriptedTable:
    def describe_table(self, TableName: str) -> dict[str, Any]:
        return {"Table": {"LatestStreamArn": "arn:aws:dynamodb:ddblocal:000000000000:table/events/stream/1"}}


def sequence(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def test_a_child_shard_is_read_only_after_its_parent_is_finished(tmp_path):
    delivered: list[int] = []
    streams = ScriptedStreams({"shard-child": {"parent": "shard-parent", "records": [7, 8, 9]},
                               "shard-parent": {"records": [1, 2, 3, 4], "closed": True}})
    checkpoints = Checkpoints(tmp_path / "checkpoint.json")
    pump = StreamPump(ScriptedTable(), streams, "events", batch_size=2, checkpoints=checkpoints,
                      deliver=lambda event: delivered.extend(map(sequence, event["Records"])))
    pump.drain()
    assert delivered == [1, 2, 3, 4, 7, 8, 9]
    saved = json.loads((tmp_path / "checkpoint.json").read_text())[pump.stream_arn]
    assert saved["shard-parent"]["finished"] is True and saved["shard-child"]["finished"] is False
    assert int(saved["shard-child"]["after"]) == 9

    # After a restart the finished parent is not read again, and the child resumes after 9.
    streams.shards["shard-child"]["records"].append(10)
    again: list[int] = []
    StreamPump(ScriptedTable(), streams, "events", checkpoints=Checkpoints(tmp_path / "checkpoint.json"),
               deliver=lambda event: again.extend(map(sequence, event["Records"]))).drain()
    assert again == [10]


def test_records_trimmed_past_the_checkpoint_are_caught_up_from_the_log_not_skipped(tmp_path):
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps({"arn:aws:dynamodb:ddblocal:000000000000:table/events/stream/1": {
        "shard-1": {"after": f"{3:021d}", "created": 1_772_400_003.0, "finished": False}}}))
    streams = ScriptedStreams({"shard-1": {"records": [20, 21]}}, trimmed_before=10)
    caught_up: list[float | None] = []
    delivered: list[int] = []
    pump = StreamPump(ScriptedTable(), streams, "events", checkpoints=Checkpoints(path),
                      deliver=lambda event: delivered.extend(map(sequence, event["Records"])),
                      on_trimmed=caught_up.append)
    pump.drain()
    assert caught_up == [1_772_400_003.0]  # from the time of the last record handled
    assert delivered == [20, 21]  # then the stream from its oldest record on
    assert [request["type"] for request in streams.iterator_requests] == ["AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON"]


def test_without_a_catch_up_a_trimmed_checkpoint_stops_the_pump_loudly(tmp_path):
    path = tmp_path / "checkpoint.json"
    path.write_text(json.dumps({"arn:aws:dynamodb:ddblocal:000000000000:table/events/stream/1": {
        "shard-1": {"after": f"{3:021d}", "finished": False}}}))
    pump = StreamPump(ScriptedTable(), ScriptedStreams({"shard-1": {"records": [20]}}, trimmed_before=10), "events",
                      checkpoints=Checkpoints(path), deliver=lambda event: None)
    with pytest.raises(RuntimeError, match="trimmed"):
        pump.drain()


def test_the_failure_queue_is_delivered_again_once_its_cause_is_gone(services, api, tmp_path):
    ids = submit(api, 3)
    broken = {"on": True}

    def disk_full_for_one(event: dict[str, Any]) -> dict[str, Any]:
        if broken["on"] and any(key(record) == (ids[1], 1) for record in event["Records"]):
            raise OSError(28, "No space left on device")
        return project(event)

    failures = tmp_path / "failures.jsonl"
    new_pump(services, disk_full_for_one, max_retries=1, failures=FailureQueue(failures)).drain()
    assert [key(entry["record"]) for entry in read_failures(failures)] == [(ids[1], 1)]
    assert services.views.get(ids[1]) is None

    broken["on"] = False  # the disk was freed; `lapor serve` starts again
    restarted = new_pump(services, disk_full_for_one, failures=FailureQueue(failures))
    assert restarted.retry_failures() == (1, 0)
    assert read_failures(failures) == [] and services.views.get(ids[1])["version"] == 1
    assert received(services) == 3
    assert restarted.retry_failures() == (0, 0)  # nothing left, nothing delivered twice


def test_a_read_model_failing_on_an_event_does_not_keep_it_from_the_others(services, api, monkeypatch):
    from projections.report_view import ReportViews

    (report_id,) = submit(api, 1)

    def broken(self, events, stored=None):
        raise ConnectionError("the report-view table is throttled")

    monkeypatch.setattr(ReportViews, "project_run", broken)
    pump = new_pump(services, max_retries=0)
    pump.drain()
    assert services.views.get(report_id) is None  # the view failed and the record went to the failure queue
    assert [key(entry["record"]) for entry in pump.failures.entries] == [(report_id, 1)]
    assert received(services) == 1  # but statistics (and the archive, the outbox) had it all the same

    monkeypatch.undo()
    assert pump.retry_failures() == (1, 0)
    assert services.views.get(report_id)["version"] == 1 and received(services) == 1  # counted once
