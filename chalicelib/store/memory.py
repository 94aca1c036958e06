"""The in-memory twin of the DynamoDB event store: same promises, held by the same contract tests."""
from __future__ import annotations

import threading
from typing import Iterator

from chalicelib.errors import ConcurrencyConflict
from chalicelib.store.base import Append, IdempotencyKeyTaken, IdempotencyRecord, PersonalRecord
from events.base import StoredEvent


class InMemoryEventStore:
    def __init__(self) -> None:
        self._streams: dict[str, list[StoredEvent]] = {}
        self._idempotency: dict[str, IdempotencyRecord] = {}
        self._personal: dict[str, PersonalRecord] = {}
        self._lock = threading.Lock()  # one append is atomic, like a DynamoDB transaction

    def load(self, stream_id: str) -> list[StoredEvent]:
        return list(self._streams.get(stream_id, []))

    def append(self, append: Append) -> None:
        with self._lock:
            stream = self._streams.get(append.stream_id, [])
            if len(stream) != append.expected_version:
                raise ConcurrencyConflict(append.stream_id, append.expected_version)
            if append.idempotency and append.idempotency.key in self._idempotency:
                raise IdempotencyKeyTaken(append.idempotency.key)
            if append.personal and append.personal.reporter_ref in self._personal:
                raise ValueError(f"reporter_ref {append.personal.reporter_ref} already exists")
            self._streams[append.stream_id] = stream + list(append.events)
            if append.idempotency:
                self._idempotency[append.idempotency.key] = append.idempotency
            if append.personal:
                self._personal[append.personal.reporter_ref] = append.personal

    def read_days(self, first_day: str, last_day: str) -> Iterator[StoredEvent]:
        selected = [event for stream in list(self._streams.values()) for event in stream
                    if first_day <= event.day <= last_day]
        return iter(sorted(selected, key=lambda event: (event.day, event.at_key)))

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self._idempotency.get(key)

    def get_personal(self, reporter_ref: str) -> PersonalRecord | None:
        return self._personal.get(reporter_ref)

    def erase_personal(self, reporter_ref: str, erased_at: str) -> bool:
        with self._lock:
            if reporter_ref not in self._personal:
                return False
            self._personal[reporter_ref] = PersonalRecord(reporter_ref=reporter_ref, erased_at=erased_at)
            return True
