"""The registry of event types by their stable type string, and (de)serialization of `data`."""
from __future__ import annotations

import dataclasses
from typing import Any

from events.base import DomainEvent
from events.institution import INSTITUTION_EVENTS
from events.report import REPORT_EVENTS
from events.upcasting import upcast

EVENT_TYPES: dict[str, type[DomainEvent]] = {cls.event_type: cls for cls in REPORT_EVENTS + INSTITUTION_EVENTS}


class UnknownEventType(LookupError):
    pass


def encode(event: DomainEvent) -> tuple[str, int, dict[str, Any]]:
    """(type, schema_version, JSON-safe data) of an event as it is written today."""
    return event.event_type, event.schema_version, event.to_data()


def decode(event_type: str, schema_version: int, data: dict[str, Any]) -> DomainEvent:
    """Rebuild the current class from stored data of any schema version."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    if schema_version > cls.schema_version:
        raise UnknownEventType(f"{event_type} v{schema_version} is newer than this code (v{cls.schema_version})")
    current = upcast(event_type, schema_version, dict(data), cls.schema_version)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(current) - names
    if unknown:
        raise ValueError(f"{event_type} v{cls.schema_version} has no fields {sorted(unknown)}")
    return cls(**current)
