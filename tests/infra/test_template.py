"""infra.template.merge_template(): tables, the projector's stream mapping, environment and IAM."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra import template as t
from infra.tables import (
    CONTROL,
    EVENTS,
    IDEMPOTENCY,
    OPEN311_KEYS,
    PERSONAL_DATA,
    REBUILDABLE,
    REPORT_VIEWS,
    STATS,
    TABLES,
    physical_name,
)

STAGE, PREFIX = "dev", "lapor-dev"


@pytest.fixture(scope="module")
def doc() -> dict:
    return t.merge_template(STAGE, PREFIX)


@pytest.fixture(scope="module")
def resources(doc) -> dict:
    return doc["Resources"]


def _actions(statement: dict) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _targets(statement: dict, table_logical: str) -> bool:
    """Whether a statement's Resource can name the table, one of its indexes or generations (or is "*")."""
    cfn = TABLES[table_logical].cfn_resource
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    text = json.dumps(resources)
    name = re.escape(physical_name(PREFIX, table_logical))
    return (resources == ["*"] or re.search(r'"%s"|\$\{%s\.' % (cfn, cfn), text) is not None
            or re.search(r"table/%s(-g|/|\*|\")" % name, text) is not None)


def _granted(resources: dict, policy: str) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for statement in _statements(resources, policy):
        for logical in TABLES:
            if _targets(statement, logical):
                granted.setdefault(logical, set()).update(_actions(statement))
    return granted


def _statements(resources: dict, policy: str) -> list[dict]:
    return resources[policy]["Properties"]["PolicyDocument"]["Statement"]


# --- tables -----------------------------------------------------------------------------------------------


def test_every_table_is_declared_from_its_spec(resources):
    tables = {name: r for name, r in resources.items() if r.get("Type") == "AWS::DynamoDB::Table"}
    assert tables, "no AWS::DynamoDB::Table in the template"
    assert set(tables) == {spec.cfn_resource for spec in TABLES.values()}
    for logical, spec in TABLES.items():
        props = tables[spec.cfn_resource]["Properties"]
        expected = spec.create_table_kwargs(physical_name(PREFIX, logical))
        assert props["TableName"] == f"{PREFIX}-{logical}"
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["KeySchema"] == expected["KeySchema"]
        assert props["AttributeDefinitions"] == expected["AttributeDefinitions"]
        assert props.get("GlobalSecondaryIndexes") == expected.get("GlobalSecondaryIndexes")
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        if spec.stream:
            assert props["StreamSpecification"] == {"StreamViewType": spec.stream}
        else:
            assert "StreamSpecification" not in props
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props


def test_every_attribute_definition_is_a_key(resources):
    # CloudFormation rejects attribute definitions that no key schema uses.
    assert TABLES, "no table specs in infra/tables.py"
    for spec in TABLES.values():
        props = resources[spec.cfn_resource]["Properties"]
        used = {k["AttributeName"] for k in props["KeySchema"]}
        for index in props.get("GlobalSecondaryIndexes", []):
            used |= {k["AttributeName"] for k in index["KeySchema"]}
        assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == used


