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
* API Gateway's own error answers (gateway responses) in the API's `{code, message, pesan}` shape;
* the edge: stage throttling, tighter limits on the public writes, no CORS (below);
* every function's memory, timeout, log group and tracing (below); alarms and a dashboard
  (infra/monitoring.py); the staff user pool (infra/identity.py);
* data safety: every table and bucket that holds data is retained on stack deletion and replacement,
  deletion-protected and recoverable (PITR / versioning). Read models are rebuildable from the log, but a
  rebuild of millions of events takes hours (tests/bench/RESULTS.md §5: ~115 events/s per model on moto), so
  they get the same protection: losing one is an outage. `lapor rebuild` gives its generations the same.

Edge. The citizen pages are served by this same API (same origin), Open311 and SMS clients are servers, and
staff use the console pages: no browser on another origin needs the API, so no route has CORS and no
response carries Access-Control-Allow-* (a browser on another origin can then neither read an answer nor
send a non-simple request). The one cross-origin exchange is the browser uploading a photo straight to the
photo bucket, which allows POST from the PublicApiUrl origin only. API Gateway throttles the stage as a
whole and the unauthenticated writes (new reports through the API, the page form and Open311, the SMS
webhooks, the Lacak token check, photo upload slots) tighter; these limits are global, not per client (per-client limits need
WAF rate-based rules: not here), so they bound cost and load rather than single out an abuser.

Sizes (chosen from measurements, not defaults). Importing the handler from the bundle and loading what the
first request needs costs about 0.9 s of CPU and 61 MB resident (measured on the unzipped bundle, Python
3.11; 91 MB after a first request with its boto3 clients). Lambda gives CPU in proportion to memory (1,769
MB = one vCPU): at Chalice's 128 MB a cold start would take ~12 s. The API gets 1,024 MB (~0.6 vCPU: a cold
start of ~1.5 s; warm requests are one or two DynamoDB round trips, so duration and cost barely move). The
projector (bench §4: its time is DynamoDB round trips, ~8 per event; our code is ~7 ms of 65 per event on
moto) and the sweep are I/O-bound: 512 MB. The sender wakes every minute and imports Twilio's client on its
first batch: 512 MB keeps its cold start near 3 s instead of 6 at 256 MB. Timeouts: the API's is just under
API Gateway's 29 s integration limit (a longer run only serves a client that already got 504); the
projector's 60 s is ~8x a full batch of 100 events at ~8 requests each; the sweep's 900 s (Lambda's maximum)
because it works through every due report of the hour; the sender's 120 s, two schedule periods (its
claims keep two overlapping runs from sending a message twice).

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
from infra import identity, monitoring
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

API_STAGE = "api"  # .chalice/config.json api_gateway_stage (the packaging test compares)
# Short names (log groups, alarm texts) of the functions.
FUNCTIONS = {API_FUNCTION: "api", PROJECTOR_FUNCTION: "projector", SWEEP_FUNCTION: "sweep",
             SENDER_FUNCTION: "sender"}
ROLES = {API_FUNCTION: API_ROLE, PROJECTOR_FUNCTION: PROJECTOR_ROLE, SWEEP_FUNCTION: SWEEP_ROLE,
         SENDER_FUNCTION: SENDER_ROLE}
