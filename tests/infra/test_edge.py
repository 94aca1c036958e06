"""The API's edge: throttles on the stage and the public writes, no CORS, photo uploads from our origin only."""
from __future__ import annotations

import json

import pytest

from infra import template as t

STAGE, PREFIX = "dev", "lapor-dev"


@pytest.fixture(scope="module")
def doc() -> dict:
    return t.merge_template(STAGE, PREFIX)


def _evaluate(node, parameters: dict[str, str]):
    """The few intrinsic functions the origin expression uses, evaluated as CloudFormation does."""
    if isinstance(node, dict):
        [(name, arg)] = node.items()
        if name == "Ref":
            return parameters[arg]
        if name == "Fn::Split":
            return _evaluate(arg[1], parameters).split(arg[0])
        if name == "Fn::Select":
            return _evaluate(arg[1], parameters)[arg[0]]
        if name == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            values = {**parameters, **{k: _evaluate(v, parameters) for k, v in variables.items()}}
            for key, value in values.items():
                text = text.replace("${%s}" % key, value)
            return text
        raise AssertionError(f"unexpected {name}")
    return node


def test_the_stage_and_every_public_write_are_throttled(doc):
    settings = doc["Resources"][t.REST_API]["Properties"]["MethodSettings"]
    stage = [s for s in settings if s["ResourcePath"] == "/*"]
    assert stage == [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": {"Ref": t.API_THROTTLE_RATE},
                      "ThrottlingBurstLimit": {"Ref": t.API_THROTTLE_BURST}}]
    by_path = {s["ResourcePath"]: s for s in settings if s["ResourcePath"] != "/*"}
    assert by_path["/~1reports"]["HttpMethod"] == "POST"
    assert by_path["/"]["ThrottlingRateLimit"] == {"Ref": t.PUBLIC_WRITE_RATE}
    assert set(by_path) == {"/~1reports", "/", "/~1open311~1v2~1requests.json", "/~1open311~1v2~1requests.xml",
                            "/~1lacak", "/~1sms~1{gateway}", "/~1photo-uploads"}
    parameters = doc["Parameters"]
    for name, default in t.THROTTLE_DEFAULTS.items():
        assert parameters[name]["Default"] == default
    # The public writes are tighter than the stage they are part of.
    assert t.THROTTLE_DEFAULTS[t.PUBLIC_WRITE_RATE] < t.THROTTLE_DEFAULTS[t.SMS_WEBHOOK_RATE] \
        < t.THROTTLE_DEFAULTS[t.API_THROTTLE_RATE]


def test_the_throttled_paths_are_real_post_routes(sam):
    paths = sam["Resources"][t.REST_API]["Properties"]["DefinitionBody"]["paths"]
    for path in t.PUBLIC_WRITES:
        assert "post" in paths[path], path  # a renamed route would leave its throttle on nothing


def test_no_cors_on_the_api(sam):
    # The pages are same-origin; Open311 and SMS clients are servers: no Access-Control-* from the API.
    api = json.dumps(sam["Resources"][t.REST_API])
    assert "Access-Control" not in api
    paths = sam["Resources"][t.REST_API]["Properties"]["DefinitionBody"]["paths"]
    mocks = [path for path, methods in paths.items()
             if methods.get("options", {}).get("x-amazon-apigateway-integration", {}).get("type") == "mock"]
    assert mocks == []  # Chalice's CORS preflight answers are mock integrations


def test_gateway_responses_stay_inside_the_api_definition(sam):
    body = sam["Resources"][t.REST_API]["Properties"]["DefinitionBody"]
    assert set(body["x-amazon-apigateway-gateway-responses"]) == set(t.GATEWAY_RESPONSES)
    assert not [r for r in sam["Resources"].values() if r["Type"] == "AWS::ApiGateway::GatewayResponse"]


@pytest.mark.parametrize("url, origin", [("https://lapor.example.go.id", "https://lapor.example.go.id"),
                                         ("https://abc.execute-api.ap-southeast-3.amazonaws.com/api",
                                          "https://abc.execute-api.ap-southeast-3.amazonaws.com")])
def test_photo_uploads_are_allowed_from_the_public_origin_only(doc, url, origin):
    cors = doc["Resources"][t.PHOTO_BUCKET]["Properties"]["CorsConfiguration"]
    condition, rules, otherwise = cors["Fn::If"]
    assert condition == t.HAS_PUBLIC_URL and otherwise == {"Ref": "AWS::NoValue"}
    [rule] = rules["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    assert [_evaluate(o, {t.PUBLIC_URL_PARAMETER: url}) for o in rule["AllowedOrigins"]] == [origin]


def test_the_origin_expression_survives_an_empty_url(doc):
    # CloudFormation may evaluate it even when the condition is false: it must not fail on "".
    assert _evaluate(t.web_origin(), {t.PUBLIC_URL_PARAMETER: ""}) == "https://"


def test_the_api_may_write_and_read_photos_never_delete_them_and_knows_the_bucket(doc):
    statements = doc["Resources"][t.API_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    [photos] = [s for s in statements if s["Sid"] == "PhotoObjects"]
    assert set(photos["Action"]) == {"s3:PutObject", "s3:GetObject"}
    assert photos["Resource"] == {"Fn::Sub": "${PhotoBucket.Arn}/*"}
    [listing] = [s for s in statements if s["Sid"] == "PhotoListing"]  # a missing upload is then a 404, not 403
    assert (listing["Action"], listing["Resource"]) == (["s3:ListBucket"], {"Fn::GetAtt": [t.PHOTO_BUCKET, "Arn"]})
    variables = doc["Resources"][t.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["LAPOR_PHOTO_BUCKET"] == {"Ref": t.PHOTO_BUCKET}


def test_tracing_is_a_parameter_and_off_by_default(doc):
    assert doc["Parameters"][t.TRACING_PARAMETER]["Default"] == "PassThrough"
    for function in t.FUNCTIONS:
        assert doc["Resources"][function]["Properties"]["Tracing"] == {"Ref": t.TRACING_PARAMETER}
    assert doc["Resources"][t.REST_API]["Properties"]["TracingEnabled"] == {"Fn::If": [t.TRACING_ON, True, False]}
    policy = doc["Resources"][t.TRACING_POLICY]
    assert policy["Condition"] == t.TRACING_ON
    assert sorted(r["Ref"] for r in policy["Properties"]["Roles"]) == sorted(t.ROLES.values())