def test_the_event_log_cannot_be_deleted(resources):
    events = resources[TABLES[EVENTS].cfn_resource]
    assert events["Properties"]["DeletionProtectionEnabled"] is True
    assert events["DeletionPolicy"] == "Retain" and events["UpdateReplacePolicy"] == "Retain"
    assert events["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"


def test_open311_request_counters_expire(resources):
    props = resources[TABLES[OPEN311_KEYS].cfn_resource]["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_idempotency_records_expire(resources):
    props = resources[TABLES[IDEMPOTENCY].cfn_resource]["Properties"]
    assert props["TimeToLiveSpecification"]["AttributeName"] == TABLES[IDEMPOTENCY].ttl_attribute


def test_table_names_follow_the_prefix():
    props = t.merge_template("prod", "lapor-prod")["Resources"][TABLES[REPORT_VIEWS].cfn_resource]["Properties"]
    assert props["TableName"] == "lapor-prod-report_views"


# --- stream mapping ---------------------------------------------------------------------------------------


def test_stream_mapping_reads_every_event_with_bounded_retries(resources):
    mapping = resources[t.STREAM_MAPPING]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": [TABLES[EVENTS].cfn_resource, "StreamArn"]}
    assert props["FunctionName"] == {"Ref": "ProjectEvents"}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == 100
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 10
    # Lambda accepts -1 (forever) or 60..604800; a stream keeps records for 24 h.
    assert 60 <= props["MaximumRecordAgeInSeconds"] < 24 * 3600


def test_failed_batches_go_to_a_queue_the_projector_may_write(resources):
    props = resources[t.STREAM_MAPPING]["Properties"]
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": [t.FAILURE_QUEUE, "Arn"]}
    assert resources[t.FAILURE_QUEUE]["Type"] == "AWS::SQS::Queue"
    sends = [s for s in _statements(resources, t.PROJECTOR_POLICY) if "sqs:SendMessage" in _actions(s)]
    assert sends and all(s["Resource"] == destination for s in sends)
    # The mapping must not be created before its role can read the stream and send to the queue.
    assert t.PROJECTOR_POLICY in resources[t.STREAM_MAPPING]["DependsOn"]


# --- environment and secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize("function", list(t.FUNCTIONS))
def test_functions_get_stage_prefix_and_secret_references(resources, function):
    variables = resources[function]["Properties"]["Environment"]["Variables"]
    assert variables["LAPOR_STAGE"] == STAGE
    assert variables["LAPOR_TABLE_PREFIX"] == PREFIX
    assert re.fullmatch(r"\{\{resolve:secretsmanager:[\w/+=.@-]+:SecretString\}\}", variables["LAPOR_TOKEN_SECRET"])
    assert variables["LAPOR_CLAIM_MAPPING"] == "cognito"  # the default: the stack's own user pool
    assert "LAPOR_JWT_SECRET" not in variables
    assert "DYNAMODB_ENDPOINT" not in variables
    assert variables["LAPOR_PHOTO_BUCKET"] == {"Ref": t.PHOTO_BUCKET}
    assert variables["LAPOR_TRACING"] == {"Fn::If": [t.TRACING_ON, "1", "0"]}  # the app's Tracer with X-Ray


def test_another_idp_takes_its_jwks_url_and_issuer_as_parameters():
    doc = t.merge_template(STAGE, PREFIX, staff_auth="jwks")
    variables = doc["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["LAPOR_JWKS_URL"] == {"Ref": t.JWKS_URL_PARAMETER}
    assert variables["LAPOR_JWT_ISSUER"] == {"Ref": t.JWT_ISSUER_PARAMETER}
    assert "LAPOR_CLAIM_MAPPING" not in variables  # flat claims, the default
    assert not [name for name, r in doc["Resources"].items() if r.get("Type", "").startswith("AWS::Cognito::")]


def test_the_sms_gateways_secrets_come_from_secrets_manager_and_their_settings_from_parameters(resources):
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    for name in ("LAPOR_TWILIO_AUTH_TOKEN", "LAPOR_INFOBIP_SECRET"):
        assert re.fullmatch(r"\{\{resolve:secretsmanager:lapor/" + STAGE + r"/[\w-]+:SecretString\}\}", variables[name])
    assert (variables["LAPOR_PUBLIC_URL"], variables["LAPOR_TWILIO_ACCOUNT_SID"], variables["LAPOR_TWILIO_FROM"]) == (
        {"Ref": t.PUBLIC_URL_PARAMETER}, {"Ref": t.TWILIO_ACCOUNT_PARAMETER}, {"Ref": t.TWILIO_FROM_PARAMETER})
    parameters = t.merge_template(STAGE, PREFIX)["Parameters"]
    assert all(parameters[name]["Default"] == "" for name in (
        t.PUBLIC_URL_PARAMETER, t.TWILIO_ACCOUNT_PARAMETER, t.TWILIO_FROM_PARAMETER))  # SMS is optional to deploy


def test_hs256_stage_takes_its_key_from_secrets_manager():
    variables = t.merge_template(STAGE, PREFIX, staff_auth="hs256")["Resources"]["APIHandler"]["Properties"][
        "Environment"]["Variables"]
    assert variables["LAPOR_JWT_SECRET"].startswith("{{resolve:secretsmanager:")
    assert "LAPOR_JWKS_URL" not in variables
    assert variables["LAPOR_JWT_ISSUER"] == {"Ref": t.JWT_ISSUER_PARAMETER}
    with pytest.raises(ValueError):
        t.merge_template(STAGE, PREFIX, staff_auth="none")


@pytest.mark.parametrize("staff_auth", t.STAFF_AUTH_MODES)
def test_no_secret_literal_in_the_template(staff_auth):
    doc = t.merge_template(STAGE, PREFIX, staff_auth=staff_auth)
    secret_names = re.compile(r"SECRET|PASSWORD|PRIVATE|CREDENTIAL|TOKEN", re.I)
    found = 0

    def walk(node, key=""):
        nonlocal found
        if isinstance(node, dict):
            for k, v in node.items():
                if k != "TokenValidityUnits":  # Cognito's token lifetimes: "minutes", "hours"
                    walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and secret_names.search(key):
            found += 1
            assert node.startswith("{{resolve:secretsmanager:") or node.startswith("{{resolve:ssm-secure:"), \
                f"{key} is a literal"

    walk(doc)
    assert found  # the walk did see the secret-bearing variables
    text = json.dumps(doc)
    for literal in ("test-jwt-secret", "test-token-secret", "AKIA", "aws_secret_access_key"):
        assert literal not in text
    assert doc["Parameters"], "no parameters in the template"
    for name, parameter in doc["Parameters"].items():
        assert "Default" not in parameter or not secret_names.search(name)


# --- IAM ---------------------------------------------------------------------------------------------------


def test_policies_attach_to_the_chalice_generated_roles(resources):
    assert resources[t.API_POLICY]["Properties"]["Roles"] == [{"Ref": "ApiHandlerRole"}]
    assert resources[t.PROJECTOR_POLICY]["Properties"]["Roles"] == [{"Ref": "ProjectEventsRole"}]
    for policy in (t.API_POLICY, t.PROJECTOR_POLICY):
        assert resources[policy]["Type"] == "AWS::IAM::Policy"
        assert _statements(resources, policy), f"{policy} has no statements"
        for statement in _statements(resources, policy):
            assert statement["Effect"] == "Allow"
            assert not any(a.endswith("*") for a in _actions(statement)), statement


@pytest.mark.parametrize("policy", [t.API_POLICY, t.PROJECTOR_POLICY])
def test_no_role_may_change_or_delete_an_event(resources, policy):
    forbidden = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQLUpdate",
                 "dynamodb:PartiQLDelete", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:*"}
    on_events = [statement for statement in _statements(resources, policy) if _targets(statement, EVENTS)]
    assert on_events, f"no statement of {policy} targets the events table"
    for statement in on_events:
        assert not (_actions(statement) & forbidden), statement


def test_every_table_has_a_deliberate_grant():
    # A new table in infra/tables.py must come with a decision about who may touch it.
    assert set(t.API_GRANTS) | set(t.PROJECTOR_GRANTS) == set(TABLES)
    assert EVENTS not in t.PROJECTOR_GRANTS  # the projector reads events from the stream only


def test_api_grants(resources):
    granted = _granted(resources, t.API_POLICY)
    assert granted[EVENTS] == {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query",
                               "dynamodb:ConditionCheckItem"}
    for logical in (IDEMPOTENCY, PERSONAL_DATA):
        assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem"} <= granted[logical]
    # BatchGetItem: an Open311 page reads its rows' views at once (chalicelib/open311/reads.py).
    assert granted[REPORT_VIEWS] == {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
    # Open311 keys are issued, checked, counted and revoked, never deleted.
    assert granted[OPEN311_KEYS] == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}
    # Read models and the control table are read-only for the API.
    for logical in (REPORT_VIEWS, STATS, CONTROL):
        assert not granted[logical] & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                       "dynamodb:BatchWriteItem"}
    assert not any("Stream" in a or a.startswith("sqs:") for actions in granted.values() for a in actions)


def test_queries_reach_the_indexes(resources):
    for policy in (t.API_POLICY,):
        index_statements = [s for s in _statements(resources, policy) if "/index/" in json.dumps(s["Resource"])]
        for logical in (EVENTS, REPORT_VIEWS):
            assert any(_targets(s, logical) and _actions(s) == {"dynamodb:Query"} for s in index_statements)


def test_rebuilt_read_model_generations_are_covered(resources):
    # `lapor rebuild` creates `<prefix>-<model>-g<n>` outside the stack and switches to it.
    for policy, grants in ((t.API_POLICY, t.API_GRANTS), (t.PROJECTOR_POLICY, t.PROJECTOR_GRANTS),
                           (t.SWEEP_POLICY, t.SWEEP_GRANTS)):
        text = json.dumps(_statements(resources, policy))
        granted = [logical for logical in REBUILDABLE if logical in grants]
        assert granted, f"{policy} grants no rebuildable read model"
        for logical in granted:
            assert f"table/{physical_name(PREFIX, logical)}-g*" in text, (policy, logical)
        fixed = set(TABLES) - set(REBUILDABLE)
        assert fixed, "every table is rebuildable"
        for logical in fixed:
            assert f"table/{physical_name(PREFIX, logical)}-g" not in text


def test_projector_grants(resources):
    statements = _statements(resources, t.PROJECTOR_POLICY)
    stream = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [TABLES[EVENTS].cfn_resource, "StreamArn"]}]
    assert set().union(*map(_actions, stream)) == {"dynamodb:GetRecords", "dynamodb:GetShardIterator",
                                                   "dynamodb:DescribeStream"}
    assert any(_actions(s) == {"dynamodb:ListStreams"} and s["Resource"] == "*" for s in statements)
    granted = _granted({t.PROJECTOR_POLICY: resources[t.PROJECTOR_POLICY]},
                       t.PROJECTOR_POLICY)
    scoped = {k: v - {"dynamodb:ListStreams"} for k, v in granted.items()}
    assert {"dynamodb:PutItem", "dynamodb:GetItem"} <= scoped[REPORT_VIEWS]
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"} <= scoped[STATS]
    # The projector reads events from the stream only, and never touches the write-side tables.
    for logical in (EVENTS, IDEMPOTENCY, PERSONAL_DATA):
        assert not (scoped.get(logical, set()) - set(t.STREAM_ACTIONS)), (logical, scoped.get(logical))


