"""A stored event as the plain attribute values of its DynamoDB item, and back.

One codec for both directions the log is read and written: the event store writes and loads items with
it, and the projector decodes stream images with it, so the two can never disagree about an attribute.
`data` and `actor` are kept as canonical JSON strings: the exact bytes the hash chain covers.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from events.base import Actor, StoredEvent
from events.chain import canonical_json


def to_attributes(event: StoredEvent) -> dict[str, Any]:
    return {"stream_id": event.stream_id, "version": event.version, "type": event.type,
            "schema_version": event.schema_version, "data": canonical_json(event.data),
            "actor": canonical_json(event.actor.to_dict()), "channel": event.channel,
            "occurred_at": event.occurred_at, "correlation_id": event.correlation_id,
            "causation_id": event.causation_id, "prev_hash": event.prev_hash, "hash": event.hash,
            "day": event.day, "at_key": event.at_key}


def from_attributes(raw: Mapping[str, Any]) -> StoredEvent:
    """An event from plain attribute values (a pynamodb item's, or a deserialized stream image)."""
    return StoredEvent(stream_id=raw["stream_id"], version=int(raw["version"]), type=raw["type"],
                       schema_version=int(raw["schema_version"]), data=json.loads(raw["data"]),
                       actor=Actor.from_dict(json.loads(raw["actor"])), channel=raw["channel"],
                       occurred_at=raw["occurred_at"], correlation_id=raw["correlation_id"],
                       causation_id=raw.get("causation_id"), prev_hash=raw["prev_hash"], hash=raw["hash"])
