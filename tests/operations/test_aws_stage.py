"""Finding a deployed stage for the operator commands (moto's CloudFormation, Lambda, SQS and S3): its settings
are the API function's own, read from its configuration; every way to get it wrong is said plainly."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from events.base import Actor, StoredEvent
from infra.aws_stage import StageNotFound, find_stage
from projections.archive import S3Archive, read_s3_archive
from tests.operations.stage import ENVIRONMENT, deploy
from tests.support.builders import submitted_event


@pytest.fixture
def aws_account():
    with mock_aws():
        yield boto3.session.Session(region_name="ap-southeast-3")


def test_the_stage_runs_with_the_deployed_functions_own_settings(aws_account):
    deploy()
    stage = find_stage(aws_account, "prod")
    assert (stage.stack, stage.region) == ("lapor-prod", "ap-southeast-3")
    assert stage.settings.table_names["events"] == "lapor-prod-events"
    assert stage.settings.archive_bucket == "lapor-prod-archive" and stage.settings.dynamodb_endpoint is None
    assert stage.failure_queue_url.endswith("/lapor-prod-projector-failures")


def test_another_stack_name_can_be_given(aws_account):
    deploy(stack="lapor-produksi")
    assert find_stage(aws_account, "prod", stack="lapor-produksi").stack == "lapor-produksi"


@pytest.mark.parametrize("setup,words", [
    (lambda: None, "stack lapor-prod in ap-southeast-3"),
    (lambda: deploy(environment=ENVIRONMENT | {"LAPOR_STAGE": "dev"}), "serves stage 'dev', not 'prod'"),
    (lambda: deploy(environment={k: v for k, v in ENVIRONMENT.items() if k != "LAPOR_TOKEN_SECRET"}),
     "settings the app would refuse: LAPOR_TOKEN_SECRET"),
])
def test_a_stage_that_cannot_be_found_or_used_is_said_so(aws_account, setup, words):
    setup()
    with pytest.raises(StageNotFound, match=words.replace("(", r"\(").replace(")", r"\)")):
        find_stage(aws_account, "prod")


def test_a_stack_without_the_failure_queue_still_serves_the_other_commands(aws_account):
    deploy(queue=False)
    assert find_stage(aws_account, "prod").failure_queue_url is None


def test_the_s3_archive_reads_back_in_each_reports_version_order(aws_account):
    s3 = aws_account.client("s3")
    s3.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
    archive = S3Archive("archive", s3)
    events = [StoredEvent(stream_id=stream, version=version, type="ReportSubmitted", schema_version=1,
                          data=submitted_event().to_data(), actor=Actor(role="public"), channel="web",
                          occurred_at=f"2026-03-0{day}T01:00:00.000Z", correlation_id="c", causation_id=None,
                          prev_hash="0" * 64, hash=f"{version:064x}")
              for stream, version, day in (("LAP-B", 1, 1), ("LAP-A", 1, 1), ("LAP-B", 2, 2), ("LAP-A", 2, 3))]
    for event in reversed(events):  # written in any order
        archive.project(event)
    read = [(e.stream_id, e.version) for e in read_s3_archive("archive", s3)]
    assert read == [("LAP-A", 1), ("LAP-B", 1), ("LAP-B", 2), ("LAP-A", 2)]
