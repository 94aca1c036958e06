"""The operator commands against a deployed stage (`lapor ... --stage prod`), run as an operator runs them
(`infra.cli.main`) against moto's AWS APIs: the stage is found through its stack, its tables, S3 archive,
stream and SQS failure queue are the ones its functions use."""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.bootstrap import build_services, use_services
from chalicelib.clock import system_now
from chalicelib.settings import Settings
from infra import cli
from infra.local.pump import StreamPump
from infra.tables import create_tables
from tests.operations.stage import ENVIRONMENT, deploy
from tests.support.api import Api
from tests.support.builders import REPORT_JALAN_RUSAK as REPORT
from tests.support.settings import JWT_SECRET, FakeClock
from tests.support.tokens import NASIONAL, SAMARINDA

# The deployed functions' environment: HS256 with the tests' key, so the test can act as staff through the API.
STAGE_ENV = {k: v for k, v in ENVIRONMENT.items() if k != "LAPOR_JWKS_URL"} | {
    "LAPOR_JWT_SECRET": JWT_SECRET, "LAPOR_JWT_ISSUER": "lapor-test"}
VERIFY = {"institution_id": SAMARINDA, "region_code": "64.72", "category_id": REPORT["category_id"]}


class Stage:
    """The deployed stage as its functions see it: the API (through chalice's test client) and the stream's
    consumer (the stream pump on moto's DynamoDB Streams, delivering to the app's projector)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.settings = Settings.from_env(STAGE_ENV | {"AWS_REGION": "ap-southeast-3"})
        self.services = build_services(self.settings, clock=clock)
        use_services(self.services)

    def api(self) -> Any:
        import app as app_module

        return Client(app_module.app)

    def pump(self, **options: Any) -> StreamPump:
        import app as app_module

        return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                          self.settings.table_names["events"], backoff=lambda attempt: 0.0,
                          deliver=lambda event: app_module.project_events(event, None), **options)

    def report(self, client: Client) -> str:
        api = Api(client)
        report_id = api.post("/reports", REPORT).json_body["report_id"]
        assert api.post(f"/reports/{report_id}/verification", VERIFY, token=NASIONAL).status_code == 200
        return report_id


@pytest.fixture
def stage(monkeypatch):
    with mock_aws():
        create_tables(boto3.client("dynamodb"), "lapor-prod")
        boto3.client("s3").create_bucket(Bucket="lapor-prod-archive",
                                         CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
        deploy(environment=STAGE_ENV)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
        yield Stage(FakeClock())
        use_services(None)


def lapor(capsys, *argv: str) -> tuple[int, str]:
    """The command's exit code and what it printed (only it: the API calls before print their metrics)."""
    capsys.readouterr()
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1  # what Python exits with for a message
        print(exit_.code)
    return code, capsys.readouterr().out


def test_replay_export_and_verify_read_the_stages_own_log_and_archive(stage, capsys, tmp_path):
    with stage.api() as client:
        report_id = stage.report(client)
    stage.pump().drain()

    code, out = lapor(capsys, "replay", report_id, "--stage", "prod")
    assert code == 0 and json.loads(out)["status"] == "disposed"

    day = stage.clock.now.date().isoformat()
    code, out = lapor(capsys, "export", "--stage", "prod", "--from", day, "--to", day, "--out", str(tmp_path / "e"))
    assert code == 0 and "wrote 2 events" in out

    code, out = lapor(capsys, "verify", "--stage", "prod", "--drained")
    assert code == 0 and out.startswith("OK: 2 events of 1 report") and "holds the 2 events of s3://lapor-prod-archive/events/" in out


def test_verify_on_a_stage_finds_an_event_removed_from_the_log(stage, capsys):
    with stage.api() as client:
        report_id = stage.report(client)
    stage.pump().drain()
    boto3.client("dynamodb").delete_item(TableName="lapor-prod-events",
                                         Key={"stream_id": {"S": report_id}, "version": {"N": "2"}})

    code, out = lapor(capsys, "verify", "--stage", "prod", "--drained")

    assert code == 1 and "BROKEN: 1 of 1 report" in out and report_id in out


def test_sweep_records_on_the_stage_what_its_deadlines_oblige(stage, capsys):
    with stage.api() as client:
        report_id = stage.report(client)
    stage.pump().drain()

    code, out = lapor(capsys, "sweep", "--stage", "prod", "--now", "2027-06-01T10:00:00+07:00")

    result = json.loads(out)
    assert code == 0 and result["due_reports"] == 1 and sum(result["recorded"].values()) >= 1 and not result["failed"]
    assert len(stage.services.store.load(report_id)) > 2  # the reminders and escalations, in the stage's log


def test_rebuild_on_a_stage_switches_its_generation_and_refuses_a_second_at_once(stage, capsys, monkeypatch):
    from chalicelib.generations import RebuildLock

    with stage.api() as client:
        report_id = stage.report(client)
    stage.pump().drain()
    monkeypatch.setattr("time.sleep", lambda seconds: None)  # the wait for the deployed functions' cache

    code, out = lapor(capsys, "rebuild", "report_views", "--stage", "prod")
    assert code == 0 and "now serving generation 1" in out
    assert stage.services.read_model_in("report_views", "lapor-prod-report_views-g1").get(report_id)["version"] == 2

    # another operator's rebuild, started just now (the command runs on the wall clock)
    RebuildLock(boto3.client("dynamodb"), "lapor-prod-control", "elsewhere", system_now).acquire("rebuild stats")
    code, out = lapor(capsys, "rebuild", "stats", "--stage", "prod")
    assert code != 0 and "another rebuild is running (rebuild stats, by elsewhere" in out


def test_reproject_drains_the_stages_failure_queue_once_the_cause_is_fixed(stage, capsys, monkeypatch):
    from projections import report_view

    real = report_view.apply  # the view's fold, one event at a time and in a stream batch alike
    monkeypatch.setattr(report_view, "apply",
                        lambda view, stored: (_ for _ in ()).throw(RuntimeError("bug")) if stored.version == 2
                        else real(view, stored))
    with stage.api() as client:
        report_id = stage.report(client)
    pump = stage.pump(max_retries=1)
    pump.drain()
    [entry] = pump.failures.entries
    # What Lambda's on-failure destination would have sent for that record
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName="lapor-prod-projector-failures")["QueueUrl"]
    sequence = entry["sequence_number"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"DDBStreamBatchInfo": {
        "shardId": entry["shard_id"], "startSequenceNumber": sequence, "endSequenceNumber": sequence,
        "batchSize": 1, "streamArn": entry["stream_arn"], "approximateArrivalOfFirstRecord": "2026-11-25T03:00:00Z"}}))

    code, out = lapor(capsys, "failures", "--stage", "prod")
    assert code == 1 and f"sequence {sequence}..{sequence}" in out

    monkeypatch.setattr(report_view, "apply", real)  # fixed and deployed
    code, out = lapor(capsys, "reproject", "--failures", "--stage", "prod")

    assert code == 0 and "1 failure message(s) read; 1 deleted" in out and f"{report_id}: 2 event(s)" in out
    assert stage.services.views.get(report_id, consistent=True)["status"] == "disposed"
    assert lapor(capsys, "failures", "--stage", "prod")[0] == 0


def test_a_stage_that_does_not_exist_is_said_so(stage, capsys):
    code, out = lapor(capsys, "replay", "LAP-2222222222", "--stage", "uji")
    assert code == 1 and "lapor: stack lapor-uji in ap-southeast-3" in out
