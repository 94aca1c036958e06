"""Who writes to SMS 1708: one contact per phone number, in the personal-data table (it is personal data).

A contact is keyed by a keyed hash of the number (so the key alone names no one) and holds the number, the
reports it filed (`<submitted_at>|<report id>`, a string set: adding one twice is harmless, which is what
makes a redelivered message safe to link again) and whether it sent STOP. Erasing a reporter forgets the
contact as well. Rate counters (messages per number per hour, per gateway per minute) live in the
idempotency table, whose TTL removes them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol

CONTACT_PREFIX = "SMS#"


@dataclass(frozen=True)
class Contact:
    phone: str
    reports: tuple[str, ...] = ()  # report ids, newest first
    stopped_at: str | None = None


class SmsContacts(Protocol):
    def get(self, key: str) -> Contact | None: ...

    def touch(self, key: str, phone: str, now: str) -> None:
        """Record the number (a first message creates the contact)."""

    def link(self, key: str, phone: str, report_id: str, submitted_at: str) -> None:
        """Add a report the number filed (idempotent)."""

    def stop(self, key: str, phone: str, now: str) -> None: ...

    def resume(self, key: str) -> None: ...

    def forget(self, key: str) -> None:
        """Erase the contact (UU PDP): the number, its reports, its STOP."""

    def count(self, key: str, expires_at: int) -> int:
        """Add one to a rate counter and return its new value."""


def _reports(entries: set[str]) -> tuple[str, ...]:
    """Newest first, each once (concurrent deliveries of one message may link it at slightly other times)."""
    return tuple(dict.fromkeys(entry.partition("|")[2] for entry in sorted(entries, reverse=True)))


class DynamoDBSmsContacts:
    def __init__(self, personal_table: str, idempotency_table: str, client: Callable[[], Any]) -> None:
        self._personal, self._idempotency, self._client = personal_table, idempotency_table, client

    def _key(self, key: str) -> dict[str, Any]:
        return {"reporter_ref": {"S": CONTACT_PREFIX + key}}

    def get(self, key: str) -> Contact | None:
        item = self._client().get_item(TableName=self._personal, Key=self._key(key), ConsistentRead=True).get("Item")
        if not item or "phone" not in item:
            return None
        return Contact(phone=item["phone"]["S"], reports=_reports(set(item.get("reports", {}).get("SS", []))),
                       stopped_at=item.get("stopped_at", {}).get("S"))

    def _update(self, key: str, expression: str, values: dict[str, Any] | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self._personal, "Key": self._key(key), "UpdateExpression": expression}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self._client().update_item(**kwargs)

    def touch(self, key: str, phone: str, now: str) -> None:
        self._update(key, "SET phone = :p, created_at = if_not_exists(created_at, :now)",
                     {":p": {"S": phone}, ":now": {"S": now}})

    def link(self, key: str, phone: str, report_id: str, submitted_at: str) -> None:
        self._update(key, "SET phone = :p, created_at = if_not_exists(created_at, :at) ADD reports :r",
                     {":p": {"S": phone}, ":at": {"S": submitted_at}, ":r": {"SS": [f"{submitted_at}|{report_id}"]}})

    def stop(self, key: str, phone: str, now: str) -> None:
        self._update(key, "SET phone = :p, stopped_at = :now", {":p": {"S": phone}, ":now": {"S": now}})

    def resume(self, key: str) -> None:
        self._update(key, "REMOVE stopped_at")

    def forget(self, key: str) -> None:
        self._client().delete_item(TableName=self._personal, Key=self._key(key))

    def count(self, key: str, expires_at: int) -> int:
        response = self._client().update_item(
            TableName=self._idempotency, Key={"key": {"S": key}}, ReturnValues="UPDATED_NEW",
            UpdateExpression="ADD hits :one SET expires_at = :ttl",
            ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(expires_at)}})
        return int(response["Attributes"]["hits"]["N"])


class InMemorySmsContacts:
    def __init__(self) -> None:
        self._contacts: dict[str, dict[str, Any]] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Contact | None:
        item = self._contacts.get(key)
        return Contact(item["phone"], _reports(item["reports"]), item.get("stopped_at")) if item else None

    def _item(self, key: str, phone: str) -> dict[str, Any]:
        item = self._contacts.setdefault(key, {"phone": phone, "reports": set()})
        item["phone"] = phone
        return item

    def touch(self, key: str, phone: str, now: str) -> None:
        with self._lock:
            self._item(key, phone)

    def link(self, key: str, phone: str, report_id: str, submitted_at: str) -> None:
        with self._lock:
            self._item(key, phone)["reports"].add(f"{submitted_at}|{report_id}")

    def stop(self, key: str, phone: str, now: str) -> None:
        with self._lock:
            self._item(key, phone)["stopped_at"] = now

    def resume(self, key: str) -> None:
        with self._lock:
            self._contacts.get(key, {}).pop("stopped_at", None)

    def forget(self, key: str) -> None:
        with self._lock:
            self._contacts.pop(key, None)

    def count(self, key: str, expires_at: int) -> int:
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1
            return self._counters[key]
