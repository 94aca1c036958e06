"""What every event store promises, and the records written beside events in the same transaction.

Two implementations keep these promises — `DynamoDBEventStore` and `InMemoryEventStore` — and one contract
test suite (tests/contract/test_event_store.py) holds both to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Protocol, Sequence

from chalicelib.clock import iso
from events.base import Actor, DomainEvent, StoredEvent
from events.chain import GENESIS, event_hash
from events.registry import encode


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first result of a command, kept so a retry with the same key gets it back and writes nothing."""

    key: str
    fingerprint: str  # what was asked; the same key with a different request is refused
    stream_id: str
    response: dict[str, Any]
    created_at: str
    expires_at: int  # epoch seconds (DynamoDB TTL)


@dataclass(frozen=True)
class PersonalRecord:
    """A reporter's identity (DOMAIN §4): only here, never in an event. Erasure leaves a tombstone."""

    reporter_ref: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    nik: str | None = None
    created_at: str | None = None
    erased_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"reporter_ref": self.reporter_ref, "name": self.name, "phone": self.phone, "email": self.email,
                "nik": self.nik, "created_at": self.created_at, "erased_at": self.erased_at}


class IdempotencyKeyTaken(Exception):
    """The append lost to an earlier command with the same idempotency key; nothing was written."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Append:
    """One command's writes: its events plus the records that must commit with them or not at all."""

    stream_id: str
    expected_version: int
    events: Sequence[StoredEvent]
    idempotency: IdempotencyRecord | None = None
    personal: PersonalRecord | None = None


class EventStore(Protocol):
    def load(self, stream_id: str) -> list[StoredEvent]:
        """Every event of the stream in version order (consistent read, all pages)."""

    def append(self, append: Append) -> None:
        """Write all or nothing. Raises ConcurrencyConflict if the stream moved past expected_version,
        IdempotencyKeyTaken if the idempotency key was used first."""

    def read_days(self, first_day: str, last_day: str) -> Iterator[StoredEvent]:
        """All events whose UTC day is in [first_day, last_day], in (time, stream, version) order."""

    def get_idempotency(self, key: str) -> IdempotencyRecord | None: ...

    def get_personal(self, reporter_ref: str) -> PersonalRecord | None: ...

    def erase_personal(self, reporter_ref: str, erased_at: str) -> bool:
        """Replace the identity with a tombstone; False if there was none."""


def chain_events(stream_id: str, history_tail: StoredEvent | None, new_events: Sequence[DomainEvent], *,
                 actor: Actor, channel: str, now: datetime, correlation_id: str,
                 causation_id: str | None) -> list[StoredEvent]:
    """Wrap new domain events in envelopes that continue the stream's version sequence and hash chain."""
    version = history_tail.version if history_tail else 0
    prev_hash = history_tail.hash if history_tail else GENESIS
    # A report's events never go back in time, even when a sweep runs late (EventBridge retries keep the
    # scheduled time) or ahead (`lapor sweep --now`): time order must agree with version order, because
    # rebuilds and auditors read the log in time order.
    occurred_at = max(iso(now), history_tail.occurred_at) if history_tail else iso(now)
    stored = []
    for event in new_events:
        version += 1
        event_type, schema_version, data = encode(event)
        fields = {"stream_id": stream_id, "version": version, "type": event_type, "schema_version": schema_version,
                  "data": data, "actor": actor.to_dict(), "channel": channel, "occurred_at": occurred_at,
                  "correlation_id": correlation_id, "causation_id": causation_id, "prev_hash": prev_hash}
        digest = event_hash(fields)
        stored.append(StoredEvent(stream_id=stream_id, version=version, type=event_type,
                                  schema_version=schema_version, data=data, actor=actor, channel=channel,
                                  occurred_at=occurred_at, correlation_id=correlation_id, causation_id=causation_id,
                                  prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return stored
