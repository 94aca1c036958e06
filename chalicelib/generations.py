"""Blue/green read models: which table generation of each rebuildable projection is live.

`lapor rebuild` fills generation n+1 from the log while n keeps serving, then flips the control item;
every process re-reads the control item at most every `refresh_seconds`, so a switch reaches all of them
without a restart and costs one GetItem per interval, never one per request.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from infra.tables import CONTROL, REBUILDABLE, physical_name

_KEY = {"key": {"S": "generations"}}


class Generations:
    def __init__(self, client: Callable[[], Any], prefix: str, *, refresh_seconds: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._client, self._prefix = client, prefix
        self._control = physical_name(prefix, CONTROL)
        self.refresh_seconds, self._monotonic = refresh_seconds, monotonic
        self._cached: dict[str, int] | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> dict[str, int]:
        with self._lock:
            if self._cached is None or self._monotonic() - self._read_at >= self.refresh_seconds:
                item = self._client().get_item(TableName=self._control, Key=_KEY, ConsistentRead=True).get("Item", {})
                self._cached = {name: int(item[name]["N"]) if name in item else 0 for name in REBUILDABLE}
                self._read_at = self._monotonic()
            return dict(self._cached)

    def table_name(self, logical: str) -> str:
        return physical_name(self._prefix, logical, self.current()[logical])

    def switch(self, logical: str, generation: int) -> None:
        self._client().update_item(TableName=self._control, Key=_KEY, UpdateExpression="SET #g = :g",
                                   ExpressionAttributeNames={"#g": logical},
                                   ExpressionAttributeValues={":g": {"N": str(generation)}})
        with self._lock:
            self._cached = None

    def note_first_day(self, day: str) -> None:
        """Remember the log's first day, so rebuilds read from there instead of from 2015."""
        self._client().update_item(TableName=self._control, Key={"key": {"S": "log"}},
                                   UpdateExpression="SET first_day = :d",
                                   ConditionExpression="attribute_not_exists(first_day) OR first_day > :d",
                                   ExpressionAttributeValues={":d": {"S": day}})

    def note_last_day(self, day: str) -> None:
        """Remember the log's last day (an event may be dated ahead by `lapor sweep --now`)."""
        self._client().update_item(TableName=self._control, Key={"key": {"S": "log"}},
                                   UpdateExpression="SET last_day = :d",
                                   ConditionExpression="attribute_not_exists(last_day) OR last_day < :d",
                                   ExpressionAttributeValues={":d": {"S": day}})

    def log_days(self) -> tuple[str | None, str | None]:
        """(first, last) UTC day with events, as far as the projector has seen."""
        item = self._client().get_item(TableName=self._control, Key={"key": {"S": "log"}},
                                       ConsistentRead=True).get("Item") or {}
        return (item["first_day"]["S"] if "first_day" in item else None,
                item["last_day"]["S"] if "last_day" in item else None)

    def first_day(self) -> str | None:
        return self.log_days()[0]


class LogBounds:
    """A tiny read model: the first and last day of the log. It writes only when an event falls outside
    the days it knows of — in practice once a day — so it costs nothing per event."""

    def __init__(self, generations: Generations) -> None:
        self._generations = generations
        self._known: tuple[str | None, str | None] | None = None

    def handles(self, stored: Any) -> bool:
        return True

    def project(self, stored: Any) -> bool:
        if self._known is None:
            self._known = self._generations.log_days()
        first, last = self._known
        wrote = False
        client = self._generations._client()
        for known, later_or_earlier, note in ((first, lambda k: stored.day < k, self._generations.note_first_day),
                                              (last, lambda k: stored.day > k, self._generations.note_last_day)):
            if known is None or later_or_earlier(known):
                try:
                    note(stored.day)
                    wrote = True
                except client.exceptions.ConditionalCheckFailedException:
                    pass  # another process recorded a day further out
        if wrote or first is None or last is None:
            self._known = self._generations.log_days()
        return wrote
