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


# ------------------------------------------------------------------------------------------ log against archive

# Bytes of each archived event's hash kept to name the first event that differs. The head's full hash is kept
# too: with the log's own chain intact, an equal head hash proves every earlier event equal at full SHA-256
# strength, so the short prefixes only locate a difference, they never decide alone that there is none.
ARCHIVED_PREFIX_BYTES = 8


@dataclass(frozen=True)
class ArchiveCheck:
    """The event log compared with an independent record of it (the archive, or an auditor's earlier export)."""

    reports: int  # reports in either
    events: int  # events of the log checked
    archived_events: int
    broken: dict[str, ChainCheck]  # the log: its own chain broken, or disagreeing with the archive
    archive_broken: dict[str, ChainCheck]  # the archive's own chains
    not_archived: dict[str, int]  # report -> how many of its newest log events the archive does not hold yet

    @property
    def valid(self) -> bool:
        return not self.broken and not self.archive_broken


def compare_with_archive(log_records: Iterable[Mapping[str, Any]], archive_records: Iterable[Mapping[str, Any]], *,
                         drained: bool = False, log_name: str = "the event log",
                         archive_name: str = "the archive") -> ArchiveCheck:
    """Verify the log's chains and that each report's chain holds, unchanged, every event the archive holds.

    A chain alone cannot show that its newest events were cut off; the archive, written independently of the
    log, records how long each chain was. Both inputs may interleave reports in any way that keeps each
    report's versions in order. The archive is read whole first, then the log in one pass: when both are
    live, an event reaches the archive only after the log committed it, so an archive read before the log is
    never ahead of it unless events were removed. A log ahead of the archive is the archive's lag
    (`not_archived`), unless the caller says the stream is `drained`: then it is an error too (an event
    appended to the log behind the archive's back).

    Memory: per report, its heads, plus ARCHIVED_PREFIX_BYTES per archived event, so that an event changed
    and every later hash recomputed (a chain that verifies by itself) is named at the first changed version,
    not only at the head.
    """
    archive = ChainVerifier()
    prefixes: dict[str, bytearray] = {}  # report -> the hash prefixes of its intact archived versions 1..n
    archive_heads: dict[str, str] = {}  # report -> the full hash of its last intact archived version
    for record in archive_records:
        archive.feed(record)
        stream_id = record["stream_id"]
        intact = prefixes.setdefault(stream_id, bytearray())
        if stream_id not in archive.broken:  # past a break only the archive's intact start is trusted
            intact += bytes.fromhex(record["hash"])[:ARCHIVED_PREFIX_BYTES]
            archive_heads[stream_id] = record["hash"]

    def archived_length(stream_id: str) -> int:
        return len(prefixes.get(stream_id, b"")) // ARCHIVED_PREFIX_BYTES

    def archived_prefix(stream_id: str, version: int) -> bytes:
        return bytes(prefixes[stream_id][(version - 1) * ARCHIVED_PREFIX_BYTES:version * ARCHIVED_PREFIX_BYTES])

    def matches_archive(stream_id: str, version: int, digest: str) -> bool:
        if version == archived_length(stream_id):
            return digest == archive_heads[stream_id]
        return bytes.fromhex(digest)[:ARCHIVED_PREFIX_BYTES] == archived_prefix(stream_id, version)

    heads: dict[str, tuple[int, str]] = {}
    counts: dict[str, int] = {}
    broken: dict[str, ChainCheck] = {}
    for record in log_records:
        stream_id, version = record["stream_id"], int(record["version"])
        count = counts[stream_id] = counts.get(stream_id, 0) + 1
        if stream_id in broken:
            continue
        last_version, last_hash = heads.get(stream_id, (0, GENESIS))
        archived = archived_length(stream_id)
        problem = None
        if version != last_version + 1:
            version = last_version + 1
            problem = f"version {version} is missing from {log_name} (the next event there is version " \
                      f"{record['version']})" + (f"; {archive_name} has it" if version <= archived else "")
        elif event_hash(record) != record["hash"]:
            problem = f"version {version} in {log_name} does not match its own hash (it was changed after it " \
                      "was written)"
        elif version <= archived and not matches_archive(stream_id, version, record["hash"]):
            problem = f"version {version} in {log_name} differs from version {version} in {archive_name} " \
                      f"(hash {record['hash'][:16]}... in {log_name}, " \
                      f"{archived_prefix(stream_id, version).hex()}... in {archive_name})"
        elif record["prev_hash"] != last_hash:
            previous = f"version {version - 1} (its prev_hash is not that event's hash)" if version > 1 else \
                "the start of the chain (its prev_hash is not the genesis hash)"
            problem = f"version {version} in {log_name} does not link to {previous}"
        if problem:
            broken[stream_id] = ChainCheck(stream_id, False, count, version, problem)
        else:
            heads[stream_id] = (version, record["hash"])

    # What only the end of both can show: chains shorter than the archive's, and chains beyond it.
    not_archived: dict[str, int] = {}
    reports = sorted(prefixes.keys() | counts.keys())
    for stream_id in reports:
        if stream_id in broken:
            continue
        logged, archived = heads.get(stream_id, (0, GENESIS))[0], archived_length(stream_id)
        problem = None
        if logged < archived and logged == 0:
            problem = f"the report is in {archive_name} (versions 1 to {archived}) but has no events in {log_name}"
        elif logged < archived:
            problem = f"version {logged + 1} is in {archive_name} but missing from {log_name} (the chain was " \
                      f"truncated after version {logged}; {archive_name} goes to version {archived})"
        elif logged > archived and stream_id not in archive.broken:
            if drained:
                problem = f"version {archived + 1} is in {log_name} but not in {archive_name}, which should hold " \
                          f"every event by now (the stream is drained); {logged - archived} missing from it"
            else:
                not_archived[stream_id] = logged - archived
        if problem:
            broken[stream_id] = ChainCheck(stream_id, False, counts.get(stream_id, 0),
                                           min(logged, archived) + 1, problem)
    return ArchiveCheck(reports=len(reports), events=sum(counts.values()), archived_events=archive.events,
                        broken=broken, archive_broken=dict(archive.broken), not_archived=not_archived)
