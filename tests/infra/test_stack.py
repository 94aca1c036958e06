"""The packaged template the way AWS takes it: SAM's own translator (aws-sam-translator, what CloudFormation runs
for `Transform: AWS::Serverless-2016-10-31`), then a stack created from the result in moto's CloudFormation.

moto cannot model everything. What it cannot create is removed from the translated template here, by type,
each with its reason (MOTO_CANNOT_CREATE); a reference to a removed resource becomes a visible placeholder.
The test fails if a listed type no longer occurs (a stale excuse) and if any other resource is not created.
moto also ignores some properties of what it does create (MOTO_IGNORES): those are held by the rules in
test_data_safety.py, test_edge.py and test_monitoring.py on the template itself, not here.
"""
from __future__ import annotations

import copy
import json
import warnings

import boto3
import pytest
from moto import mock_aws

from infra import template as t
from infra.tables import TABLES, physical_name
from tests.infra.conftest import PREFIX, REGION, STAGE

ARTEFACTS = "lapor-artefacts-test"
MOTO_CANNOT_CREATE = {
    "AWS::CloudWatch::Alarm": "moto 5.2 has no CloudFormation model for alarms",
    "AWS::SNS::Subscription": "no CloudFormation model in moto 5.2",
    "AWS::S3::BucketPolicy": "no CloudFormation model in moto 5.2",
    "AWS::Cognito::UserPool": "moto 5.2 has no CloudFormation models for Cognito",
    "AWS::Cognito::UserPoolClient": "as above",
    "AWS::Cognito::UserPoolDomain": "as above",
    "AWS::Cognito::UserPoolGroup": "as above",
    "AWS::ApiGateway::Stage": "no CloudFormation model in moto 5.2 (the throttles and tracing live here)",
    "AWS::ApiGateway::Deployment": "moto's RestApi model ignores Body, so the API has no methods to deploy",
}
MOTO_IGNORES = ("DynamoDB PointInTimeRecoverySpecification", "S3 versioning, public access block, ownership, "
                "lifecycle, CORS and Object Lock", "Lambda LoggingConfig", "Secrets Manager dynamic references "
                "(left unresolved)")
SECRETS = ("token-secret", "twilio-auth-token", "infobip-secret")


@pytest.fixture(scope="module")
def translated(sam) -> dict:
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(sam)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # What `aws cloudformation package` does to the local path before SAM sees it.
            assert resource["Properties"]["CodeUri"] == "./deployment.zip"
            resource["Properties"]["CodeUri"] = f"s3://{ARTEFACTS}/deployment.zip"

    class NoManagedPolicies:  # every role is explicit (Chalice's): SAM must not need to look any policy up
        def load(self):
            raise AssertionError("SAM asked for managed policies")

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_DEFAULT_REGION", REGION)  # SAM builds ARNs for the region it translates in
        return transform(template, {}, NoManagedPolicies())


def test_sam_translates_the_template_into_plain_cloudformation(translated):
    assert "Transform" not in translated
    types = {r["Type"] for r in translated["Resources"].values()}
    assert not [kind for kind in types if kind.startswith("AWS::Serverless::")]
    stage = [r for r in translated["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert len(stage) == 1 and stage[0]["Properties"]["StageName"] == t.API_STAGE
    assert stage[0]["Properties"]["MethodSettings"][0]["ResourcePath"] == "/*"
    api = translated["Resources"][t.REST_API]["Properties"]
    assert api["Name"] == PREFIX and "x-amazon-apigateway-gateway-responses" in api["Body"]
    assert set(translated["Rules"]) == {"ExistingUserPoolIsComplete"}  # SAM keeps the parameter rules


def _without_what_moto_cannot_create(template: dict) -> tuple[dict, set[str]]:
    template = copy.deepcopy(template)
    removed = {name for name, r in template["Resources"].items() if r["Type"] in MOTO_CANNOT_CREATE}
    for name in removed:
        del template["Resources"][name]

    def placeholder(node):
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in removed:
                return f"not-created-{node['Ref']}"
            return {k: placeholder(v) for k, v in node.items()}
        if isinstance(node, list):
            return [placeholder(v) for v in node]
        if isinstance(node, str):
            for name in removed:
                node = node.replace("${%s}" % name, f"not-created-{name}")
        return node

    return placeholder(template), removed


def test_the_stack_creates_in_moto_and_keeps_its_data_when_deleted(translated, packaged):
    kinds = {r["Type"] for r in translated["Resources"].values()}
    assert set(MOTO_CANNOT_CREATE) <= kinds, f"stale entries: {set(MOTO_CANNOT_CREATE) - kinds}"
    template, removed = _without_what_moto_cannot_create(translated)
    with mock_aws(), warnings.catch_warnings():
        warnings.simplefilter("error")  # moto warns when it skips a type it cannot model: none may be left
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=ARTEFACTS, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.upload_file(str(packaged["zip"]), ARTEFACTS, "deployment.zip")
        secrets = boto3.client("secretsmanager", region_name=REGION)
        for name in SECRETS:  # created before the first deploy, as the README says
            secrets.create_secret(Name=f"lapor/{STAGE}/{name}", SecretString="x" * 48)
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName=PREFIX, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": t.EMAIL_FROM_PARAMETER, "ParameterValue": "lapor@example.go.id"}])
        stack = cloudformation.describe_stacks(StackName=PREFIX)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        summaries = cloudformation.list_stack_resources(StackName=PREFIX)["StackResourceSummaries"]
        # moto 5.2 also lists one summary with no id, type or physical id (none of ours: ours all have ids).
        created = {r["LogicalResourceId"] for r in summaries if r["LogicalResourceId"] or r["ResourceType"]}
        conditional = {name for name, r in template["Resources"].items() if "Condition" in r}  # tracing off
        assert created == set(template["Resources"]) - conditional
        assert conditional == {t.TRACING_POLICY}

        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for logical in TABLES:
            table = dynamodb.describe_table(TableName=physical_name(PREFIX, logical))["Table"]
            assert table["DeletionProtectionEnabled"] is True, logical
        lambdas = boto3.client("lambda", region_name=REGION)
        functions = {f["FunctionName"].split("-")[2]: f for f in lambdas.list_functions()["Functions"]}
        assert {name: (f["MemorySize"], f["Timeout"]) for name, f in functions.items()} == t.FUNCTION_SIZES
        [mapping] = lambdas.list_event_source_mappings()["EventSourceMappings"]
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        assert mapping["FunctionArn"] == functions[t.PROJECTOR_FUNCTION]["FunctionArn"]
        logs = boto3.client("logs", region_name=REGION)
        groups = {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups()["logGroups"]}
        assert groups == {f"/aws/lambda/{PREFIX}-{short}": 365 for short in t.FUNCTIONS.values()}
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        buckets = {outputs["EventArchiveBucketName"], outputs["PhotoBucketName"]}
        assert buckets <= {b["Name"] for b in s3.list_buckets()["Buckets"]}

        cloudformation.delete_stack(StackName=PREFIX)
        # What must never go with the stack stays: every table, both buckets, the logs.
        assert set(dynamodb.list_tables()["TableNames"]) == {physical_name(PREFIX, name) for name in TABLES}
        assert buckets <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert len(logs.describe_log_groups()["logGroups"]) == len(t.FUNCTIONS)
        assert lambdas.list_functions()["Functions"] == []  # while the code goes (it is in the artefact bucket)
    assert removed and MOTO_IGNORES