# (MemorySize MB, Timeout s) per function: see "Sizes" above.
FUNCTION_SIZES = {API_FUNCTION: (1024, 28), PROJECTOR_FUNCTION: (512, 60), SWEEP_FUNCTION: (512, 900),
                  SENDER_FUNCTION: (512, 120)}

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
PHOTO_BUCKET = "PhotoBucket"
BUCKET_POLICIES = {ARCHIVE_BUCKET: "EventArchiveBucketPolicy", PHOTO_BUCKET: "PhotoBucketPolicy"}
TRACING_POLICY = "TracingPolicy"
# Photos: an upload lands under incoming/ and is moved (or deleted) once the report command accepts it;
# what is never claimed is gone after a day. A deleted or replaced photo stays recoverable for 30 days,
# then its old version expires too (an erasure must not keep a face or a house number for ever).
PHOTO_INCOMING_PREFIX = "incoming/"
PHOTO_INCOMING_DAYS = 1
PHOTO_NONCURRENT_DAYS = 30

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
TRACING_PARAMETER = "Tracing"  # X-Ray: Active | PassThrough (off)
TRACING_ON = "TracingActive"
HAS_PUBLIC_URL = "HasPublicApiUrl"
API_THROTTLE_RATE, API_THROTTLE_BURST = "ApiThrottleRate", "ApiThrottleBurst"
PUBLIC_WRITE_RATE, PUBLIC_WRITE_BURST = "PublicWriteThrottleRate", "PublicWriteThrottleBurst"
SMS_WEBHOOK_RATE, SMS_WEBHOOK_BURST = "SmsWebhookThrottleRate", "SmsWebhookThrottleBurst"
# Requests per second (steady, burst). The stage: ~20 concurrent 100-ms requests at 200/s, far above any
# national day so far and far below the account's 10,000/s, so one flood cannot take every Lambda slot.
# A new report: SP4N-LAPOR! gets thousands a day, about one every few seconds at peak; 10/s is headroom
# of an order of magnitude. SMS webhooks carry the carriers' pace (and a throttled one is not retried by
# every gateway), so they get twice that; they are signed, and refused before anything is written.
THROTTLE_DEFAULTS = {API_THROTTLE_RATE: 100, API_THROTTLE_BURST: 200, PUBLIC_WRITE_RATE: 10,
                     PUBLIC_WRITE_BURST: 20, SMS_WEBHOOK_RATE: 20, SMS_WEBHOOK_BURST: 40}
# The unauthenticated writes: path -> (rate parameter, burst parameter). All POST.
PUBLIC_WRITES = {
    "/reports": (PUBLIC_WRITE_RATE, PUBLIC_WRITE_BURST),  # the JSON API's submission
    "/": (PUBLIC_WRITE_RATE, PUBLIC_WRITE_BURST),  # the Lapor page's form
    "/open311/v2/requests.json": (PUBLIC_WRITE_RATE, PUBLIC_WRITE_BURST),
    "/open311/v2/requests.xml": (PUBLIC_WRITE_RATE, PUBLIC_WRITE_BURST),
    "/lacak": (PUBLIC_WRITE_RATE, PUBLIC_WRITE_BURST),  # the tracking-token check (no guessing at speed)
    "/photo-uploads": (PUBLIC_WRITE_RATE, PUBLIC_WRITE_BURST),  # a presigned upload slot (5 MB each)
    "/sms/{gateway}": (SMS_WEBHOOK_RATE, SMS_WEBHOOK_BURST),
}

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
    # Every table: neither a console click nor a stack delete nor a replacing update may remove it. The event
    # log is the only source of truth; personal data, idempotency records, the outbox, the control item and
    # the Open311 keys are not in the log at all; the read models take hours to rebuild (module docstring).
    properties["DeletionProtectionEnabled"] = True
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


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


# What chalicelib/photos does: presigned uploads and reads are signed with the function's role, and it writes the
# processed copies. ListBucket only so that a missing upload is a 404 (the photo is "not found"), not a 403. No
# delete: nothing in the app deletes a photo; `incoming/` expires by lifecycle.
PHOTO_ACTIONS = ("s3:GetObject", "s3:PutObject")


def api_policy_document(table_prefix: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        *_table_statements(API_GRANTS, table_prefix),
        _statement("PhotoObjects", PHOTO_ACTIONS, {"Fn::Sub": f"${{{PHOTO_BUCKET}.Arn}}/*"}),
        _statement("PhotoListing", ("s3:ListBucket",), {"Fn::GetAtt": [PHOTO_BUCKET, "Arn"]})]}


