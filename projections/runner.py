"""The one projector behind the events stream: decode each record, hand it to every read model.

One consumer for all read models keeps within DynamoDB Streams' two-readers-per-shard limit. Records are
processed with Powertools' BatchProcessor so one bad record fails alone (ReportBatchItemFailures) and
Lambda redelivers from it; the version guard in each read model makes that redelivery harmless.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, Protocol

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from events.base import StoredEvent
from projections.stream import decode_record

logger = logging.getLogger(__name__)


class ReadModel(Protocol):
    def handles(self, stored: StoredEvent) -> bool: ...

    def project(self, stored: StoredEvent) -> bool: ...


class Projector:
    def __init__(self, read_models: Iterable[ReadModel]) -> None:
        self._read_models = list(read_models)

    def apply(self, stored: StoredEvent) -> None:
        """Every read model gets the event even if another fails on it: one read model's trouble (a bug, a
        throttled table) must not keep the event from the others — above all from the auditors' archive. The
        first failure is raised afterwards, so the record is retried; the version guards make that harmless for
        the read models that already applied it."""
        failures: list[Exception] = []
        for read_model in self._read_models:
            if read_model.handles(stored):
                try:
                    read_model.project(stored)
                except Exception as failure:  # noqa: BLE001 — raised below, after the others had their turn
                    logger.warning("%s failed on %s v%d: %s", type(read_model).__name__, stored.stream_id,
                                   stored.version, failure)
                    failures.append(failure)
        if failures:
            raise failures[0]

    def _handle_record(self, record: DynamoDBRecord) -> None:
        stored = decode_record(record.raw_event)
        if stored is None:
            # No code path of ours updates or deletes an event: a MODIFY or REMOVE is someone tampering.
            logger.error("the events table saw a %s of %s: events are never changed or removed; run lapor verify",
                         record.raw_event.get("eventName"), record.raw_event.get("dynamodb", {}).get("Keys"))
            return
        self.apply(stored)

    def handle_batch(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """A Lambda stream batch in; `{"batchItemFailures": [...]}` out."""
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        return process_partial_response(event=event, record_handler=self._handle_record,
                                        processor=processor, context=context)
