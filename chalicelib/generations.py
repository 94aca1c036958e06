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

    def first_day(self) -> str | None:
        item = self._client().get_item(TableName=self._control, Key={"key": {"S": "log"}},
                                       ConsistentRead=True).get("Item")
        return item["first_day"]["S"] if item else None


class LogBounds:
    """A tiny read model: the day of the log's first event. It writes only when a stream starts on a day
    earlier than any it knows of (in practice: once, and again only for a restore of older events)."""

    def __init__(self, generations: Generations) -> None:
        self._generations = generations
        self._known: str | None = None

    def handles(self, stored: Any) -> bool:
        return stored.version == 1

    def project(self, stored: Any) -> bool:
        if self._known is None:
            self._known = self._generations.first_day()
        if self._known is not None and self._known <= stored.day:
            return False
        client = self._generations._client()
        try:
            self._generations.note_first_day(stored.day)
        except client.exceptions.ConditionalCheckFailedException:
            self._known = self._generations.first_day()  # another process recorded an earlier day
            return False
        self._known = stored.day
        return True