def test_logs_baseline_policy_file_exists_and_grants_no_data_access():
    root = Path(__file__).resolve().parents[2]
    config = json.loads((root / ".chalice" / "config.json").read_text())
    assert config["autogen_policy"] is False
    policy = json.loads((root / ".chalice" / config["iam_policy_file"]).read_text())
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions and all(a.startswith("logs:") for a in actions)


# --- API Gateway's own answers -----------------------------------------------------------------------------

def _gateway_responses(resources: dict) -> dict:
    return resources[t.REST_API]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]


def _rendered(template: str, gateway_message: str = 'Missing "Authentication" Token') -> dict:
    """The body API Gateway sends: it substitutes $context variables (messageString is a quoted JSON string)."""
    return json.loads(template.replace("$context.error.messageString", json.dumps(gateway_message))
                      .replace("$context.requestId", "6f1b2c3d-0000-4000-8000-000000000000"))


def test_gateway_answers_are_json_in_the_api_error_shape(resources):
    responses = _gateway_responses(resources)
    assert {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "REQUEST_TOO_LARGE",
            "UNSUPPORTED_MEDIA_TYPE"} <= set(responses)
    for response_type, response in responses.items():
        assert response["responseParameters"] == {"gatewayresponse.header.Content-Type": "'application/json'"}
        assert set(response["responseTemplates"]) == {"application/json"}, response_type
        body = _rendered(response["responseTemplates"]["application/json"])
        assert {"code", "message", "pesan"} <= set(body), response_type
        assert all(isinstance(body[k], str) and body[k] for k in ("code", "message", "pesan")), response_type
        assert body["pesan"] != body["message"]
        assert body["details"]["request_id"]
        # Nothing the client controls is pasted into the JSON unescaped.
        template = response["responseTemplates"]["application/json"]
        assert not re.search(r"\$(input|method\.request|context\.(path|resourcePath|httpMethod|identity))", template)


