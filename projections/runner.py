"""The one projector behind the events stream: decode a batch, fold each report's events, write each read model.

One consumer for all read models keeps within DynamoDB Streams' two-readers-per-shard limit. Within one stream
batch the decoded events are grouped by report, each report's kept in version order, and every read model gets
the whole run of a report's events at once (`project_runs`): it reads its stored item once, folds the events in
memory with the same code as one event at a time, and writes once, conditioned on the version it read. Read
models without `project_runs` (the archive, the log bounds) get the events one by one.

Partial failure (ReportBatchItemFailures): a report that a read model could not take whole fails exactly its own
records from the first one that read model does not have. Lambda retries from the lowest failed sequence
number, so the records after it — other reports' too — come again; their version guards make that harmless.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, Sequence

from events.base import StoredEvent
from projections.guard import PartlyApplied
from projections.stream import decode_record

logger = logging.getLogger(__name__)


class ReadModel(Protocol):
    def handles(self, stored: StoredEvent) -> bool: ...

    def project(self, stored: StoredEvent) -> bool: ...


@dataclass(frozen=True)
class _Delivered:
    stored: StoredEvent
    sequence_number: str


class Projector:
    def __init__(self, read_models: Iterable[ReadModel]) -> None:
        self._read_models = list(read_models)

    def apply(self, stored: StoredEvent) -> None:
        """One event to every read model (reproject, rebuild, tests). Every read model gets it even if another
        fails on it: one read model's trouble (a bug, a throttled table) must not keep the event from the
        others — above all from the auditors' archive. The first failure is raised afterwards, so the record is
        retried; the version guards make that harmless for the read models that already applied it."""
        failures: list[Exception] = []
        for read_model in self._read_models:
            if read_model.handles(stored):
                try:
                    read_model.project(stored)
                except Exception as failure:  # noqa: BLE001 — raised below, after the others had their turn
                    self._failed(read_model, stored, failure)
                    failures.append(failure)
        if failures:
            raise failures[0]

    def apply_batch(self, events: Sequence[StoredEvent]) -> dict[str, int]:
        """Events of one stream batch (in stream order) to every read model, report by report.

        Returns, per report that did not go through whole, the first version some read model does not have:
        that event and the report's later ones must be delivered again. Every read model gets every report
        even if another failed on it (as in `apply`)."""
        runs = group_by_report(events)
        first_missing: dict[str, int] = {}
        for read_model in self._read_models:
            mine = [[stored for stored in run if read_model.handles(stored)] for run in runs]
            mine = [run for run in mine if run]
            if not mine:
                continue
            batched = getattr(read_model, "project_runs", None)
            try:
                outcomes = batched(mine) if batched is not None else [self._one_by_one(read_model, run)
                                                                      for run in mine]
            except Exception as failure:  # noqa: BLE001 — a bug in the read model: its every run fails whole
                outcomes = [PartlyApplied(0, failure) for _ in mine]
            for run, outcome in zip(mine, outcomes, strict=True):
                if outcome is None:
                    continue
                stopped = run[min(outcome.done, len(run) - 1)]
                self._failed(read_model, stopped, outcome.cause)
                report = stopped.stream_id
                first_missing[report] = min(first_missing.get(report, stopped.version), stopped.version)
        applied = [stored for stored in events if stored.version < first_missing.get(stored.stream_id, 1 << 62)]
        self._applied(applied)
        return first_missing

    @staticmethod
    def _one_by_one(read_model: ReadModel, run: list[StoredEvent]) -> PartlyApplied | None:
        for index, stored in enumerate(run):
            try:
                read_model.project(stored)
            except Exception as failure:  # noqa: BLE001 — the run stops here; the stream brings it again
                return PartlyApplied(index, failure)
        return None

    def _failed(self, read_model: Any, stored: StoredEvent, failure: BaseException) -> None:
        logger.warning("%s failed on %s v%d: %s", type(read_model).__name__, stored.stream_id, stored.version,
                       failure)

    def _applied(self, events: list[StoredEvent]) -> None:
        """Every read model has these now (a hook: the Lambda measures projection lag)."""

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """A Lambda stream batch in; `{"batchItemFailures": [...]}` out (ReportBatchItemFailures).

        As Powertools' BatchProcessor does: if every record failed, raise, so Lambda retries (and bisects) the
        batch as a function error rather than take an answer that names every record."""
        records = event.get("Records") or []
        delivered: list[_Delivered] = []
        failed: list[str] = []
        for record in records:
            sequence_number = record.get("dynamodb", {}).get("SequenceNumber", "")
            try:
                stored = decode_record(record)
            except Exception as failure:  # noqa: BLE001 — fails alone; later events of its report follow it
                logger.error("cannot decode stream record %s: %s", sequence_number, failure)
                failed.append(sequence_number)
                continue
            if stored is None:
                # No code path of ours updates or deletes an event: a MODIFY or REMOVE is someone tampering.
                logger.error("the events table saw a %s of %s: events are never changed or removed; run lapor "
                             "verify", record.get("eventName"), record.get("dynamodb", {}).get("Keys"))
                continue
            delivered.append(_Delivered(stored, sequence_number))
        first_missing = self.apply_batch([item.stored for item in delivered])
        failed += [item.sequence_number for item in delivered
                   if item.stored.version >= first_missing.get(item.stored.stream_id, 1 << 62)]
        if records and len(failed) == len(records):
            from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

            raise BatchProcessingError(f"all {len(records)} records of the batch failed", [])
        order = {record.get("dynamodb", {}).get("SequenceNumber", ""): n for n, record in enumerate(records)}
        return {"batchItemFailures": [{"itemIdentifier": sequence_number}
                                      for sequence_number in sorted(set(failed), key=order.__getitem__)]}


def group_by_report(events: Sequence[StoredEvent]) -> list[list[StoredEvent]]:
    """Each report's events, in version order, reports in the order they first appear."""
    runs: dict[str, list[StoredEvent]] = {}
    for stored in events:
        runs.setdefault(stored.stream_id, []).append(stored)
    return [sorted(run, key=lambda stored: stored.version) for run in runs.values()]
