"""The event envelope and the base class of every domain event.

A domain event holds only the facts of one step (its `data`). Who took the step, when, through which
channel and how it chains to the previous event live in the envelope (`StoredEvent`), which is the same
for every type. Personal data (names, phones, e-mails, NIK) never goes into either: events carry only a
reporter reference (DOMAIN §4).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of every event: past tense, immutable. `event_type` is stable forever."""

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Actor:
    """Who took a step, as the audit trail records it (DOMAIN §9). Never a reporter's identity."""

    role: str
    user_id: str | None = None
    institution_id: str | None = None
    unit_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Actor:
        return cls(role=raw["role"], user_id=raw.get("user_id"),
                   institution_id=raw.get("institution_id"), unit_id=raw.get("unit_id"))


SYSTEM = Actor(role="system", user_id="lapor-system")


@dataclass(frozen=True)
class StoredEvent:
    """One event as stored: the envelope plus the raw `data` of its `schema_version`.

    `data` is kept exactly as written, so the hash chain can be verified; `event` upcasts it to the
    current class on read.
    """

    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    actor: Actor
    channel: str
    occurred_at: str  # ISO-8601 UTC, millisecond precision, "Z" suffix
    correlation_id: str
    causation_id: str | None
    prev_hash: str
    hash: str

    @property
    def event(self) -> DomainEvent:
        from events.registry import decode

        return decode(self.type, self.schema_version, self.data)

    @property
    def day(self) -> str:
        """The UTC day bucket of the by-day index (DESIGN §1)."""
        return self.occurred_at[:10]

    @property
    def at_key(self) -> str:
        """Sort key within a day: time first, then stream and version, so the order is total and stable."""
        return f"{self.occurred_at}#{self.stream_id}#{self.version:010d}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "version": self.version,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "actor": self.actor.to_dict(),
            "channel": self.channel,
            "occurred_at": self.occurred_at,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StoredEvent:
        return cls(
            stream_id=raw["stream_id"],
            version=int(raw["version"]),
            type=raw["type"],
            schema_version=int(raw["schema_version"]),
            data=raw["data"],
            actor=Actor.from_dict(raw["actor"]),
            channel=raw["channel"],
            occurred_at=raw["occurred_at"],
            correlation_id=raw["correlation_id"],
            causation_id=raw.get("causation_id"),
            prev_hash=raw["prev_hash"],
            hash=raw["hash"],
        )