def tracing_policy_document() -> dict[str, Any]:
    # X-Ray takes no resource-level restriction. SAM grants this only to roles it makes; Chalice makes ours.
    return {"Version": "2012-10-17", "Statement": [
        _statement("XRayWrite", ("xray:PutTelemetryRecords", "xray:PutTraceSegments"), "*")]}


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
        "LAPOR_EMAIL_FROM": {"Ref": EMAIL_FROM_PARAMETER},
        "LAPOR_STAFF_TOPIC_ARN": {"Ref": STAFF_TOPIC},
        "LAPOR_ARCHIVE_BUCKET": {"Ref": ARCHIVE_BUCKET},
        "LAPOR_PUBLIC_URL": {"Ref": PUBLIC_URL_PARAMETER},
        "LAPOR_TWILIO_AUTH_TOKEN": secret_reference(secrets["LAPOR_TWILIO_AUTH_TOKEN"]),
        "LAPOR_TWILIO_ACCOUNT_SID": {"Ref": TWILIO_ACCOUNT_PARAMETER},
        "LAPOR_TWILIO_FROM": {"Ref": TWILIO_FROM_PARAMETER},
        "LAPOR_INFOBIP_SECRET": secret_reference(secrets["LAPOR_INFOBIP_SECRET"]),
    }
    variables["LAPOR_PHOTO_BUCKET"] = {"Ref": PHOTO_BUCKET}
    # The app's Tracer (Powertools, annotated subsegments) follows the stack's Tracing parameter: off, nothing
    # of the X-Ray SDK is even imported.
    variables["LAPOR_TRACING"] = {"Fn::If": [TRACING_ON, "1", "0"]}
    if staff_auth == "cognito":
        variables.update(identity.environment())
    elif staff_auth == "jwks":
        variables["LAPOR_JWKS_URL"] = {"Ref": JWKS_URL_PARAMETER}
        variables["LAPOR_JWT_ISSUER"] = {"Ref": JWT_ISSUER_PARAMETER}
    else:
        variables["LAPOR_JWT_SECRET"] = secret_reference(secrets["LAPOR_JWT_SECRET"])
        variables["LAPOR_JWT_ISSUER"] = {"Ref": JWT_ISSUER_PARAMETER}
    return {"Variables": variables}


STAFF_AUTH_MODES = ("cognito", "jwks", "hs256")


def _bucket(extra: dict[str, Any]) -> dict[str, Any]:
    """A private bucket that outlives the stack: versioned, encrypted, no public access, no ACLs."""
    return {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]},
                **extra}}


def _tls_only_policy(bucket: str) -> dict[str, Any]:
    return {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": bucket}, "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [{
            "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": "${%s.Arn}/*" % bucket}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}}


def web_origin() -> dict[str, Any]:
    """`https://host` of PublicApiUrl (an origin has no path). Padded so that an empty URL still splits."""
    return {"Fn::Sub": ["https://${Host}", {"Host": {"Fn::Select": [2, {"Fn::Split": [
        "/", {"Fn::Sub": "${%s}///" % PUBLIC_URL_PARAMETER}]}]}}]}


def photo_bucket() -> dict[str, Any]:
    return _bucket({
        "LifecycleConfiguration": {"Rules": [
            {"Id": "unclaimed-uploads", "Status": "Enabled", "Prefix": PHOTO_INCOMING_PREFIX,
             "ExpirationInDays": PHOTO_INCOMING_DAYS,
             "NoncurrentVersionExpiration": {"NoncurrentDays": PHOTO_INCOMING_DAYS},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": PHOTO_INCOMING_DAYS}},
            {"Id": "old-versions", "Status": "Enabled",
             "NoncurrentVersionExpiration": {"NoncurrentDays": PHOTO_NONCURRENT_DAYS},
             "ExpiredObjectDeleteMarker": True}]},
        # The browser uploads with a presigned POST from the LAPOR pages, and from nowhere else. Without a
        # PublicApiUrl there is no origin to name: no CORS, so no browser upload until it is set.
        "CorsConfiguration": {"Fn::If": [HAS_PUBLIC_URL, {"CorsRules": [{
            "AllowedMethods": ["POST"], "AllowedOrigins": [web_origin()], "AllowedHeaders": ["*"],
            "ExposedHeaders": ["ETag", "Location"], "MaxAge": 3600}]}, {"Ref": "AWS::NoValue"}]},
    })


def archive_bucket() -> dict[str, Any]:
    # Object Lock in governance mode: archived events cannot be altered or removed for 10 years.
    return _bucket({"ObjectLockEnabled": True, "ObjectLockConfiguration": {
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 10}}}})


