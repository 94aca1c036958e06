"""The worlds the read-side HTTP tests run in (DOMAIN §5, §8, §9): built through the real API, then the
pump runs the projector. Each world has its own table prefix inside ONE moto mock per test module, so the
read-only worlds are built once per module and shared; tests that move a world's clock put it back
(`shared`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.bootstrap import Services, build_services, use_services
from infra.local.pump import StreamPump
from infra.tables import create_tables
from tests.support.api import Api, body_of
from tests.support.builders import REPORT_JALAN_BERLUBANG as REPORT
from tests.support.settings import FakeClock, test_settings
from tests.support.tokens import (
    NASIONAL,
    SAMARINDA,
)

UTC = timezone.utc


# ------------------------------------------------------------------------------------------------ worlds

@dataclass
class World:
    """Tables under one prefix, services wired to them, a clock, and the API and pump to drive them."""

    services: Services
    clock: FakeClock
    api: Api
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    end: datetime | None = None

    def install(self) -> World:
        use_services(self.services)
        return self

    def pump(self) -> int:
        import app as app_module

        return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                          self.services.settings.table_names["events"],
                          deliver=lambda event: app_module.project_events(event, None)).drain()

    def submit(self, name: str, **overrides: Any) -> str:
        self.clock.advance(minutes=1)
        created = body_of(self.api.post("/reports", REPORT | overrides), 201)
        self.ids[name], self.tokens[name] = created["report_id"], created["access_token"]
        return created["report_id"]

    def do(self, name: str, action: str, body: dict[str, Any], *, token: str | None = None,
           as_reporter: bool = False) -> dict[str, Any]:
        self.clock.advance(minutes=1)
        who = {"report_token": self.tokens[name]} if as_reporter else {"token": token}
        return body_of(self.api.post(f"/reports/{self.ids[name]}/{action}", body, **who), 200)

    def verify(self, name: str, institution: str = SAMARINDA, **extra: Any) -> None:
        self.do(name, "verification", {"institution_id": institution} | extra, token=NASIONAL)

    def get(self, path: str, token: str | None = None, **who: str) -> Any:
        return self.api.get(path, token=token, **who)

    def names(self, rows: list[dict[str, Any]]) -> list[str]:
        by_id = {report_id: name for name, report_id in self.ids.items()}
        return [by_id[row["report_id"]] for row in rows]


_prefixes = itertools.count(1)


@pytest.fixture(scope="module")
def api():
    """One moto mock and one Chalice test client for the whole module; worlds live side by side in it."""
    with mock_aws():
        import app as app_module

        with Client(app_module.app) as client:
            yield Api(client)
        use_services(None)


def make_world(api: Api, start: datetime = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) -> World:
    prefix = f"rm{next(_prefixes)}"
    create_tables(boto3.client("dynamodb"), prefix)
    clock = FakeClock(start)
    return World(build_services(test_settings(table_prefix=prefix), clock=clock), clock, api).install()


@pytest.fixture
def new_world(api):
    yield lambda **kwargs: make_world(api, **kwargs)
    use_services(None)


def shared(world: World):
    """Use a module world in one test: installed, its clock back where the world was left."""
    world.install()
    world.clock.now = world.end
    yield world
    world.clock.now = world.end
    use_services(None)
