"""The event store on DynamoDB (DESIGN §1).

Load: one consistent Query of the stream, every page. Append: one conditional PutItem, or one
TransactWriteItems when a command writes several events or records beside them (idempotency, personal
data) — all or nothing. Range reads go through the by-day index, never a Scan.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Iterator

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import ConcurrencyConflict
from chalicelib.store.base import Append, IdempotencyKeyTaken, IdempotencyRecord, PersonalRecord
from chalicelib.store.models import EventItem, IdempotencyItem, PersonalDataItem, bind
from events.base import StoredEvent
from events.codec import from_attributes, to_attributes

BY_DAY_INDEX = "by-day"


def to_item(model: type[EventItem], event: StoredEvent) -> EventItem:
    attributes = to_attributes(event)
    return model(attributes.pop("stream_id"), attributes.pop("version"), **attributes)


def from_item(item: EventItem) -> StoredEvent:
    return from_attributes({name: getattr(item, name) for name in EventItem.get_attributes()})


class DynamoDBEventStore:
    def __init__(self, table_names: dict[str, str], *, host: str | None, region: str) -> None:
        self._events = bind(EventItem, table_names["events"], host=host, region=region)
        self._idempotency = bind(IdempotencyItem, table_names["idempotency"], host=host, region=region)
        self._personal = bind(PersonalDataItem, table_names["personal_data"], host=host, region=region)
        self._host, self._region = host, region
        self._connection: Connection | None = None

    @property
    def _transaction_connection(self) -> Connection:
        # TransactWrite does not inherit Meta.host; one connection, made on first use, serves every transaction.
        if self._connection is None:
            self._connection = Connection(host=self._host, region=self._region)
        return self._connection

    def load(self, stream_id: str) -> list[StoredEvent]:
        return [from_item(item) for item in self._events.query(stream_id, consistent_read=True)]

    def append(self, append: Append) -> None:
        if not append.events:
            return
        if len(append.events) == 1 and append.idempotency is None and append.personal is None:
            self._put_one(append)
        else:
            self._transact(append)

    def _put_one(self, append: Append) -> None:
        try:
            to_item(self._events, append.events[0]).save(condition=self._events.stream_id.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrencyConflict(append.stream_id, append.expected_version) from None
            raise

    def _transact(self, append: Append) -> None:
        try:
            with TransactWrite(connection=self._transaction_connection) as transaction:
                for event in append.events:
                    transaction.save(to_item(self._events, event), condition=self._events.stream_id.does_not_exist())
                if append.idempotency:
                    record = append.idempotency
                    transaction.save(
                        self._idempotency(record.key, fingerprint=record.fingerprint, stream_id=record.stream_id,
                                          response=json.dumps(record.response), created_at=record.created_at,
                                          expires_at=record.expires_at),
                        condition=self._idempotency.key.does_not_exist())
                if append.personal:
                    transaction.save(self._personal(**append.personal.to_dict()),
                                     condition=self._personal.reporter_ref.does_not_exist())
        except TransactWriteError as exc:
            reasons = [getattr(reason, "code", None) for reason in (exc.cancellation_reasons or [])]
            n_events = len(append.events)
            if any(code == "ConditionalCheckFailed" for code in reasons[:n_events]):
                raise ConcurrencyConflict(append.stream_id, append.expected_version) from None
            if append.idempotency and len(reasons) > n_events and reasons[n_events] == "ConditionalCheckFailed":
                raise IdempotencyKeyTaken(append.idempotency.key) from None
            raise

    def read_days(self, first_day: str, last_day: str) -> Iterator[StoredEvent]:
        day, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
        while day <= last:
            for item in self._events.query(day.isoformat(), index_name=BY_DAY_INDEX):
                yield from_item(item)
            day += timedelta(days=1)

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        try:
            item = self._idempotency.get(key, consistent_read=True)
        except self._idempotency.DoesNotExist:
            return None
        return IdempotencyRecord(key=item.key, fingerprint=item.fingerprint, stream_id=item.stream_id,
                                 response=json.loads(item.response), created_at=item.created_at,
                                 expires_at=int(item.expires_at))

    def get_personal(self, reporter_ref: str) -> PersonalRecord | None:
        try:
            item = self._personal.get(reporter_ref, consistent_read=True)
        except self._personal.DoesNotExist:
            return None
        return PersonalRecord(**{name: getattr(item, name) for name in PersonalDataItem.get_attributes()})

    def erase_personal(self, reporter_ref: str, erased_at: str) -> bool:
        try:
            self._personal(reporter_ref, erased_at=erased_at).save(
                condition=self._personal.reporter_ref.exists())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
