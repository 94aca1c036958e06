"""The append-only event archive: every event, exactly once, outside DynamoDB.

Locally it is a JSON-lines file that `lapor serve` replays into its empty store at start (moto keeps
nothing on disk); in AWS the same consumer writes one S3 object per event with a create-only condition.
Auditors' exports use the same line format, so `lapor verify --archive` checks either offline.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from events.base import StoredEvent
from events.chain import canonical_json
from projections.guard import next_in_line


class FileArchive:
    """A JSON-lines file; an in-memory index of each stream's last archived version makes appends exactly-once."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}
        _cut_torn_tail(path)
        for event in read_archive(path):
            self._last[event.stream_id] = max(self._last.get(event.stream_id, 0), event.version)

    def handles(self, stored: StoredEvent) -> bool:
        return True

    def project(self, stored: StoredEvent) -> bool:
        with self._lock:
            last = self._last.get(stored.stream_id, 0)
            if not next_in_line(stored, last):
                return False
            with self._path.open("a", encoding="utf-8") as archive:
                archive.write(canonical_json(stored.to_dict()) + "\n")
                archive.flush()
                os.fsync(archive.fileno())  # durable before the stream moves past it
            self._last[stored.stream_id] = stored.version
            return True


class S3Archive:
    """One object per event, `events/<day>/<stream>/<version>.json`, written only if absent (exactly once)."""

    def __init__(self, bucket: str, client: Any) -> None:
        self._bucket, self._client = bucket, client

    def handles(self, stored: StoredEvent) -> bool:
        return True

    def project(self, stored: StoredEvent) -> bool:
        key = f"events/{stored.day}/{stored.stream_id}/{stored.version:010d}.json"
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=canonical_json(stored.to_dict()).encode(),
                                    IfNoneMatch="*", ContentType="application/json")
        except self._client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False  # already archived: a redelivery
            raise
        return True


def read_s3_archive(bucket: str, client: Any, prefix: str = "events/") -> Iterator[StoredEvent]:
    """Every archived event, in key order: by day, then report, then version — so each report's versions come in
    order (an event is never stamped before its predecessor). One GET per event: an audit's pace, not a page's."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            yield StoredEvent.from_dict(json.loads(body))

def _cut_torn_tail(path: Path) -> None:
    """A crash mid-write leaves a partial last line; cut it, so the next append starts on a fresh line
    (the stream redelivers the event it held, since it was never acknowledged)."""
    if not path.exists():
        return
    with path.open("rb+") as archive:
        data = archive.read()
        if data and not data.endswith(b"\n"):
            archive.truncate(data.rfind(b"\n") + 1)


def read_archive(path: Path) -> Iterator[StoredEvent]:
    """Events from a JSON-lines archive or export; a torn last line (a crash mid-write) is ignored."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as archive:
        for number, line in enumerate(archive, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                if archive.readline():  # not the last line: real damage, not a torn write
                    raise ValueError(f"{path}:{number} is not valid JSON") from None
                return
            yield StoredEvent.from_dict(raw)
