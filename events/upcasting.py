"""Upcasters: old stored shapes to the current class's shape, chained on read.

Stored events are never rewritten; an upcaster turns (type, version n) data into version n+1 data.
"""
from __future__ import annotations

from typing import Any, Callable

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def archived_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 wrote a duplicate as reason "duplicate:<report id>" and had no note."""
    reason = data["reason"]
    duplicate_of = None
    if reason.startswith("duplicate:"):
        reason, duplicate_of = "duplicate", reason.split(":", 1)[1]
    return {"reason": reason, "duplicate_of": duplicate_of, "note": None}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("ReportArchived", 1): archived_v1_to_v2,
}


def upcast(event_type: str, schema_version: int, data: dict[str, Any], target: int) -> dict[str, Any]:
    version = schema_version
    while version < target:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event_type} v{version} -> v{version + 1}")
        data = step(data)
        version += 1
    return data
