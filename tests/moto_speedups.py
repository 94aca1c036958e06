"""Two fixes to moto for the in-process test suite and the benchmark (`lapor serve` runs on DynamoDB Local).

1. moto 5.2.5's transact_write_items deep-copies a table for *every item* of a transaction, as a rollback
   snapshot. A 13-item statistics transaction copied the stats table 13 times, so local projection slowed
   down with the square of the data. We keep moto's semantics but take each snapshot once per transaction.
2. A refused transaction rolls back by swapping the snapshot in for the whole table, which silently erases
   any write another thread made meanwhile (seen in the benchmark's concurrency gate). Race tests and the
   benchmark write from threads, so every DynamoDB write in moto is serialized under one lock.
"""
from __future__ import annotations

import copy
import functools
import threading
from typing import Any

_local = threading.local()
_installed = False
_writes = threading.RLock()
_WRITE_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


class _SnapshotOncePerTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        snapshots = getattr(_local, "snapshots", None)
        if snapshots is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in snapshots:
            snapshots[id(value)] = copy.deepcopy(value)
        return snapshots[id(value)]


def install() -> None:
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models

    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _local.snapshots = {}
        try:
            return original(self, transact_items)
        finally:
            _local.snapshots = None

    models.copy = _SnapshotOncePerTransaction()
    models.DynamoDBBackend.transact_write_items = transact_write_items
    for name in _WRITE_METHODS:
        setattr(models.DynamoDBBackend, name, _serialized(getattr(models.DynamoDBBackend, name)))
    _installed = True


def _serialized(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _writes:
            return method(*args, **kwargs)
    return locked
