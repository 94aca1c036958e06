"""DynamoDB stream records (as Lambda delivers them) back into stored events."""
from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from events.base import StoredEvent
from events.codec import from_attributes

_deserializer = TypeDeserializer()


def new_image(record: dict[str, Any]) -> dict[str, Any]:
    image = record["dynamodb"]["NewImage"]
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


def decode_record(record: dict[str, Any]) -> StoredEvent | None:
    """The event an INSERT record carries; None for anything else (events are never modified or removed)."""
    if record.get("eventName") != "INSERT":
        return None
    return from_attributes(new_image(record))
