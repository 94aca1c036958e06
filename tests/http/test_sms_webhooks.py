"""The SMS gateways' webhooks over HTTP (`receiveSms`): the answer each gateway expects, and every request
that is unsigned, wrongly signed, oversized or malformed refused with a clear 4xx — having written nothing."""
from __future__ import annotations

import base64
import json
import urllib.parse

import boto3
import pytest
from chalice.test import Client
from twilio.request_validator import RequestValidator

from chalicelib.bootstrap import build_services, use_services
from tests.support.api import error_of
from tests.support.settings import test_settings

AUTH_TOKEN, ACCOUNT, INFOBIP_SECRET = "0123456789abcdef0123456789abcdef", "AC" + "1" * 32, "infobip-secret-0123"
PUBLIC_URL = "https://api.lapor.example"


@pytest.fixture
def client(aws, clock):
    import app as app_module

    services = build_services(test_settings(twilio_auth_token=AUTH_TOKEN, twilio_account_sid=ACCOUNT,
                                            infobip_secret=INFOBIP_SECRET, public_url=PUBLIC_URL), clock=clock)
    use_services(services)
    with Client(app_module.app) as test_client:
        yield test_client
    use_services(None)


def written_items() -> int:
    dynamodb = boto3.client("dynamodb")
    return sum(dynamodb.scan(TableName=name, Select="COUNT")["Count"]
               for name in ("test-events", "test-idempotency", "test-personal_data", "test-outbox"))


def twilio_params(**overrides: str) -> dict[str, str]:
    return {"MessageSid": "SM" + "a" * 32, "AccountSid": ACCOUNT, "From": "+6281234567890", "To": "1708",
            "Body": "Jalan rusak di depan pasar", "NumMedia": "0"} | overrides


def post_twilio(client, params: dict[str, str], *, signature: str | None = "sign", url: str = PUBLIC_URL + "/sms/twilio",
                content_type: str = "application/x-www-form-urlencoded", body: bytes | None = None):
    headers = {"Content-Type": content_type}
    if signature == "sign":
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.http.post("/sms/twilio", headers=headers, body=body or urllib.parse.urlencode(params).encode())


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"infobip:{password}".encode()).decode()


def post_infobip(client, body: bytes, authorization: str | None = None):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return client.http.post("/sms/infobip", headers=headers, body=body)


INFOBIP = json.dumps({"results": [{"messageId": "ib-1", "from": "6281234567890", "to": "1708",
                                   "text": "Jalan rusak di depan pasar", "receivedAt": "2026-03-02T09:00:00.000+0700"}],
                      "messageCount": 1, "pendingMessageCount": 0}).encode()


def test_a_signed_twilio_message_is_answered_with_empty_twiml_so_twilio_sends_nothing_itself(client):
    response = post_twilio(client, twilio_params())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.body == b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    assert written_items() > 0


def test_twilio_retrying_the_same_message_gets_the_same_answer_and_one_report(client):
    for _ in range(3):
        assert post_twilio(client, twilio_params()).status_code == 200
    events = boto3.client("dynamodb").scan(TableName="test-events")["Items"]
    assert [item["type"]["S"] for item in events] == ["ReportSubmitted"]


def test_without_a_public_url_the_signed_url_is_the_one_the_request_names(aws, clock):
    import app as app_module

    use_services(build_services(test_settings(twilio_auth_token=AUTH_TOKEN), clock=clock))
    try:
        with Client(app_module.app) as local:
            params = twilio_params()
            url = "http://lapor.local:8000/sms/twilio"
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": "lapor.local:8000",
                       "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, params)}
            assert local.http.post("/sms/twilio", headers=headers,
                                   body=urllib.parse.urlencode(params).encode()).status_code == 200
            headers["X-Forwarded-Proto"] = "https"  # the same request behind TLS was signed for another URL
            assert local.http.post("/sms/twilio", headers=headers,
                                   body=urllib.parse.urlencode(params).encode()).status_code == 403
    finally:
        use_services(None)


@pytest.mark.parametrize("case, status, code", [
    ("unsigned", 403, "forbidden"),
    ("wrong signature", 403, "forbidden"),
    ("signed for another url", 403, "forbidden"),
    ("another account", 403, "forbidden"),
    ("json body", 415, "unsupported_media_type"),
    ("oversized", 413, "payload_too_large"),
    ("bad sender", 422, "validation_failed"),
    ("no message id", 400, "malformed_request"),
])
def test_a_twilio_request_that_is_not_a_genuine_message_is_refused_and_writes_nothing(client, case, status, code):
    params = twilio_params()
    kwargs = {}
    if case == "unsigned":
        kwargs["signature"] = None
    elif case == "wrong signature":
        kwargs["signature"] = "bm90IGEgc2lnbmF0dXJl"
    elif case == "signed for another url":
        kwargs["url"] = "https://evil.example/sms/twilio"
    elif case == "another account":
        params = twilio_params(AccountSid="AC" + "2" * 32)
    elif case == "json body":
        kwargs["content_type"] = "application/json"
    elif case == "oversized":
        params = twilio_params(Body="x" * 20_000)
    elif case == "bad sender":
        params = twilio_params(From="+14155550100")
    elif case == "no message id":
        del params["MessageSid"]

    error_of(post_twilio(client, params, **kwargs), status, code)
    assert written_items() == 0


def test_an_infobip_message_with_the_shared_secret_is_answered_with_what_became_of_each(client):
    response = post_infobip(client, INFOBIP, basic(INFOBIP_SECRET))
    assert response.status_code == 200
    [outcome] = json.loads(response.body)["received"]
    assert outcome["messageId"] == "ib-1" and outcome["outcome"] == "report"
    assert json.loads(post_infobip(client, INFOBIP, basic(INFOBIP_SECRET)).body)["received"][0] == (
        outcome | {"outcome": "duplicate"})


@pytest.mark.parametrize("authorization, body, status", [
    (None, INFOBIP, 401), (basic("wrong"), INFOBIP, 401), ("Bearer x", INFOBIP, 401),
    (basic(INFOBIP_SECRET), b"{", 400), (basic(INFOBIP_SECRET), b'{"results": "x"}', 400),
    (basic(INFOBIP_SECRET), b"x" * 20_000, 413),
])
def test_an_infobip_request_without_the_secret_or_with_a_bad_body_is_refused_and_writes_nothing(
        client, authorization, body, status):
    assert post_infobip(client, body, authorization).status_code == status
    assert written_items() == 0


def test_an_unknown_gateway_is_404(client):
    error_of(client.http.post("/sms/nexmo", headers={"Content-Type": "application/json"}, body=b"{}"), 404, "not_found")
    assert written_items() == 0


def test_the_webhook_takes_only_post(client):
    assert client.http.get("/sms/twilio").status_code == 405
