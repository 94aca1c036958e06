"""The per-report hash chain (DOMAIN §9): each event's hash covers its content and the previous hash.

Pure functions over plain dicts, so an auditor can verify an export offline with this module alone.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

GENESIS = "0" * 64
HASHED_FIELDS = ("stream_id", "version", "type", "schema_version", "data", "actor", "channel",
                 "occurred_at", "correlation_id", "causation_id", "prev_hash")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(fields: Mapping[str, Any]) -> str:
    payload = {name: fields.get(name) for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    stream_id: str
    valid: bool
    events: int
    first_broken_version: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stream_id": self.stream_id, "valid": self.valid, "events": self.events,
                "first_broken_version": self.first_broken_version, "problem": self.problem}


def verify_chain(stream_id: str, records: Iterable[Mapping[str, Any]],
                 expected_head: tuple[int, str] | None = None) -> ChainCheck:
    """Check versions run 1..n without gaps, each prev_hash links, and each hash matches its content.

    A chain alone cannot show that its newest events were cut off; `expected_head` (version, hash), kept
    elsewhere (the report view, an export manifest), closes that gap.
    """
    expected_prev, expected_version, count = GENESIS, 1, 0
    hashes: dict[int, str] = {}
    for record in records:
        count += 1
        version = int(record["version"])
        if record.get("stream_id") != stream_id:
            return ChainCheck(stream_id, False, count, version, "event belongs to another stream")
        if version != expected_version:
            return ChainCheck(stream_id, False, count, expected_version,
                              f"version {expected_version} is missing (found {version})")
        if record["prev_hash"] != expected_prev:
            return ChainCheck(stream_id, False, count, version, "prev_hash does not link to the previous event")
        if event_hash(record) != record["hash"]:
            return ChainCheck(stream_id, False, count, version, "content does not match its hash")
        expected_prev, expected_version = record["hash"], version + 1
        hashes[version] = record["hash"]
    if expected_head is not None:  # the head may be older than the chain (a lagging read model), never newer
        head_version, head_hash = expected_head
        if head_version not in hashes:
            return ChainCheck(stream_id, False, count, expected_version,
                              f"events after version {expected_version - 1} are missing (head is {head_version})")
        if hashes[head_version] != head_hash:
            return ChainCheck(stream_id, False, count, head_version, "the recorded head hash does not match")
    return ChainCheck(stream_id, True, count)


class ChainVerifier:
    """Verifies many streams at once from events fed in any interleaving that keeps each stream's order
    (the by-day index, an export): memory grows with the number of streams, not of events."""

    def __init__(self) -> None:
        self._heads: dict[str, tuple[int, str]] = {}
        self._counts: dict[str, int] = {}
        self.broken: dict[str, ChainCheck] = {}

    def feed(self, record: Mapping[str, Any]) -> None:
        stream_id, version = record["stream_id"], int(record["version"])
        if stream_id in self.broken:
            return
        last_version, last_hash = self._heads.get(stream_id, (0, GENESIS))
        count = self._counts[stream_id] = self._counts.get(stream_id, 0) + 1
        problem = None
        if version != last_version + 1:
            problem = f"version {last_version + 1} is missing (found {version})"
            version = last_version + 1
        elif record["prev_hash"] != last_hash:
            problem = "prev_hash does not link to the previous event"
        elif event_hash(record) != record["hash"]:
            problem = "content does not match its hash"
        if problem:
            self.broken[stream_id] = ChainCheck(stream_id, False, count, version, problem)
        else:
            self._heads[stream_id] = (version, record["hash"])

    @property
    def streams(self) -> int:
        return len(self._counts)

    @property
    def events(self) -> int:
        return sum(self._counts.values())
