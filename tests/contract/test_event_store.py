"""One contract, two event stores: InMemoryEventStore and DynamoDBEventStore (on moto) keep the same promises.

Every test taking `store` runs against both. The DynamoDB-only tests at the end pin the request budget of
DESIGN §1 (one Query to load, one write to append) and that the pynamodb models match infra/tables.py.
"""
from __future__ import annotations

import functools
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

import pytest

from chalicelib.clock import iso
from chalicelib.errors import ConcurrencyConflict
from chalicelib.store.base import Append, IdempotencyKeyTaken, IdempotencyRecord, PersonalRecord, chain_events
from chalicelib.store.dynamodb import DynamoDBEventStore
from chalicelib.store.memory import InMemoryEventStore
from chalicelib.store.models import EventItem, IdempotencyItem, PersonalDataItem
from events.base import Actor, DomainEvent, StoredEvent
from events.chain import canonical_json, verify_chain
from events.report import FollowUpPosted, ReportAssigned, ReportSubmitted, ReportVerified
from infra.tables import EVENTS, IDEMPOTENCY, PERSONAL_DATA, REPORT_VIEWS, TABLES
from tests.support.builders import submitted_event, verified_event
from tests.support.settings import T0, test_settings

REGION = "ap-southeast-3"
CITIZEN = Actor(role="public")
VERIFIER = Actor(role="admin_nasional", user_id="verifikator-01", institution_id="kemenpanrb")
ADMIN = Actor(role="admin_instansi", user_id="admin-samarinda", institution_id="pemkot-samarinda")
LIAISON = Actor(role="admin_penghubung", user_id="pupr-01", institution_id="pemkot-samarinda", unit_id="dinas-pupr")


# ------------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(params=["memory", "dynamodb"])
def store(request):
    if request.param == "memory":
        yield InMemoryEventStore()
    else:
        request.getfixturevalue("aws")
        yield DynamoDBEventStore(dict(test_settings().table_names), host=None, region=REGION)


@pytest.fixture
def dynamodb_store(aws):
    return DynamoDBEventStore(dict(test_settings().table_names), host=None, region=REGION)


# ------------------------------------------------------------------------------------------------ builders

def submitted(**overrides: Any) -> ReportSubmitted:
    return submitted_event(**(dict(addressed_institution_id="pemkot-samarinda", access_token_hash="ab" * 32,
                                   location={"lat": -0.4948, "lon": 117.1436, "address": "Jl. Juanda, Samarinda"},
                                   verification_due="2026-03-05T08:00:00.000Z") | overrides))


def verified() -> ReportVerified:
    return verified_event(follow_up_due="2026-03-09T08:00:00.000Z", resolution_due="2026-03-20T08:00:00.000Z")


def follow_up(message: str = "Tim Dinas PUPR sudah meninjau lokasi; penambalan dijadwalkan Kamis.") -> FollowUpPosted:
    return FollowUpPosted(message=message)


def chain(stream_id: str, tail: StoredEvent | None, new: Sequence[DomainEvent], *, actor: Actor = ADMIN,
          now: datetime = T0, channel: str = "web", correlation_id: str = "corr-1",
          causation_id: str | None = None) -> list[StoredEvent]:
    return chain_events(stream_id, tail, list(new), actor=actor, channel=channel, now=now,
                        correlation_id=correlation_id, causation_id=causation_id)


def append(store, stream_id: str, events: list[StoredEvent], **records: Any) -> list[StoredEvent]:
    store.append(Append(stream_id, events[0].version - 1, events, **records))
    return events


def start_report(store, stream_id: str, *, now: datetime = T0, **records: Any) -> list[StoredEvent]:
    """A submitted report: version 1, written alone (the single-PutItem path unless records ride along)."""
    return append(store, stream_id, chain(stream_id, None, [submitted()], actor=CITIZEN, now=now), **records)


