"""The fixed instant, the fake clock and the settings every in-process test runs with."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.settings import Settings

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
