"""Blue/green read models: which table generation of each rebuildable projection is live.

`lapor rebuild` fills generation n+1 from the log while n keeps serving, then flips the control item;
every process re-reads the control item at most every `refresh_seconds`, so a switch reaches all of them
without a restart and costs one GetItem per interval, never one per request.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

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


class RebuildBusy(Exception):
    """Another rebuild holds the lock (who, of what, until when: said to the operator)."""


class LeaseLost(Exception):
    """This rebuild's lease ran out and another took the lock: it must stop before it switches anything."""


class RebuildLock:
    """One rebuild at a time, wherever it runs: a lease item in the control table.

    Two rebuilds would both fill generation n+1 (each restarting the other's half-built table) and both switch.
    The lease expires by itself (`lease_seconds` after its last renewal), so a rebuild killed half-way does not
    keep the lock forever; a running one renews it as it goes and checks it is still the owner before it
    switches. Time comes from `now`, as everywhere.
    """

    _KEY: ClassVar[dict[str, dict[str, str]]] = {"key": {"S": "rebuild-lock"}}

    def __init__(self, client: Any, control_table: str, owner: str, now: Callable[[], Any], *,
                 lease_seconds: int = 600) -> None:
        self._client, self._table, self.owner = client, control_table, owner
        self._now, self._lease = now, lease_seconds
        self._renewed = 0

    def _epoch(self) -> int:
        return int(self._now().timestamp())

    def acquire(self, what: str) -> None:
        now = self._epoch()
        try:
            self._client.put_item(
                TableName=self._table, ConditionExpression="attribute_not_exists(#k) OR expires_at < :now",
                ExpressionAttributeNames={"#k": "key"}, ExpressionAttributeValues={":now": {"N": str(now)}},
                Item=self._KEY | {"owner": {"S": self.owner}, "what": {"S": what}, "since": {"N": str(now)},
                                  "expires_at": {"N": str(now + self._lease)}})
            self._renewed = now
        except self._client.exceptions.ConditionalCheckFailedException:
            held = self._client.get_item(TableName=self._table, Key=self._KEY, ConsistentRead=True).get("Item") or {}
            raise RebuildBusy(
                f"another rebuild is running ({held.get('what', {}).get('S', '?')}, by "
                f"{held.get('owner', {}).get('S', '?')}, started {_utc(held.get('since'))}, its lease runs until "
                f"{_utc(held.get('expires_at'))}); wait for it, or for its lease to run out if it was killed") from None

    def renew_if_due(self) -> None:
        """Renew once a third of the lease has passed: a long rebuild keeps it, a short one writes nothing more."""
        if self._epoch() - self._renewed >= self._lease // 3:
            self.renew()

    def renew(self) -> None:
        now = self._epoch()
        try:
            self._client.update_item(
                TableName=self._table, Key=self._KEY, UpdateExpression="SET expires_at = :until",
                ConditionExpression="#o = :me", ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner},
                                           ":until": {"N": str(now + self._lease)}})
            self._renewed = now
        except self._client.exceptions.ConditionalCheckFailedException:
            raise LeaseLost(f"the rebuild lock is no longer held by {self.owner}: its lease ran out and another "
                            "rebuild took it; this one stops without switching") from None

    def release(self) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key=self._KEY, ConditionExpression="#o = :me",
                                     ExpressionAttributeNames={"#o": "owner"},
                                     ExpressionAttributeValues={":me": {"S": self.owner}})
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # already taken over after our lease ran out: not ours to remove


def _utc(value: dict[str, str] | None) -> str:
    if not value:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(value["N"])))