def test_an_unknown_path_is_404_not_found_and_the_other_statuses_are_set(resources):
    responses = _gateway_responses(resources)
    expected = {"MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"), "THROTTLED": ("429", "throttled"),
                "REQUEST_TOO_LARGE": ("413", "payload_too_large"),
                "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported_media_type")}
    for response_type, (status, code) in expected.items():
        response = responses[response_type]
        assert response["statusCode"] == status  # the extension takes the status as a string
        assert _rendered(response["responseTemplates"]["application/json"])["code"] == code
    # The defaults keep the gateway's own status (403, 400, 502, 504, ...) and message.
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "statusCode" not in responses[response_type]
        assert _rendered(responses[response_type]["responseTemplates"]["application/json"],
                         "Endpoint request timed out")["message"] == "Endpoint request timed out"
    assert "Missing" not in _rendered(responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"][
        "application/json"])["message"]


def test_the_codes_match_the_apps_own(resources):
    from chalicelib import errors

    responses = _gateway_responses(resources)
    body = _rendered(responses["REQUEST_TOO_LARGE"]["responseTemplates"]["application/json"])
    assert body["code"] == errors.PayloadTooLarge.code
    body = _rendered(responses["UNSUPPORTED_MEDIA_TYPE"]["responseTemplates"]["application/json"])
    assert body["code"] == errors.UnsupportedMediaType.code
    body = _rendered(responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]["application/json"])
    assert body["code"] == errors.RouteNotFound.code == errors.NotFound.code


def test_gateway_responses_are_part_of_the_api_definition_not_separate_resources(resources):
    # Separate AWS::ApiGateway::GatewayResponse resources would miss SAM's first deployment and be wiped by
    # its later overwrite imports; inside the DefinitionBody they deploy with the routes.
    assert not [name for name, r in resources.items() if r.get("Type") == "AWS::ApiGateway::GatewayResponse"]
    assert set(resources[t.REST_API]) == {"Properties"}  # a fragment merged onto Chalice's RestAPI
    assert set(resources[t.REST_API]["Properties"]["DefinitionBody"]) == {"x-amazon-apigateway-gateway-responses"}


# --- writer and CLI ----------------------------------------------------------------------------------------


def test_cli_writes_the_document(tmp_path):
    out = tmp_path / "nested" / "merge.json"
    assert t.main([str(out), "--stage", "prod"]) == 0
    assert json.loads(out.read_text()) == t.merge_template("prod", "lapor-prod")
    t.write_merge_template(out, "dev", "x-dev")
    assert json.loads(out.read_text())["Resources"]["EventsTable"]["Properties"]["TableName"] == "x-dev-events"
