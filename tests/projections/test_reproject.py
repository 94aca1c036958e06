"""`reproject`: a report whose record failed every retry is fed to every read model again from the log, once
the cause is fixed — exactly once per read model, whatever each already had; and the SQS failure queue is
drained through the stream range its messages point at (moto's DynamoDB Streams and SQS)."""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from chalicelib.services.reproject import (
    StreamRangeTrimmed,
    drain_failure_queue,
    reports_of_failed_batch,
    reproject,
)
from tests.support.builders import REPORT_JALAN_RUSAK as REPORT
from tests.support.tokens import NASIONAL, SAMARINDA

VERIFY = {"institution_id": SAMARINDA, "region_code": "64.72", "category_id": REPORT["category_id"]}


def _submit_and_verify(api) -> str:
    report_id = api.post("/reports", REPORT).json_body["report_id"]
    response = api.post(f"/reports/{report_id}/verification", VERIFY, token=NASIONAL)
    assert response.status_code == 200, response.json_body
    return report_id


@pytest.fixture
def poisoned(services, api, monkeypatch):
    """A report whose verification (v2) the report view refuses, as a bug would: the pump gives up on it after
    its retries, so the view stays at v1 while the statistics and the outbox took v2."""
    from projections import report_view

    real = report_view.apply

    def failing(view, stored):
        if stored.version == 2:
            raise RuntimeError("a bug in the view")
        return real(view, stored)

    monkeypatch.setattr(report_view, "apply", failing)  # one event at a time, and folded in a stream batch
    report_id = _submit_and_verify(api)
    pump = _pump(services, max_retries=1)
    pump.drain()
    assert len(pump.set_aside) == 1  # the verification's record, given up on
    assert services.views.get(report_id, consistent=True)["version"] == 1
    monkeypatch.setattr(report_view, "apply", real)  # the fix is deployed
    return report_id


def _pump(services, **options: Any):
    import app as app_module
    from infra.local.pump import StreamPump

    return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), services.settings.table_names["events"],
                      deliver=lambda event: app_module.project_events(event, None), backoff=lambda attempt: 0.0,
                      **options)


def _national_received(services) -> int:
    from chalicelib.http.stats_routes import figures

    return figures(services.stats.read("region:ID", "2026"))["received"]


def test_a_poisoned_report_is_whole_again_in_every_read_model_and_counted_once(services, poisoned):
    received = _national_received(services)

    result = reproject(services.store.load, services.read_models(), poisoned)

    assert result.clean and result.events == 2
    view = services.views.get(poisoned, consistent=True)
    assert (view["version"], view["status"]) == (2, "disposed")
    assert _national_received(services) == received == 1  # the statistics had v2: not counted again


def test_reprojecting_twice_or_a_healthy_report_changes_nothing(services, api, pump):
    report_id = _submit_and_verify(api)
    pump.drain()
    before = services.views.get(report_id, consistent=True)

    for _ in range(2):
        assert reproject(services.store.load, services.read_models(), report_id).clean

    assert services.views.get(report_id, consistent=True) == before
    assert _national_received(services) == 1


def test_a_read_model_that_still_fails_is_named_and_the_others_are_still_fed(services, api, monkeypatch):
    report_id = _submit_and_verify(api)  # never projected: every read model is behind
    monkeypatch.setattr(services.views, "project", lambda stored: (_ for _ in ()).throw(RuntimeError("still broken")))

    result = reproject(services.store.load, services.read_models(), report_id)

    assert result.failures == ("ReportViews v1: still broken",)  # named once: its later versions would wait
    assert _national_received(services) == 1  # the statistics got the events all the same


def _failure_message(pump_or_entries: list[dict[str, Any]], stream_arn: str, shard_id: str) -> dict[str, Any]:
    """Lambda's on-failure record for a batch (the shape AWS documents: only where the batch was)."""
    sequences = [int(entry["dynamodb"]["SequenceNumber"]) for entry in pump_or_entries]
    return {"requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
            "version": "1.0", "timestamp": "2026-03-02T03:00:00.000Z",
            "DDBStreamBatchInfo": {"shardId": shard_id, "startSequenceNumber": str(min(sequences)),
                                   "endSequenceNumber": str(max(sequences)), "batchSize": len(sequences),
                                   "streamArn": stream_arn}}


def _stream(services) -> tuple[Any, str, str, list[dict[str, Any]]]:
    streams = boto3.client("dynamodbstreams")
    arn = boto3.client("dynamodb").describe_table(
        TableName=services.settings.table_names["events"])["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams, arn, shard, streams.get_records(ShardIterator=iterator)["Records"]


def test_the_reports_of_a_failed_batch_are_read_back_from_its_stream_range(services, api):
    first, second, third = (_submit_and_verify(api) for _ in range(3))
    streams, arn, shard, records = _stream(services)
    middle = [r for r in records if r["dynamodb"]["Keys"]["stream_id"]["S"] == second]

    assert reports_of_failed_batch(_failure_message(middle, arn, shard), streams) == {second}
    assert reports_of_failed_batch(_failure_message(records, arn, shard), streams) == {first, second, third}


def test_a_trimmed_range_is_said_so():
    class Trimmed(Exception):
        pass

    class Streams:
        exceptions = type("E", (), {"TrimmedDataAccessException": Trimmed})

        def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
            raise Trimmed("older than the trim horizon")

    message = {"DDBStreamBatchInfo": {"shardId": "s", "startSequenceNumber": "1", "endSequenceNumber": "2",
                                      "streamArn": "arn"}}
    with pytest.raises(StreamRangeTrimmed):
        reports_of_failed_batch(message, Streams())


def test_draining_the_queue_reprojects_each_message_and_deletes_only_the_clean_ones(services, api, monkeypatch):
    healthy, broken = _submit_and_verify(api), _submit_and_verify(api)
    streams, arn, shard, records = _stream(services)
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="test-projector-failures",
                             Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    for report_id in (healthy, broken):
        batch = [r for r in records if r["dynamodb"]["Keys"]["stream_id"]["S"] == report_id]
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(_failure_message(batch, arn, shard)))
    real = services.views.project
    monkeypatch.setattr(services.views, "project",
                        lambda stored: (_ for _ in ()).throw(RuntimeError("not fixed")) if stored.stream_id == broken
                        else real(stored))

    drained = drain_failure_queue(sqs, queue, streams,
                                  lambda report_id: reproject(services.store.load, services.read_models(), report_id))

    assert drained.messages == 2 and len(drained.kept) == 1 and broken in drained.kept[0]
    assert services.views.get(healthy, consistent=True)["status"] == "disposed"
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("0",
                                                                                                               "1")


def test_the_local_servers_reprojection_route_exists_only_on_a_local_run(services, poisoned, api, clock):
    from chalice.test import Client

    import app as app_module
    from chalicelib.bootstrap import build_services, use_services
    from tests.support.settings import test_settings

    assert api.post(f"/dev/reports/{poisoned}/reprojection").status_code == 404
    local = build_services(test_settings(stage="local"), clock=clock)
    use_services(local)
    try:
        with Client(app_module.app) as client:
            done = client.http.post(f"/dev/reports/{poisoned}/reprojection")
            missing = client.http.post("/dev/reports/LAP-2222222222/reprojection")
    finally:
        use_services(services)
    assert done.status_code == 200, done.body
    assert json.loads(done.body) == {"report_id": poisoned, "events": 2, "failures": []}
    assert services.views.get(poisoned, consistent=True)["status"] == "disposed"
    assert missing.status_code == 404 and json.loads(missing.body)["code"] == "report_not_found"