def as_records(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    return [event.to_dict() for event in events]


def idempotency(key: str, stream_id: str) -> IdempotencyRecord:
    return IdempotencyRecord(key=f"public|{key}", fingerprint="f" * 64, stream_id=stream_id,
                             response={"report_id": stream_id, "status": "submitted", "version": 1,
                                       "events": ["ReportSubmitted"]},
                             created_at=iso(T0), expires_at=int((T0 + timedelta(days=7)).timestamp()))


# ------------------------------------------------------------------------------------------------ round trip

def test_appended_events_load_back_equal_field_for_field(store):
    first = chain("LAP-ROUNDTRIP1", None, [submitted()], actor=CITIZEN, correlation_id="req-1",
                  causation_id="idem-123")
    store.append(Append("LAP-ROUNDTRIP1", 0, first))
    second = chain("LAP-ROUNDTRIP1", first[-1], [verified(), ReportAssigned(unit_id="dinas-pupr")],
                   actor=VERIFIER, now=T0 + timedelta(hours=3), channel="admin", correlation_id="req-2")
    store.append(Append("LAP-ROUNDTRIP1", 1, second))

    loaded = store.load("LAP-ROUNDTRIP1")

    assert loaded == first + second
    for original, back in zip(first + second, loaded):
        assert back.to_dict() == original.to_dict()
        assert back.hash == original.hash and back.prev_hash == original.prev_hash
        assert back.data == original.data
        assert back.actor == original.actor
        assert type(back.event) is type(original.event) and back.event == original.event
    assert loaded[0].causation_id == "idem-123" and loaded[1].causation_id is None
    assert loaded[0].data["location"] == {"lat": -0.4948, "lon": 117.1436, "address": "Jl. Juanda, Samarinda"}
    assert loaded[1].actor == VERIFIER and loaded[0].actor == CITIZEN


def test_an_unknown_stream_loads_empty(store):
    assert store.load("LAP-NOSUCHREPT") == []


def test_versions_run_one_to_n_and_the_chain_verifies(store):
    events = start_report(store, "LAP-VERSIONS01")
    for hour in range(1, 6):
        events += append(store, "LAP-VERSIONS01",
                         chain("LAP-VERSIONS01", events[-1], [follow_up(f"Pembaruan ke-{hour}")],
                               now=T0 + timedelta(hours=hour)))
    events += append(store, "LAP-VERSIONS01",
                     chain("LAP-VERSIONS01", events[-1], [follow_up("a"), follow_up("b"), follow_up("c")],
                           now=T0 + timedelta(hours=7)))

    loaded = store.load("LAP-VERSIONS01")

    assert [event.version for event in loaded] == list(range(1, 10))
    check = verify_chain("LAP-VERSIONS01", as_records(loaded))
    assert check.valid and check.events == 9, check


def test_streams_do_not_leak_into_each_other(store):
    a = start_report(store, "LAP-STREAMAAAA")
    b = start_report(store, "LAP-STREAMBBBB")
    a += append(store, "LAP-STREAMAAAA", chain("LAP-STREAMAAAA", a[-1], [follow_up()]))

    assert store.load("LAP-STREAMAAAA") == a
    assert store.load("LAP-STREAMBBBB") == b


# ------------------------------------------------------------------------------------------------ concurrency

def test_a_multi_event_append_onto_an_existing_version_writes_none_of_its_events(store):
    history = start_report(store, "LAP-ATOMIC0001")
    history += append(store, "LAP-ATOMIC0001", chain("LAP-ATOMIC0001", history[-1], [verified()], actor=VERIFIER))
    # A writer that still believes the report is at version 1: its three events are versions 2, 3, 4.
    stale = chain("LAP-ATOMIC0001", history[0], [follow_up("x"), follow_up("y"), follow_up("z")],
                  now=T0 + timedelta(hours=1))

    with pytest.raises(ConcurrencyConflict) as raised:
        store.append(Append("LAP-ATOMIC0001", 1, stale))

    assert raised.value.details == {"stream_id": "LAP-ATOMIC0001", "expected_version": 1}
    loaded = store.load("LAP-ATOMIC0001")
    assert loaded == history  # neither v3 nor v4 slipped in, and v2 is the original, not overwritten
    assert [event.hash for event in loaded] == [event.hash for event in history]


def test_of_two_writers_at_the_same_version_one_wins_and_the_other_gets_a_conflict(store):
    history = start_report(store, "LAP-LOSTUPD001")
    winner = chain("LAP-LOSTUPD001", history[-1], [follow_up("Dari admin instansi")], actor=ADMIN,
                   now=T0 + timedelta(minutes=5), correlation_id="req-admin")
    loser = chain("LAP-LOSTUPD001", history[-1], [follow_up("Dari penghubung")], actor=LIAISON,
                  now=T0 + timedelta(minutes=5), correlation_id="req-liaison")

    store.append(Append("LAP-LOSTUPD001", 1, winner))
    with pytest.raises(ConcurrencyConflict):
        store.append(Append("LAP-LOSTUPD001", 1, loser))

    loaded = store.load("LAP-LOSTUPD001")
    assert loaded == history + winner
    assert loaded[-1].actor == ADMIN and loaded[-1].data["message"] == "Dari admin instansi"


@pytest.fixture
def atomic_moto_writes(monkeypatch):
    """moto checks a condition and then writes without a lock; DynamoDB does both atomically per item.
    Serialise moto's writes so a race tests our store's use of conditions, not moto's thread safety."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        @functools.wraps(original)
        def locked(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def test_two_threads_racing_on_one_version_never_lose_an_update(store, atomic_moto_writes):
    for round_number in range(10):
        stream_id = f"LAP-RACE{round_number:06d}"
        history = start_report(store, stream_id)
        # Odd rounds: one racer writes two events (a transaction) against the other's single PutItem.
        candidates = {
            "admin": chain(stream_id, history[-1], [follow_up(f"admin {round_number}")], actor=ADMIN,
                           correlation_id=f"admin-{round_number}"),
            "liaison": chain(stream_id, history[-1],
                             [follow_up(f"liaison {round_number}")] * (1 + round_number % 2), actor=LIAISON,
                             correlation_id=f"liaison-{round_number}"),
        }
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def race(name: str) -> None:
            barrier.wait()
            try:
                store.append(Append(stream_id, 1, candidates[name]))
                outcomes[name] = "won"
            except Exception as exc:  # noqa: BLE001 — recorded and asserted below
                outcomes[name] = exc

        threads = [threading.Thread(target=race, args=(name,)) for name in candidates]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)

        winners = [name for name, outcome in outcomes.items() if outcome == "won"]
        losers = [outcome for outcome in outcomes.values() if outcome != "won"]
        assert len(winners) == 1, (round_number, outcomes)
        assert len(losers) == 1 and isinstance(losers[0], ConcurrencyConflict), (round_number, outcomes)
        assert store.load(stream_id) == history + candidates[winners[0]]


# ------------------------------------------------------------------------------------------------ idempotency

def test_the_idempotency_record_commits_with_the_events_and_a_reused_key_writes_nothing(store):
    record = idempotency("sms-gw-msg-778812", "LAP-IDEMPOT001")
    start_report(store, "LAP-IDEMPOT001", idempotency=record)

    assert store.get_idempotency(record.key) == record
    assert len(store.load("LAP-IDEMPOT001")) == 1

    # The SMS gateway retries; the handler has already minted a new report id for the retry.
    retry = chain("LAP-IDEMPOT002", None, [submitted()], actor=CITIZEN)
    with pytest.raises(IdempotencyKeyTaken) as raised:
        store.append(Append("LAP-IDEMPOT002", 0, retry, idempotency=idempotency("sms-gw-msg-778812",
                                                                                 "LAP-IDEMPOT002")))

    assert raised.value.key == record.key
    assert store.load("LAP-IDEMPOT002") == []
    assert store.get_idempotency(record.key) == record  # the first result stands


def test_an_unknown_idempotency_key_reads_as_none(store):
    assert store.get_idempotency("public|never-used") is None


# ------------------------------------------------------------------------------------------------ personal data

def test_personal_data_is_written_with_the_events_and_erasure_leaves_a_tombstone(store):
    person = PersonalRecord(reporter_ref="RPT-0a1b2c3d4e5f60718293a4b5", name="Siti Rahmawati",
                            phone="+6281234567890", email="siti@example.id", nik="6472014501900003",
                            created_at=iso(T0))
    stream_id = "LAP-PERSONAL01"
    first = chain(stream_id, None, [submitted(reporter_ref=person.reporter_ref)], actor=CITIZEN)
    store.append(Append(stream_id, 0, first, personal=person))
    events = first + append(store, stream_id, chain(stream_id, first[-1], [verified()], actor=VERIFIER))

    assert store.get_personal(person.reporter_ref) == person
    stored_text = canonical_json(as_records(store.load(stream_id)))
    assert "Siti" not in stored_text and "6281234567890" not in stored_text and "6472014501900003" not in stored_text

    erased_at = iso(T0 + timedelta(days=30))
    assert store.erase_personal(person.reporter_ref, erased_at) is True

    tombstone = store.get_personal(person.reporter_ref)
    assert tombstone is not None
    assert tombstone.reporter_ref == person.reporter_ref and tombstone.erased_at == erased_at
    assert (tombstone.name, tombstone.phone, tombstone.email, tombstone.nik) == (None, None, None, None)
    loaded = store.load(stream_id)
    assert loaded == events
    assert verify_chain(stream_id, as_records(loaded)).valid


def test_erasing_an_unknown_reporter_returns_false_and_creates_nothing(store):
    assert store.erase_personal("RPT-000000000000000000000000", iso(T0)) is False
    assert store.get_personal("RPT-000000000000000000000000") is None


# ------------------------------------------------------------------------------------------------ read_days

def test_read_days_returns_a_date_range_in_time_stream_version_order(store):
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    written: list[StoredEvent] = []
    tails: dict[str, StoredEvent | None] = {"LAP-DAYSAAAAAA": None, "LAP-DAYSBBBBBB": None, "LAP-DAYSCCCCCC": None}

    def write(stream_id: str, when: str, count: int = 1) -> None:
        tail = tails[stream_id]
        new = [submitted()] if tail is None else []
        new += [follow_up(f"{stream_id} {when} #{i}") for i in range(count - len(new))]
        events = chain(stream_id, tail, new, now=at(when))
        store.append(Append(stream_id, tail.version if tail else 0, events))
        tails[stream_id] = events[-1]
        written.extend(events)

    write("LAP-DAYSBBBBBB", "2026-03-01T23:59:59.999Z")  # the day before: excluded
    write("LAP-DAYSCCCCCC", "2026-03-02T00:00:00.000Z")  # first instant of the range
    write("LAP-DAYSAAAAAA", "2026-03-02T08:15:00.000Z")
    write("LAP-DAYSBBBBBB", "2026-03-02T08:15:00.000Z", count=2)  # same instant as A: stream, then version
    write("LAP-DAYSCCCCCC", "2026-03-02T07:00:00.000Z")  # written later, happened earlier
    write("LAP-DAYSAAAAAA", "2026-03-03T10:00:00.000Z", count=3)
    write("LAP-DAYSCCCCCC", "2026-03-03T09:59:59.999Z")
    write("LAP-DAYSBBBBBB", "2026-03-03T23:59:59.999Z")  # last instant of the range
    write("LAP-DAYSAAAAAA", "2026-03-04T00:00:00.000Z")  # the day after: excluded

    got = list(store.read_days("2026-03-02", "2026-03-03"))

    expected = sorted((event for event in written if "2026-03-02" <= event.occurred_at[:10] <= "2026-03-03"),
                      key=lambda event: (event.occurred_at, event.stream_id, event.version))
    assert [(e.occurred_at, e.stream_id, e.version) for e in got] == \
        [(e.occurred_at, e.stream_id, e.version) for e in expected]
    assert got == expected
    assert len(got) == 10
    assert [event.day for event in got].count("2026-03-02") == 5


def test_read_days_of_an_empty_range_yields_nothing(store):
    start_report(store, "LAP-DAYSEMPTY1")
    assert list(store.read_days("2025-01-01", "2025-01-31")) == []


# ------------------------------------------------------------------------------------------------ size

def test_a_stream_larger_than_one_megabyte_loads_whole(store):
    stream_id = "LAP-BIGSTREAM1"
    paragraph = ("Warga RT 07 melaporkan kembali bahwa genangan belum surut dan saluran masih tersumbat "
                 "sampah plastik; petugas diminta datang dengan truk penyedot. ")
    message = (paragraph * 40)[:5000]
    events = start_report(store, stream_id)
    while len(events) < 300:
        batch = [follow_up(f"{len(events) + i:03d} {message}") for i in range(min(25, 300 - len(events)))]
        events += append(store, stream_id, chain(stream_id, events[-1], batch,
                                                 now=T0 + timedelta(minutes=len(events))))

    loaded = store.load(stream_id)

    assert sum(len(canonical_json(event.data)) for event in loaded) > 1_400_000
    assert len(loaded) == 300
    assert loaded[-1].version == 300 and loaded[-1].hash == events[-1].hash
    assert [event.version for event in loaded] == list(range(1, 301))
    assert verify_chain(stream_id, as_records(loaded)).valid


# ------------------------------------------------------------------------------------------------ DynamoDB only

def test_dynamodb_loads_with_one_query_and_appends_with_one_write(dynamodb_store, dynamodb_calls):
    stream_id = "LAP-BUDGET0001"
    one = chain(stream_id, None, [submitted()], actor=CITIZEN)
    dynamodb_store.append(Append(stream_id, 0, one))
    assert dynamodb_calls == ["PutItem"]

    dynamodb_calls.clear()
    two = chain(stream_id, one[-1], [verified(), ReportAssigned(unit_id="dinas-pupr")], actor=VERIFIER)
    dynamodb_store.append(Append(stream_id, 1, two))
    assert dynamodb_calls == ["TransactWriteItems"]

    dynamodb_calls.clear()
    three = chain(stream_id, two[-1], [follow_up("satu"), follow_up("dua")])
    dynamodb_store.append(Append(stream_id, 3, three))
    assert dynamodb_calls == ["TransactWriteItems"]

    dynamodb_calls.clear()
    assert len(dynamodb_store.load(stream_id)) == 5
    assert dynamodb_calls == ["Query"]


def test_dynamodb_reads_one_day_with_one_index_query(dynamodb_store, dynamodb_calls):
    history = start_report(dynamodb_store, "LAP-BUDGET0003")
    append(dynamodb_store, "LAP-BUDGET0003",
           chain("LAP-BUDGET0003", history[-1], [follow_up(str(i)) for i in range(4)], now=T0 + timedelta(hours=1)))
    start_report(dynamodb_store, "LAP-BUDGET0004", now=T0 - timedelta(days=1))
    dynamodb_calls.clear()

    assert len(list(dynamodb_store.read_days("2026-03-02", "2026-03-02"))) == 5
    assert dynamodb_calls == ["Query"]


def test_dynamodb_a_conflicting_single_append_costs_one_request(dynamodb_store, dynamodb_calls):
    history = start_report(dynamodb_store, "LAP-BUDGET0002")
    dynamodb_store.append(Append("LAP-BUDGET0002", 1, chain("LAP-BUDGET0002", history[-1], [follow_up("a")])))
    dynamodb_calls.clear()

    with pytest.raises(ConcurrencyConflict):
        dynamodb_store.append(Append("LAP-BUDGET0002", 1, chain("LAP-BUDGET0002", history[-1], [follow_up("b")])))

    assert dynamodb_calls == ["PutItem"]


def _key_schema(model) -> dict[str, tuple[str, str]]:
    attributes = model.get_attributes()
    keys = {}
    for name, attribute in attributes.items():
        if attribute.is_hash_key:
            keys[name] = (attribute.attr_type, "HASH")
        elif attribute.is_range_key:
            keys[name] = (attribute.attr_type, "RANGE")
    return keys


def test_pynamodb_key_attributes_match_the_table_definitions():
    from projections.report_view import ReportViewItem

    for logical, model in ((EVENTS, EventItem), (IDEMPOTENCY, IdempotencyItem), (PERSONAL_DATA, PersonalDataItem),
                           (REPORT_VIEWS, ReportViewItem)):
        spec = TABLES[logical]
        assert _key_schema(model) == {name: (kind, key_type) for name, kind, key_type in spec.keys}, logical

    events_spec = TABLES[EVENTS]
    event_attributes = EventItem.get_attributes()
    for name, kind in events_spec.index_attributes:
        assert event_attributes[name].attr_type == kind, name
    (by_day,) = events_spec.indexes
    assert by_day["IndexName"] == "by-day"
    assert [key["AttributeName"] for key in by_day["KeySchema"]] == ["day", "at_key"]
    assert IdempotencyItem.get_attributes()[TABLES[IDEMPOTENCY].ttl_attribute].attr_type == "N"
    view_attributes = ReportViewItem.get_attributes()
    for name, kind in TABLES[REPORT_VIEWS].index_attributes:  # the sparse queue and list indexes
        assert view_attributes[name].attr_type == kind, name


def test_the_day_index_keys_are_derived_from_the_event_time(dynamodb_store):
    import boto3

    events = start_report(dynamodb_store, "LAP-DAYKEY0001", now=datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc))
    item = boto3.client("dynamodb").get_item(TableName=test_settings().table_names["events"],
                                             Key={"stream_id": {"S": "LAP-DAYKEY0001"}, "version": {"N": "1"}})["Item"]
    assert item["day"] == {"S": "2026-03-02"}
    assert item["at_key"] == {"S": "2026-03-02T23:30:00.000Z#LAP-DAYKEY0001#0000000001"}
    assert item["hash"] == {"S": events[0].hash}
