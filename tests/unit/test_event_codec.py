"""The one event codec: what the store writes is what the stream decoder reads back, to the byte."""
from __future__ import annotations

from datetime import datetime, timezone

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.store.base import chain_events
from events import report as e
from events.base import Actor
from events.chain import event_hash
from events.codec import from_attributes, to_attributes
from projections.stream import decode_record


def an_event():
    (stored,) = chain_events("LAP-2222222222", None, [e.ReportPutOnHold(question="Di RT berapa? \"Jl. Juanda\"")],
                             actor=Actor(role="admin_nasional", user_id="n"), channel="web",
                             now=datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc), correlation_id="c1",
                             causation_id=None)
    return stored


def test_attributes_round_trip_and_keep_the_hash_valid():
    stored = an_event()
    attributes = to_attributes(stored)
    assert attributes["data"] == '{"question":"Di RT berapa? \\"Jl. Juanda\\""}'  # canonical JSON, as hashed
    assert (attributes["day"], attributes["at_key"]) == (stored.day, stored.at_key)
    back = from_attributes(attributes)
    assert back == stored and event_hash(back.to_dict()) == stored.hash


def test_a_stream_image_of_the_item_decodes_to_the_same_event():
    stored = an_event()
    image = {name: TypeSerializer().serialize(value) for name, value in to_attributes(stored).items()}
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": image}}
    assert decode_record(record) == stored
    assert decode_record({"eventName": "REMOVE", "dynamodb": {"OldImage": image}}) is None
    assert {name: TypeDeserializer().deserialize(v) for name, v in image.items()}["version"] == 1
