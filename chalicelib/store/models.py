"""pynamodb models of the tables in infra/tables.py, bound to physical names at runtime.

Table names come from settings, not from import-time globals: `bind()` makes a subclass per table name.
Key attributes must match infra/tables.py; tests/contract checks that they do.
"""
from __future__ import annotations

from typing import TypeVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class ByDayIndex(GlobalSecondaryIndex["EventItem"]):
    """Declared so pynamodb can query it; the table itself is created from infra/tables.py."""

    class Meta:
        index_name = "by-day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    at_key = UnicodeAttribute(range_key=True)


class EventItem(Model):
    class Meta:
        table_name = "unbound-events"

    stream_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    type = UnicodeAttribute()
    schema_version = NumberAttribute()
    data = UnicodeAttribute()  # canonical JSON: exact bytes for the hash chain, no Decimal surprises
    actor = UnicodeAttribute()  # JSON
    channel = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    correlation_id = UnicodeAttribute()
    causation_id = UnicodeAttribute(null=True)
    prev_hash = UnicodeAttribute()
    hash = UnicodeAttribute()
    day = UnicodeAttribute()  # by-day index hash key
    at_key = UnicodeAttribute()  # by-day index range key
    by_day = ByDayIndex()


class IdempotencyItem(Model):
    class Meta:
        table_name = "unbound-idempotency"

    key = UnicodeAttribute(hash_key=True)
    fingerprint = UnicodeAttribute()
    stream_id = UnicodeAttribute()
    response = UnicodeAttribute()  # JSON
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()


class PersonalDataItem(Model):
    class Meta:
        table_name = "unbound-personal-data"

    reporter_ref = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    nik = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)


M = TypeVar("M", bound=type[Model])


def bind(model: M, table_name: str, *, host: str | None, region: str) -> M:
    """A subclass of `model` that talks to `table_name` at `host` (None = AWS, or moto in-process)."""
    meta = type("Meta", (), {"table_name": table_name, "host": host, "region": region,
                             "max_retry_attempts": 3, "connect_timeout_seconds": 5, "read_timeout_seconds": 10})
    return type(model.__name__, (model,), {"Meta": meta, "__module__": model.__module__})
