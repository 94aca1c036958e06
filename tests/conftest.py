"""Shared fixtures: a fixed clock, moto DynamoDB with tables from infra/, services wired to them,
the Chalice test client, the stream pump, and staff tokens."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

# Before any AWS client exists (tests only; the application itself never reads these at import).
os.environ.update(AWS_DEFAULT_REGION="ap-southeast-3", AWS_ACCESS_KEY_ID="testing",
                  AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
                  AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled", POWERTOOLS_SERVICE_NAME="lapor-test")
os.environ.pop("DYNAMODB_ENDPOINT", None)

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.auth import mint_token  # noqa: E402
from chalicelib.bootstrap import build_services, use_services  # noqa: E402
from tests import moto_speedups  # noqa: E402
from chalicelib.local.pump import StreamPump  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from infra.tables import create_tables  # noqa: E402

moto_speedups.install()

# Monday 2 March 2026, 09:00 WIB: an ordinary working morning.
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
JWT_SECRET = "test-jwt-secret-0123456789abcdef"
TOKEN_SECRET = "test-token-secret-0123456789abcdef"


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def test_settings(**overrides: Any) -> Settings:
    values = dict(stage="test", region="ap-southeast-3", table_prefix="test", jwt_secret=JWT_SECRET,
                  jwt_issuer="lapor-test", token_secret=TOKEN_SECRET)
    return Settings(**(values | overrides))


test_settings.__test__ = False  # a factory, not a test


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def aws():
    with mock_aws():
        create_tables(boto3.client("dynamodb"), "test")
        yield


@pytest.fixture
def services(aws, clock):
    built = build_services(test_settings(), clock=clock)
    use_services(built)
    yield built
    use_services(None)


@pytest.fixture
def client(services):
    import app as app_module
    from chalice.test import Client

    with Client(app_module.app) as test_client:
        yield test_client


@pytest.fixture
def pump(services):
    import app as app_module

    return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                      services.settings.table_names["events"],
                      deliver=lambda event: app_module.project_events(event, None), backoff=lambda attempt: 0.0)


def staff_token(role: str, institution: str | None = None, unit: str | None = None,
                region: str | None = None, subject: str | None = None) -> str:
    return mint_token(JWT_SECRET, "lapor-test", role=role, subject=subject or f"{role}-user", now=T0,
                      institution_id=institution, unit_id=unit, region_code=region,
                      lifetime=timedelta(days=3650))


class Api:
    """JSON in, JSON out, over chalice.test.Client."""

    def __init__(self, client) -> None:
        self.client = client

    def _headers(self, token: str | None, report_token: str | None, extra: dict[str, str] | None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if report_token:
            headers["X-Report-Token"] = report_token
        return headers | (extra or {})

    def post(self, path: str, body: Any = None, *, token: str | None = None, report_token: str | None = None,
             headers: dict[str, str] | None = None, raw: bytes | str | None = None):
        payload = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.http.post(path, headers=self._headers(token, report_token, headers), body=payload)

    def get(self, path: str, *, token: str | None = None, report_token: str | None = None):
        return self.client.http.get(path, headers=self._headers(token, report_token, None))


@pytest.fixture
def api(client) -> Api:
    return Api(client)
