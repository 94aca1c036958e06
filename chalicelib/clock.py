"""Instants as the system writes them, and the one place that reads the wall clock."""
from __future__ import annotations

from datetime import datetime, timezone


def iso(instant: datetime) -> str:
    """UTC, millisecond precision, 'Z': sortable as text, which the by-day index relies on."""
    if instant.tzinfo is None:
        raise ValueError("naive datetimes are not instants; pass an aware datetime")
    utc = instant.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 instant; it must carry an offset (or 'Z')."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone offset")
    return value


def system_now() -> datetime:
    """The wall clock. Called only at the edges (HTTP handlers, CLI, schedule), then passed inward."""
    return datetime.now(timezone.utc)