def method_settings() -> list[dict[str, Any]]:
    """The stage's throttles: "/*" for everything, then one tighter entry per public write."""
    def encoded(path: str) -> str:  # API Gateway's form: "/" stays, other slashes become ~1
        return "/" if path == "/" else "/" + path.replace("/", "~1")

    settings = [{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": {"Ref": API_THROTTLE_RATE},
                 "ThrottlingBurstLimit": {"Ref": API_THROTTLE_BURST}}]
    for path, (rate, burst) in PUBLIC_WRITES.items():
        settings.append({"ResourcePath": encoded(path), "HttpMethod": "POST",
                         "ThrottlingRateLimit": {"Ref": rate}, "ThrottlingBurstLimit": {"Ref": burst}})
    return settings


def function_properties(function: str, env: dict[str, Any]) -> dict[str, Any]:
    memory, timeout = FUNCTION_SIZES[function]
    return {"Environment": env, "MemorySize": memory, "Timeout": timeout,
            "Tracing": {"Ref": TRACING_PARAMETER}, "LoggingConfig": monitoring.logging_config(function)}


def merge_template(stage: str, table_prefix: str, *, staff_auth: str = "cognito") -> dict[str, Any]:
    """The document for `chalice package --merge-template`.

    staff_auth: "cognito" (RS256 ID tokens of the staff user pool this stack makes, or of an existing pool
    given as parameters; the console signs in through its hosted UI), "jwks" (RS256 tokens of another IdP
    with flat claims: StaffJwksUrl and StaffJwtIssuer parameters) or "hs256" (a shared key from Secrets
    Manager, for a stage without an IdP).
    """
    if staff_auth not in STAFF_AUTH_MODES:
        raise ValueError(f"staff_auth must be one of {STAFF_AUTH_MODES}, not {staff_auth!r}")
    events = TABLES[EVENTS].cfn_resource

    parameters: dict[str, Any] = {}
    if staff_auth != "cognito":
        parameters[JWT_ISSUER_PARAMETER] = {"Type": "String", "MinLength": 1,
                                            "Description": "The 'iss' claim staff tokens must carry."}
    parameters[EMAIL_FROM_PARAMETER] = {"Type": "String", "AllowedPattern": "^[^@]+@[^@]+$",
                                        "Description": "SES-verified sender of reporters' e-mail."}
    parameters[PUBLIC_URL_PARAMETER] = {
        "Type": "String", "AllowedPattern": "^(https://[^/]+(/.*[^/])?)?$", "Default": "",
        "Description": "The public base URL of the API and pages (e.g. https://lapor.example.go.id), as the SMS "
                       "gateways call it and as the sign-in callbacks and photo uploads name it; empty: the URL "
                       "each request names (no console sign-in, no photo uploads)."}
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
    parameters[TRACING_PARAMETER] = {
        "Type": "String", "Default": "PassThrough", "AllowedValues": ["PassThrough", "Active"],
        "Description": "X-Ray tracing of the functions and the API stage: Active, or PassThrough (off)."}
    for name, default in THROTTLE_DEFAULTS.items():
        parameters[name] = {"Type": "Number", "Default": default, "MinValue": 1,
                            "Description": "API Gateway throttle, requests per second "
                                           + ("(burst)" if name.endswith("Burst") else "(steady)")
                                           + {"Api": " for the whole stage", "Pub": " for each public write",
                                              "Sms": " for the SMS webhooks"}[name[:3]] + "."}
    parameters.update(monitoring.parameters())

    conditions: dict[str, Any] = {
        TRACING_ON: {"Fn::Equals": [{"Ref": TRACING_PARAMETER}, "Active"]},
        HAS_PUBLIC_URL: {"Fn::Not": [{"Fn::Equals": [{"Ref": PUBLIC_URL_PARAMETER}, ""]}]},
        **monitoring.conditions(),
    }

    resources: dict[str, Any] = {spec.cfn_resource: table_resource(spec, table_prefix) for spec in TABLES.values()}
    env = environment(stage, table_prefix, staff_auth)
    for function in FUNCTIONS:
        resources[function] = {"Properties": function_properties(function, env)}
    resources[REST_API] = {"Properties": {
        # A name per stack: API Gateway's metrics are keyed by it (Chalice's definition is titled "lapor" in
        # every stack), and the alarms must not see another stage's 5xx.
        "Name": table_prefix,
        "DefinitionBody": {"x-amazon-apigateway-gateway-responses": gateway_responses()},
        "MethodSettings": method_settings(),
        "TracingEnabled": {"Fn::If": [TRACING_ON, True, False]}}}
    resources[ARCHIVE_BUCKET] = archive_bucket()
    resources[PHOTO_BUCKET] = photo_bucket()
    for bucket, policy in BUCKET_POLICIES.items():
        resources[policy] = _tls_only_policy(bucket)
    resources[STAFF_TOPIC] = {"Type": "AWS::SNS::Topic",
                              "Properties": {"TopicName": f"{table_prefix}-staff-notifications"}}
    for policy, name, role, document in (
            (SWEEP_POLICY, "lapor-sweep-data-access", SWEEP_ROLE, sweep_policy_document(table_prefix)),
            (SENDER_POLICY, "lapor-sender-access", SENDER_ROLE, sender_policy_document(table_prefix))):
        resources[policy] = {"Type": "AWS::IAM::Policy",
                             "Properties": {"PolicyName": name, "Roles": [{"Ref": role}], "PolicyDocument": document}}
    resources[TRACING_POLICY] = {
        "Type": "AWS::IAM::Policy", "Condition": TRACING_ON,
        "Properties": {"PolicyName": "lapor-xray-write", "Roles": [{"Ref": role} for role in ROLES.values()],
                       "PolicyDocument": tracing_policy_document()}}

    resources[FAILURE_QUEUE] = {
        "Type": "AWS::SQS::Queue",
        # The failure records point into the stream (shard, sequence range): keep them as long as SQS can.
        "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
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

    resources.update(monitoring.log_groups(table_prefix, FUNCTIONS))
    resources.update(monitoring.topic(table_prefix))
    alarms = monitoring.alarms(stage=stage, api_name=table_prefix, api_stage=API_STAGE, functions=FUNCTIONS,
                               projector=PROJECTOR_FUNCTION, sweep=SWEEP_FUNCTION, sender=SENDER_FUNCTION,
                               failure_queue=FAILURE_QUEUE)
    resources.update(alarms)
    resources.update(monitoring.dashboard(table_prefix, sorted(alarms), api_name=table_prefix, api_stage=API_STAGE,
                                          stage=stage, functions=FUNCTIONS, projector=PROJECTOR_FUNCTION,
                                          failure_queue=FAILURE_QUEUE))

    outputs: dict[str, Any] = {
        "EventsTableName": {"Value": {"Ref": events}},
        "EventsStreamArn": {"Value": {"Fn::GetAtt": [events, "StreamArn"]}},
        "ProjectorFailureQueueUrl": {"Value": {"Ref": FAILURE_QUEUE}},
        "EventArchiveBucketName": {"Value": {"Ref": ARCHIVE_BUCKET}},
        "PhotoBucketName": {"Value": {"Ref": PHOTO_BUCKET}},
        "AlarmTopicArn": {"Value": {"Ref": monitoring.ALARM_TOPIC}},
        "DashboardName": {"Value": {"Ref": monitoring.DASHBOARD}},
    }
    document: dict[str, Any] = {"Parameters": parameters, "Conditions": conditions, "Resources": resources,
                                "Outputs": outputs}
    if staff_auth == "cognito":
        parameters.update(identity.parameters(table_prefix))
        conditions.update(identity.conditions(HAS_PUBLIC_URL))
        resources.update(identity.resources(table_prefix, PUBLIC_URL_PARAMETER))
        outputs.update(identity.outputs())
        document["Rules"] = identity.rules()
    return document


def write_merge_template(path: str | Path, stage: str, prefix: str, *, staff_auth: str = "cognito") -> Path:
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
    parser.add_argument("--staff-auth", choices=STAFF_AUTH_MODES, default="cognito",
                        help="how staff tokens are verified (default: cognito, the stack's user pool)")
    args = parser.parse_args(argv)
    write_merge_template(args.out, args.stage, args.prefix or f"lapor-{args.stage}", staff_auth=args.staff_auth)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
