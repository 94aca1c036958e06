"""Data that cannot be lost: every table, bucket, user pool and log group survives a stack delete, a replacing
update and a console click; rebuilt read-model generations get the same protection as the stack's tables."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from infra import identity, monitoring
from infra import template as t
from infra.tables import REPORT_VIEWS, STATS, TABLES, create_table, drop_table, enable_point_in_time_recovery

STAGE, PREFIX, REGION = "dev", "lapor-dev", "ap-southeast-3"
# Resource types that hold data: each must be retained, whoever adds one.
STATEFUL = {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool", "AWS::Logs::LogGroup",
            "AWS::SQS::Queue"}


def _of_type(resources: dict, kind: str) -> dict:
    return {name: r for name, r in resources.items() if r.get("Type") == kind}


@pytest.mark.parametrize("staff_auth", t.STAFF_AUTH_MODES)
def test_every_table_is_retained_deletion_protected_and_recoverable(staff_auth):
    resources = t.merge_template(STAGE, PREFIX, staff_auth=staff_auth)["Resources"]
    tables = _of_type(resources, "AWS::DynamoDB::Table")
    assert set(tables) == {spec.cfn_resource for spec in TABLES.values()}
    for name, table in tables.items():
        assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain", name
        assert table["Properties"]["DeletionProtectionEnabled"] is True, name
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name


def test_every_stateful_resource_in_the_packaged_stack_is_retained(sam):
    # The packaged template, so a stateful resource Chalice or SAM adds is held to the rule too.
    stateful = {name: r for name, r in sam["Resources"].items() if r["Type"] in STATEFUL}
    assert {r["Type"] for r in stateful.values()} == STATEFUL
    for name, resource in stateful.items():
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name
    tables = _of_type(sam["Resources"], "AWS::DynamoDB::Table")
    assert len(tables) == len(TABLES)
    assert all(r["Properties"]["DeletionProtectionEnabled"] is True for r in tables.values())
    assert sam["Resources"][identity.USER_POOL]["Properties"]["DeletionProtection"] == "ACTIVE"
    assert {name for name in stateful if name.endswith("LogGroup")} == {monitoring.log_group_id(f) for f in t.FUNCTIONS}


@pytest.mark.parametrize("bucket", [t.ARCHIVE_BUCKET, t.PHOTO_BUCKET])
def test_buckets_are_private_versioned_encrypted_and_tls_only(bucket):
    resources = t.merge_template(STAGE, PREFIX)["Resources"]
    props = resources[bucket]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    policy = resources[t.BUCKET_POLICIES[bucket]]["Properties"]
    assert policy["Bucket"] == {"Ref": bucket}
    [deny] = policy["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_archive_keeps_object_lock():
    props = t.merge_template(STAGE, PREFIX)["Resources"][t.ARCHIVE_BUCKET]["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Years": 10}


def test_photos_unclaimed_uploads_expire_and_only_the_api_may_touch_them():
    resources = t.merge_template(STAGE, PREFIX)["Resources"]
    rules = resources[t.PHOTO_BUCKET]["Properties"]["LifecycleConfiguration"]["Rules"]
    [incoming] = [r for r in rules if r.get("Prefix") == "incoming/"]
    assert incoming["Status"] == "Enabled" and incoming["ExpirationInDays"] == 1
    assert incoming["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}  # versioned: the expired copy too
    assert any(r.get("NoncurrentVersionExpiration") and "Prefix" not in r for r in rules)  # erasures finish
    granted = {}
    for policy in (t.API_POLICY, t.PROJECTOR_POLICY, t.SWEEP_POLICY, t.SENDER_POLICY):
        for statement in resources[policy]["Properties"]["PolicyDocument"]["Statement"]:
            if t.PHOTO_BUCKET in str(statement.get("Resource")):
                granted.setdefault(policy, set()).update(statement["Action"])
    assert granted == {t.API_POLICY: {"s3:PutObject", "s3:GetObject", "s3:ListBucket"}}  # no delete


# --- rebuilt generations ----------------------------------------------------------------------------------


@pytest.fixture
def dynamodb():
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


def test_a_generation_is_made_deletion_protected_with_point_in_time_recovery(dynamodb):
    create_table(dynamodb, REPORT_VIEWS, f"{PREFIX}-report_views-g1")
    assert dynamodb.describe_table(TableName=f"{PREFIX}-report_views-g1")["Table"]["DeletionProtectionEnabled"]
    backups = dynamodb.describe_continuous_backups(TableName=f"{PREFIX}-report_views-g1")
    assert backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
        "PointInTimeRecoveryStatus"] == "ENABLED"
    with pytest.raises(dynamodb.exceptions.ClientError):  # the protection is real
        dynamodb.delete_table(TableName=f"{PREFIX}-report_views-g1")


def test_dropping_a_generation_turns_its_protection_off_first(dynamodb):
    create_table(dynamodb, STATS, f"{PREFIX}-stats-g2")
    drop_table(dynamodb, f"{PREFIX}-stats-g2")
    assert f"{PREFIX}-stats-g2" not in dynamodb.list_tables()["TableNames"]


def test_a_rebuild_restarts_a_half_built_protected_generation(services, clock):
    from chalicelib.services.operations import rebuild

    client = services.dynamodb()
    name = f"{services.settings.table_prefix}-report_views-g1"
    create_table(client, REPORT_VIEWS, name)  # what a rebuild that died half-way leaves
    client.put_item(TableName=name, Item={"report_id": {"S": "LAP-LEFTOVER"}})
    rebuild(services, REPORT_VIEWS, now=clock, since=clock.now.date().isoformat())
    assert "Item" not in client.get_item(TableName=name, Key={"report_id": {"S": "LAP-LEFTOVER"}})
    assert client.describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"]
    assert services.generations.current()[REPORT_VIEWS] == 1


def test_an_engine_without_backups_skips_pitr_but_any_other_refusal_raises():
    client = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("update_continuous_backups", service_error_code="UnknownOperationException")
        assert enable_point_in_time_recovery(client, "t") is False  # DynamoDB Local (`lapor serve`)
        stub.add_client_error("update_continuous_backups", service_error_code="AccessDeniedException")
        with pytest.raises(client.exceptions.ClientError):
            enable_point_in_time_recovery(client, "t")


def test_pitr_waits_while_dynamodb_is_still_enabling_backups():
    client = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    slept = []
    with Stubber(client) as stub:
        stub.add_client_error("update_continuous_backups",
                              service_error_code="ContinuousBackupsUnavailableException")
        stub.add_response("update_continuous_backups", {"ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "ENABLED"}})
        assert enable_point_in_time_recovery(client, "t", sleep=slept.append) is True
    assert len(slept) == 1
