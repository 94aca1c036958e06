"""The CloudFormation document merged into Chalice's output: `chalice package --merge-template OUT.json`.

Chalice declares the functions, their roles and the REST API; everything it cannot express comes from here
(DESIGN §3, research/stack.md §2c/§2d):

* every DynamoDB table of infra.tables.TABLES (the one definition the tests and `lapor serve` use too);
* the events-stream -> projector mapping with the error handling Chalice has no options for: TRIM_HORIZON,
  ReportBatchItemFailures, bisect on error, a retry limit, a record-age limit and an on-failure SQS queue.
  `project_events` is a plain `@app.lambda_function`, so the mapping is an AWS::Lambda::EventSourceMapping
  resource of its own rather than a SAM `Events` entry;
* the functions' environment (stage, table prefix, staff-token verification, reporter-token key). Secrets are
  never literals: `{{resolve:secretsmanager:...}}` dynamic references, resolved by CloudFormation at deploy;
* the data-access IAM policies, one per function role;
* API Gateway's own error answers (gateway responses) in the API's `{code, message, pesan}` shape.

Gateway responses. API Gateway answers some requests without invoking the app: a path no route has, or a
method the path has no route for, gets 403 MISSING_AUTHENTICATION_TOKEN `{"message": "Missing Authentication
Token"}` (it cannot tell the two apart); throttling, oversized bodies and its own failures have their own
shapes. The app routes all seven methods Chalice can route on every path (chalicelib/http/endpoint.py), so a
wrong method reaches it and gets a real 405 with Allow; what is left for MISSING_AUTHENTICATION_TOKEN is an
unknown path, or a verb API Gateway routes nowhere (TRACE, CONNECT, ...), both answered 404 `not_found`.
They are merged into the REST API's own definition (`x-amazon-apigateway-gateway-responses` in Chalice's
DefinitionBody), not declared as AWS::ApiGateway::GatewayResponse resources: SAM imports that definition in
overwrite mode and redeploys only when it changes, so separate resources are missing from the first
deployment and are wiped by later ones (aws/serverless-application-model#390, #623); inside the definition
they are deployed with it, and changing one redeploys the API.

IAM choice. `.chalice/config.json` has `autogen_policy: false` + `iam_policy_file: policy.json`. With that,
Chalice makes one role per function (`ApiHandlerRole`, `ProjectEventsRole`; no `DefaultRole`) and gives
each the same inline policy read from `.chalice/policy.json`. That file is static JSON: it cannot name
the tables' ARNs through Ref/GetAtt (and differs by nothing between the two functions unless a second
file is configured per function). So `.chalice/policy.json` holds only the CloudWatch Logs baseline both
functions need, and the least-privilege data grants live here as AWS::IAM::Policy resources, one per role,
with ARNs taken from the tables declared in the same stack. Consequence: a bare `chalice deploy` (no
merged template) yields functions with no data access -- on purpose: the deploy path is package + merge.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chalicelib.errors import PayloadTooLarge, RouteNotFound, UnsupportedMediaType
from infra.tables import (
    CONTROL,
    DEADLINES,
    EVENTS,
    IDEMPOTENCY,
    OPEN311_KEYS,
    OUTBOX,
    PERSONAL_DATA,
    REBUILDABLE,
    REPORT_VIEWS,
    STATS,
    TABLES,
    TableSpec,
    physical_name,
)

# Logical ids Chalice 1.34 generates for app "lapor" (read from `chalice package` sam.json; the packaging
# test fails if Chalice ever names them differently, because the merge would then add orphan fragments).
API_FUNCTION = "APIHandler"
API_ROLE = "ApiHandlerRole"
PROJECTOR_FUNCTION = "ProjectEvents"  # @app.lambda_function(name="project_events")
PROJECTOR_ROLE = "ProjectEventsRole"
SWEEP_FUNCTION = "SweepDeadlines"  # @app.schedule(..., name="sweep_deadlines")
SWEEP_ROLE = "SweepDeadlinesRole"
SENDER_FUNCTION = "SendNotifications"  # @app.schedule(..., name="send_notifications")
SENDER_ROLE = "SendNotificationsRole"
REST_API = "RestAPI"  # the AWS::Serverless::Api, with the routes as an inline DefinitionBody
CHALICE_RESOURCES = (API_FUNCTION, API_ROLE, PROJECTOR_FUNCTION, PROJECTOR_ROLE, SWEEP_FUNCTION, SWEEP_ROLE,
                     SENDER_FUNCTION, SENDER_ROLE, REST_API)

# Resources this template adds.
FAILURE_QUEUE = "ProjectorFailureQueue"
STREAM_MAPPING = "ProjectEventsStreamMapping"
API_POLICY = "ApiDataAccessPolicy"
PROJECTOR_POLICY = "ProjectorDataAccessPolicy"
SWEEP_POLICY = "SweepDataAccessPolicy"
SENDER_POLICY = "SenderAccessPolicy"
STAFF_TOPIC = "StaffNotificationsTopic"
ARCHIVE_BUCKET = "EventArchiveBucket"
EMAIL_FROM_PARAMETER = "NotificationEmailFrom"

# Stream mapping settings (stack.md §7 items 2-3).
BATCH_SIZE = 100
MAXIMUM_RETRY_ATTEMPTS = 10
# The on-failure message carries only the shard id and the sequence-number range, not the records. A stream
# keeps records for 24 h, so giving up after 6 h leaves >= 18 h to read the failed range back from the stream
# (and the events table, the source of truth, can always rebuild a view anyway).
MAXIMUM_RECORD_AGE_SECONDS = 6 * 3600
FAILURE_RETENTION_SECONDS = 14 * 24 * 3600  # SQS maximum

# Parameters (not secrets: a URL and an issuer name).
JWKS_URL_PARAMETER = "StaffJwksUrl"
JWT_ISSUER_PARAMETER = "StaffJwtIssuer"
PUBLIC_URL_PARAMETER = "PublicApiUrl"  # what SMS gateways call: Twilio signs that exact URL
TWILIO_ACCOUNT_PARAMETER = "TwilioAccountSid"  # with TwilioFromNumber: replies go out through Twilio, else SNS
TWILIO_FROM_PARAMETER = "TwilioFromNumber"

# API Gateway's own answers: response type -> (status, or None to keep the gateway's; code; English message,
# or None for the gateway's own ($context.error.messageString, already a quoted JSON string); Indonesian).
# Nothing the client sent is echoed: the templates are not JSON-escaped.
FROM_GATEWAY = None
GATEWAY_RESPONSES: dict[str, tuple[str | None, str, str | None, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        "404", RouteNotFound.code, "no such path (or a method that no route takes)",
        "alamat tidak ada (atau metode yang tidak didukung)"),
    "THROTTLED": ("429", "throttled", "too many requests; retry later", "terlalu banyak permintaan; coba lagi nanti"),
    "REQUEST_TOO_LARGE": ("413", PayloadTooLarge.code, FROM_GATEWAY, "isi permintaan terlalu besar"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", UnsupportedMediaType.code, FROM_GATEWAY,
                               "Content-Type harus application/json"),
    "DEFAULT_4XX": (None, "request_rejected", FROM_GATEWAY, "permintaan ditolak oleh gateway API"),
    "DEFAULT_5XX": (None, "gateway_error", FROM_GATEWAY,
                    "gateway API gagal meneruskan permintaan; coba lagi nanti"),
}

# Actions per table and role, from what the code calls (pynamodb 6 never calls DescribeTable for item
# operations). Events are immutable: no role gets UpdateItem, DeleteItem or BatchWriteItem on them.
# TransactWriteItems has no IAM action of its own: each item in a transaction needs its Put/Update/
# ConditionCheck action. Query on a table with indexes is granted on its indexes too.
READ_WRITE = ("dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
              "dynamodb:UpdateItem")
API_GRANTS: dict[str, tuple[str, ...]] = {
    EVENTS: ("dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"),
    IDEMPOTENCY: READ_WRITE,
    PERSONAL_DATA: READ_WRITE,
    # Views, work queues and public lists (GSIs); an Open311 page reads its rows' views in one BatchGetItem.
    REPORT_VIEWS: ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"),
    STATS: ("dynamodb:BatchGetItem", "dynamodb:GetItem"),  # counters and rankings
    CONTROL: ("dynamodb:GetItem",),  # which read-model generation is live
    OUTBOX: ("dynamodb:PutItem",),  # create-only SMS replies that record no event (CEK, STOP, help)
    # Open311 API keys: issue (create-only put), list (one Query), check (GetItem), revoke and count requests
    # per minute (UpdateItem). Nothing ever deletes a key: a revoked one stays, for the record.
    OPEN311_KEYS: ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"),
}
PROJECTOR_GRANTS: dict[str, tuple[str, ...]] = {
    REPORT_VIEWS: ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),  # guarded put of the view
    STATS: ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),  # guard Put + counter ADDs
    CONTROL: ("dynamodb:GetItem", "dynamodb:UpdateItem"),  # live generations; the log's first day
    DEADLINES: ("dynamodb:GetItem", "dynamodb:PutItem"),  # the due-date index, guarded put per report
    OUTBOX: ("dynamodb:GetItem", "dynamodb:PutItem"),  # create-only messages and per-report facts
}
# The sweep reads the due-date index and appends system events (never updates or deletes one).
SWEEP_GRANTS: dict[str, tuple[str, ...]] = {
    EVENTS: ("dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:Query"),
    DEADLINES: ("dynamodb:Query",),
    CONTROL: ("dynamodb:GetItem",),
}
# The sender claims and settles outbox messages and looks up a reporter's contact at send time.
SENDER_GRANTS: dict[str, tuple[str, ...]] = {
    OUTBOX: ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    PERSONAL_DATA: ("dynamodb:GetItem",),
}
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")


def secret_reference(secret_id: str) -> str:
    """A Secrets Manager dynamic reference: CloudFormation resolves it at deploy, the template holds no value."""
    return "{{resolve:secretsmanager:%s:SecretString}}" % secret_id


def secret_ids(stage: str) -> dict[str, str]:
    """Secrets Manager secret names, by the environment variable they feed. Create them before deploying."""
    return {"LAPOR_TOKEN_SECRET": f"lapor/{stage}/token-secret",
            "LAPOR_JWT_SECRET": f"lapor/{stage}/jwt-secret",
            # SMS 1708's gateways: a gateway you do not use gets a long random value nobody knows, and its
            # webhook then refuses every request.
            "LAPOR_TWILIO_AUTH_TOKEN": f"lapor/{stage}/twilio-auth-token",
            "LAPOR_INFOBIP_SECRET": f"lapor/{stage}/infobip-secret"}


def table_resource(spec: TableSpec, table_prefix: str) -> dict[str, Any]:
    kwargs = spec.create_table_kwargs(physical_name(table_prefix, spec.logical_name))
    properties: dict[str, Any] = {
        "TableName": kwargs["TableName"],
        "BillingMode": kwargs["BillingMode"],
        "AttributeDefinitions": kwargs["AttributeDefinitions"],
        "KeySchema": kwargs["KeySchema"],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    if "GlobalSecondaryIndexes" in kwargs:
        properties["GlobalSecondaryIndexes"] = kwargs["GlobalSecondaryIndexes"]
    if spec.stream:
        # CloudFormation's StreamSpecification has no StreamEnabled: the view type alone turns the stream on.
        properties["StreamSpecification"] = {"StreamViewType": spec.stream}
    if spec.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    resource: dict[str, Any] = {"Type": "AWS::DynamoDB::Table", "Properties": properties}
    if spec.logical_name == EVENTS:
        # The event log is the only source of truth: neither a console click nor a stack delete or a
        # replacing update may remove it.
        properties["DeletionProtectionEnabled"] = True
        resource["DeletionPolicy"] = "Retain"
        resource["UpdateReplacePolicy"] = "Retain"
    return resource


def _table_arns(logical: str, table_prefix: str) -> list[Any]:
    """The table's ARN; for a rebuildable read model also its later generations (`<name>-g<n>`), which
    `lapor rebuild` creates outside this stack and switches to through the control table."""
    arns: list[Any] = [{"Fn::GetAtt": [TABLES[logical].cfn_resource, "Arn"]}]
    if logical in REBUILDABLE:
        arns.append({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
                                + physical_name(table_prefix, logical) + "-g*"})
    return arns


def _index_arns(logical: str, table_prefix: str) -> list[Any]:
    arns: list[Any] = [{"Fn::Sub": "${%s.Arn}/index/*" % TABLES[logical].cfn_resource}]
    if logical in REBUILDABLE:
        arns.append({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
                                + physical_name(table_prefix, logical) + "-g*/index/*"})
    return arns


def _sid(logical: str) -> str:
    return "".join(part.capitalize() for part in logical.split("_"))


def _statement(sid: str, actions: tuple[str, ...], resources: list[Any] | Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _table_statements(grants: dict[str, tuple[str, ...]], table_prefix: str) -> list[dict[str, Any]]:
    statements = []
    for logical, actions in grants.items():
        statements.append(_statement(_sid(logical), actions, _table_arns(logical, table_prefix)))
        if "dynamodb:Query" in actions and TABLES[logical].indexes:
            statements.append(_statement(_sid(logical) + "Indexes", ("dynamodb:Query",),
                                         _index_arns(logical, table_prefix)))
    return statements


def api_policy_document(table_prefix: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": _table_statements(API_GRANTS, table_prefix)}


def projector_policy_document(table_prefix: str) -> dict[str, Any]:
    events = TABLES[EVENTS].cfn_resource
    statements = [
        _statement("EventsStreamRead", STREAM_ACTIONS, {"Fn::GetAtt": [events, "StreamArn"]}),
        # ListStreams takes no resource-level restriction.
        _statement("EventsStreamList", ("dynamodb:ListStreams",), "*"),
        *_table_statements(PROJECTOR_GRANTS, table_prefix),
        _statement("FailureQueueSend", ("sqs:SendMessage",), {"Fn::GetAtt": [FAILURE_QUEUE, "Arn"]}),
        # The archive only ever creates objects (create-only puts); it never reads, overwrites or deletes.
        _statement("ArchiveWrite", ("s3:PutObject",), {"Fn::Sub": f"${{{ARCHIVE_BUCKET}.Arn}}/events/*"}),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def sweep_policy_document(table_prefix: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": _table_statements(SWEEP_GRANTS, table_prefix)}


def sender_policy_document(table_prefix: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        *_table_statements(SENDER_GRANTS, table_prefix),
        _statement("StaffTopicPublish", ("sns:Publish",), {"Ref": STAFF_TOPIC}),
        # SMS to a phone number has no resource ARN; it is allowed only when no topic/target is named.
        {"Sid": "SmsPublish", "Effect": "Allow", "Action": ["sns:Publish"], "NotResource": "arn:aws:sns:*:*:*"},
        {"Sid": "EmailSend", "Effect": "Allow", "Action": ["ses:SendEmail"], "Resource": "*",
         "Condition": {"StringEquals": {"ses:FromAddress": {"Ref": EMAIL_FROM_PARAMETER}}}},
    ]}


def gateway_responses() -> dict[str, Any]:
    """`x-amazon-apigateway-gateway-responses`: each a JSON `{code, message, pesan, details}` body."""
    responses: dict[str, Any] = {}
    for response_type, (status, code, message, pesan) in GATEWAY_RESPONSES.items():
        template = ('{"code": %s, "message": %s, "pesan": %s, "details": {"request_id": "$context.requestId"}}'
                    % (json.dumps(code), json.dumps(message) if message else "$context.error.messageString",
                       json.dumps(pesan)))
        response: dict[str, Any] = {
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            "responseTemplates": {"application/json": template},
        }
        if status is not None:
            response["statusCode"] = status
        responses[response_type] = response
    return responses


def environment(stage: str, table_prefix: str, staff_auth: str) -> dict[str, Any]:
    """Variables for both functions (settings validates all of them at first use, projector included)."""
    secrets = secret_ids(stage)
    variables: dict[str, Any] = {
        "LAPOR_STAGE": stage,
        "LAPOR_TABLE_PREFIX": table_prefix,
        "LAPOR_TOKEN_SECRET": secret_reference(secrets["LAPOR_TOKEN_SECRET"]),
        "LAPOR_JWT_ISSUER": {"Ref": JWT_ISSUER_PARAMETER},
        "LAPOR_EMAIL_FROM": {"Ref": EMAIL_FROM_PARAMETER},
        "LAPOR_STAFF_TOPIC_ARN": {"Ref": STAFF_TOPIC},
        "LAPOR_ARCHIVE_BUCKET": {"Ref": ARCHIVE_BUCKET},
        "LAPOR_PUBLIC_URL": {"Ref": PUBLIC_URL_PARAMETER},
        "LAPOR_TWILIO_AUTH_TOKEN": secret_reference(secrets["LAPOR_TWILIO_AUTH_TOKEN"]),
        "LAPOR_TWILIO_ACCOUNT_SID": {"Ref": TWILIO_ACCOUNT_PARAMETER},
        "LAPOR_TWILIO_FROM": {"Ref": TWILIO_FROM_PARAMETER},
        "LAPOR_INFOBIP_SECRET": secret_reference(secrets["LAPOR_INFOBIP_SECRET"]),
    }
    if staff_auth == "jwks":
        variables["LAPOR_JWKS_URL"] = {"Ref": JWKS_URL_PARAMETER}
    else:
        variables["LAPOR_JWT_SECRET"] = secret_reference(secrets["LAPOR_JWT_SECRET"])
    return {"Variables": variables}


def merge_template(stage: str, table_prefix: str, *, staff_auth: str = "jwks") -> dict[str, Any]:
    """The document for `chalice package --merge-template`.

    staff_auth: "jwks" (RS256 tokens from Cognito or another IdP; the JWKS URL is a stack parameter) or
    "hs256" (a shared key from Secrets Manager, for a stage without an IdP).
    """
    if staff_auth not in ("jwks", "hs256"):
        raise ValueError(f"staff_auth must be 'jwks' or 'hs256', not {staff_auth!r}")
    events = TABLES[EVENTS].cfn_resource

    parameters: dict[str, Any] = {
        JWT_ISSUER_PARAMETER: {"Type": "String", "MinLength": 1,
                               "Description": "The 'iss' claim staff tokens must carry."},
    }
    parameters[EMAIL_FROM_PARAMETER] = {"Type": "String", "AllowedPattern": "^[^@]+@[^@]+$",
                                        "Description": "SES-verified sender of reporters' e-mail."}
    parameters[PUBLIC_URL_PARAMETER] = {
        "Type": "String", "AllowedPattern": "^(https://[^/]+(/.*[^/])?)?$", "Default": "",
        "Description": "The API's public base URL as the SMS gateways call it (e.g. https://api.lapor.go.id); "
                       "empty: the URL each request names."}
    parameters[TWILIO_ACCOUNT_PARAMETER] = {
        "Type": "String", "AllowedPattern": "^(AC[0-9a-f]{32})?$", "Default": "",
        "Description": "Twilio account of SMS 1708: inbound messages must name it; with TwilioFromNumber, "
                       "replies go out through Twilio (empty: through SNS)."}
    parameters[TWILIO_FROM_PARAMETER] = {
        "Type": "String", "Default": "", "Description": "The number or short code replies come from (e.g. 1708)."}
    if staff_auth == "jwks":
        parameters[JWKS_URL_PARAMETER] = {
            "Type": "String", "AllowedPattern": "^https://.+",
            "Description": "JWKS URL of the identity provider that signs staff tokens (RS256)."}

    resources: dict[str, Any] = {spec.cfn_resource: table_resource(spec, table_prefix) for spec in TABLES.values()}
    env = environment(stage, table_prefix, staff_auth)
    for function in (API_FUNCTION, PROJECTOR_FUNCTION, SWEEP_FUNCTION, SENDER_FUNCTION):
        resources[function] = {"Properties": {"Environment": env}}
    resources[REST_API] = {"Properties": {"DefinitionBody": {
        "x-amazon-apigateway-gateway-responses": gateway_responses()}}}
    resources[ARCHIVE_BUCKET] = {
        "Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {
            "VersioningConfiguration": {"Status": "Enabled"},
            # Object Lock in governance mode: archived events cannot be altered or removed for 10 years.
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {
                "DefaultRetention": {"Mode": "GOVERNANCE", "Years": 10}}},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}}
    resources[STAFF_TOPIC] = {"Type": "AWS::SNS::Topic",
                              "Properties": {"TopicName": f"{table_prefix}-staff-notifications"}}
    for policy, name, role, document in (
            (SWEEP_POLICY, "lapor-sweep-data-access", SWEEP_ROLE, sweep_policy_document(table_prefix)),
            (SENDER_POLICY, "lapor-sender-access", SENDER_ROLE, sender_policy_document(table_prefix))):
        resources[policy] = {"Type": "AWS::IAM::Policy",
                             "Properties": {"PolicyName": name, "Roles": [{"Ref": role}], "PolicyDocument": document}}

    resources[FAILURE_QUEUE] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": f"{table_prefix}-projector-failures",
                       "MessageRetentionPeriod": FAILURE_RETENTION_SECONDS,
                       "SqsManagedSseEnabled": True},
    }
    resources[API_POLICY] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyName": "lapor-api-data-access", "Roles": [{"Ref": API_ROLE}],
                       "PolicyDocument": api_policy_document(table_prefix)},
    }
    resources[PROJECTOR_POLICY] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyName": "lapor-projector-data-access", "Roles": [{"Ref": PROJECTOR_ROLE}],
                       "PolicyDocument": projector_policy_document(table_prefix)},
    }
    resources[STREAM_MAPPING] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        # Lambda checks at creation that the role can read the stream and send to the destination, and the
        # policy is a separate resource: without this the mapping may be created before the grant exists.
        "DependsOn": [PROJECTOR_POLICY],
        "Properties": {
            "EventSourceArn": {"Fn::GetAtt": [events, "StreamArn"]},
            "FunctionName": {"Ref": PROJECTOR_FUNCTION},
            "StartingPosition": "TRIM_HORIZON",  # a projection must see every event, not only new ones
            "BatchSize": BATCH_SIZE,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": MAXIMUM_RETRY_ATTEMPTS,
            "MaximumRecordAgeInSeconds": MAXIMUM_RECORD_AGE_SECONDS,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [FAILURE_QUEUE, "Arn"]}}},
        },
    }
    outputs = {
        "EventsTableName": {"Value": {"Ref": events}},
        "EventsStreamArn": {"Value": {"Fn::GetAtt": [events, "StreamArn"]}},
        "ProjectorFailureQueueUrl": {"Value": {"Ref": FAILURE_QUEUE}},
    }
    return {"Parameters": parameters, "Resources": resources, "Outputs": outputs}


def write_merge_template(path: str | Path, stage: str, prefix: str, *, staff_auth: str = "jwks") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merge_template(stage, prefix, staff_auth=staff_auth), indent=2, sort_keys=True)
                    + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.template",
        description="Write the CloudFormation merged by `chalice package --merge-template OUT.json`.")
    parser.add_argument("out", help="where to write the JSON document")
    parser.add_argument("--stage", default="dev", help="Chalice stage (default: dev)")
    parser.add_argument("--prefix", default=None, help="table name prefix (default: lapor-STAGE)")
    parser.add_argument("--staff-auth", choices=("jwks", "hs256"), default="jwks",
                        help="how staff tokens are verified (default: jwks)")
    args = parser.parse_args(argv)
    write_merge_template(args.out, args.stage, args.prefix or f"lapor-{args.stage}", staff_auth=args.staff_auth)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
