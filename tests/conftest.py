"""Shared fixtures: a fixed clock, moto DynamoDB with tables from infra/, services wired to them,
the Chalice test client, the stream pump, and the JSON API client (helpers: tests/support)."""
from __future__ import annotations

import os

# Before any AWS client exists (tests only; the application itself never reads these at import).
os.environ.update(AWS_DEFAULT_REGION="ap-southeast-3", AWS_ACCESS_KEY_ID="testing",
                  AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
                  AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled", POWERTOOLS_SERVICE_NAME="lapor-test")
os.environ.pop("DYNAMODB_ENDPOINT", None)

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.bootstrap import build_services, use_services  # noqa: E402
from infra.local.pump import StreamPump  # noqa: E402
from infra.tables import create_tables  # noqa: E402
from tests import moto_speedups  # noqa: E402

# The helpers live in tests/support; they are named here too for the modules that import them from conftest.
from tests.support.api import Api  # noqa: E402,F401
from tests.support.settings import JWT_SECRET, T0, TOKEN_SECRET, FakeClock, test_settings  # noqa: E402,F401
from tests.support.tokens import staff_token  # noqa: E402,F401

moto_speedups.install()


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
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app) as test_client:
        yield test_client


@pytest.fixture
def pump(services):
    import app as app_module

    return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                      services.settings.table_names["events"],
                      deliver=lambda event: app_module.project_events(event, None), backoff=lambda attempt: 0.0)


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def dynamodb_calls(monkeypatch) -> list[str]:
    """Every DynamoDB API call pynamodb makes, by operation name (retries inside botocore not counted)."""
    from pynamodb.connection.base import Connection

    calls: list[str] = []
    original = Connection._make_api_call

    def counting(self, operation_name, operation_kwargs):
        calls.append(operation_name)
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return calls
