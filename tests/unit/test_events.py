"""Events (DOMAIN §4, §9): the registry, (de)serialization, upcasting, the per-report hash chain, and
the promise that no personal data ever goes into an event."""
from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.auth import hash_token
from chalicelib.store.base import chain_events
from events import report as e
from events.base import Actor, DomainEvent, StoredEvent
from events.chain import GENESIS, event_hash, verify_chain
from events.institution import INSTITUTION_EVENTS, InstitutionIndicatorsRecorded
from events.registry import EVENT_TYPES, UnknownEventType, decode, encode
from events.report import REPORT_EVENTS
from events.upcasting import UPCASTERS, archived_v1_to_v2, upcast

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
RID = "LAP-7K3M9QX2RT"

# The type strings are stored forever: this list is pinned on purpose, so renaming a class fails here.
STABLE_TYPES = [
    "ReportSubmitted", "ReportPutOnHold", "ReportClarified", "ReporterReplied", "ReportVerified", "ReportArchived",
    "ReportAssigned", "AssignmentReturned", "ReportReturned", "ReportRedisposed", "FollowUpPosted", "ReportAnswered",
    "ResolutionAccepted", "ResolutionObjected", "ReportReopened", "ReportClosed", "EscalatedToOmbudsman",
    "OmbudsmanFindingRecorded", "ReminderSent", "DeadlineEscalated", "ReportNeglected", "PhotoAttached",
    "InstitutionIndicatorsRecorded",
]

# One plausible instance of every event type.
SAMPLES: list[DomainEvent] = [
    e.ReportSubmitted(title="Jalan berlubang di Jl. Juanda", body="Lubang besar di depan pasar.",
                      report_type="complaint", category_id="infrastruktur.jalan-rusak", region_code="64.72",
                      addressed_institution_id="pemkot-samarinda", anonymous=True, confidential=False,
                      reporter_ref="ref-0001", access_token_hash=hash_token("rpt_secret"),
                      location={"lat": -0.5022, "lon": 117.1536, "address": "Jl. Juanda, Samarinda"},
                      verification_due="2026-03-05T09:00:00.000Z"),
    e.ReportPutOnHold(question="Di titik mana tepatnya?"),
    e.ReportClarified(message="Di depan Pasar Segiri.", verification_due="2026-03-10T09:00:00.000Z"),
    e.ReporterReplied(message="Ada foto tambahan."),
    e.ReportVerified(institution_id="pemkot-samarinda", title="Jalan rusak di Jl. Juanda",
                     category_id="infrastruktur.jalan-rusak", report_type="complaint", requires_inspection=False,
                     anonymous=True, confidential=False, follow_up_due="2026-03-09T09:00:00.000Z",
                     resolution_due="2026-03-27T09:00:00.000Z"),
    e.ReportArchived(reason="duplicate", duplicate_of="LAP-ABCDEFGHJK", note="Sudah dilaporkan."),
    e.ReportAssigned(unit_id="dinas-pupr"),
    e.AssignmentReturned(unit_id="dinas-pupr", reason="Urusan Dinas Kominfo."),
    e.ReportReturned(institution_id="pemkot-samarinda", reason="Jalan provinsi."),
    e.ReportRedisposed(institution_id="pemprov-kaltim", previous_institution_id="pemkot-samarinda"),
    e.FollowUpPosted(message="Tim sudah meninjau lokasi."),
    e.ReportAnswered(message="Jalan sudah ditambal.", reply_due="2026-03-31T09:00:00.000Z"),
    e.ResolutionAccepted(rating=5, comment="Terima kasih."),
    e.ResolutionObjected(reason="Lubangnya masih ada."),
    e.ReportReopened(follow_up_due="2026-04-01T09:00:00.000Z"),
    e.ReportClosed(reason="accepted"),
    e.EscalatedToOmbudsman(grounds="missed_deadline", reason="Tidak ditangani."),
    e.OmbudsmanFindingRecorded(finding="Penundaan berlarut.", maladministration=True),
    e.ReminderSent(clock="follow_up", level=1, due_at="2026-03-09T09:00:00.000Z", recipient_role="admin_penghubung",
                   recipient_institution_id="pemkot-samarinda", recipient_unit_id="dinas-pupr"),
    e.DeadlineEscalated(clock="follow_up", level=2, due_at="2026-03-09T09:00:00.000Z", to_role="admin_instansi",
                        to_institution_id="pemkot-samarinda"),
    e.ReportNeglected(days_without_response=60, institution_id="pemkot-samarinda", region_code="64.72"),
    e.PhotoAttached(attachment_id="FOTO-0123456789abcdef0123", sha256="ab" * 32, size=123456,
                    content_type="image/jpeg", width=2048, height=1536),
    InstitutionIndicatorsRecorded(institution_id="pemkot-samarinda", year=2026, has_sk=True, has_renaksi=False,
                                  follow_up_quality=True),
]

PERSONAL_FIELDS = {"name", "full_name", "reporter_name", "phone", "phone_number", "msisdn", "email", "nik"}


def sample_id(event: DomainEvent) -> str:
    return event.event_type


# ---------------------------------------------------------------------------------------------- registry

def test_registry_covers_every_report_and_institution_event_class():
    classes = set(REPORT_EVENTS) | set(INSTITUTION_EVENTS)

    assert set(EVENT_TYPES.values()) == classes
    assert len(EVENT_TYPES) == len(REPORT_EVENTS) + len(INSTITUTION_EVENTS)  # no two classes share a type


def test_every_type_string_is_its_class_name():
    for type_string, cls in EVENT_TYPES.items():
        assert type_string == cls.event_type == cls.__name__


def test_type_strings_are_stable():
    assert sorted(EVENT_TYPES) == sorted(STABLE_TYPES)


def test_every_event_is_immutable():
    event = e.ReportAssigned(unit_id="dinas-pupr")

    with pytest.raises(dataclasses.FrozenInstanceError):
        event.unit_id = "dinas-kominfo"  # type: ignore[misc]


def test_there_is_a_sample_of_every_registered_type():
    assert sorted(s.event_type for s in SAMPLES) == sorted(EVENT_TYPES)


# ---------------------------------------------------------------------------------------------- encode / decode

@pytest.mark.parametrize("event", SAMPLES, ids=sample_id)
def test_encode_then_decode_gives_the_same_event(event):
    event_type, schema_version, data = encode(event)

    assert event_type == type(event).__name__
    assert schema_version == type(event).schema_version
    assert decode(event_type, schema_version, data) == event


@pytest.mark.parametrize("event", SAMPLES, ids=sample_id)
def test_encoded_data_survives_a_json_round_trip(event):
    event_type, schema_version, data = encode(event)

    text = json.dumps(data, ensure_ascii=False)

    assert json.loads(text) == data
    assert decode(event_type, schema_version, json.loads(text)) == event


@pytest.mark.parametrize("event", SAMPLES, ids=sample_id)
def test_encoded_data_holds_exactly_the_event_fields(event):
    _, _, data = encode(event)

    assert set(data) == {f.name for f in dataclasses.fields(event)}
    assert "event_type" not in data and "schema_version" not in data


def test_report_archived_is_written_as_version_2():
    assert encode(e.ReportArchived(reason="spam")) == ("ReportArchived", 2,
                                                       {"reason": "spam", "duplicate_of": None, "note": None})


def test_decode_rejects_an_unknown_type():
    with pytest.raises(UnknownEventType):
        decode("ReportTeleported", 1, {})


def test_decode_rejects_unknown_fields():
    with pytest.raises(ValueError, match="surprise"):
        decode("ReportAssigned", 1, {"unit_id": "dinas-pupr", "surprise": True})


def test_decode_rejects_a_schema_version_newer_than_the_code():
    with pytest.raises(UnknownEventType, match="newer"):
        decode("ReportArchived", 3, {"reason": "spam", "duplicate_of": None, "note": None})
    with pytest.raises(UnknownEventType, match="newer"):
        decode("ReportAssigned", 2, {"unit_id": "dinas-pupr"})


def test_decode_does_not_alter_the_stored_data():
    stored = {"reason": "duplicate:LAP-ABCDEFGHJK"}

    decode("ReportArchived", 1, stored)

    assert stored == {"reason": "duplicate:LAP-ABCDEFGHJK"}


# ---------------------------------------------------------------------------------------------- upcasting

def test_archived_v1_duplicate_reason_is_split_into_reason_and_duplicate_of():
    event = decode("ReportArchived", 1, {"reason": "duplicate:LAP-ABCDEFGHJK"})

    assert event == e.ReportArchived(reason="duplicate", duplicate_of="LAP-ABCDEFGHJK", note=None)


def test_archived_v1_other_reason_has_no_duplicate_of():
    event = decode("ReportArchived", 1, {"reason": "spam"})

    assert event == e.ReportArchived(reason="spam", duplicate_of=None, note=None)


def test_archived_v1_to_v2_upcaster_directly():
    assert archived_v1_to_v2({"reason": "duplicate:LAP-ABCDEFGHJK"}) == {
        "reason": "duplicate", "duplicate_of": "LAP-ABCDEFGHJK", "note": None}
    assert archived_v1_to_v2({"reason": "out_of_scope"}) == {
        "reason": "out_of_scope", "duplicate_of": None, "note": None}
    assert UPCASTERS[("ReportArchived", 1)] is archived_v1_to_v2


def test_a_missing_upcaster_raises_lookup_error():
    with pytest.raises(LookupError, match="no upcaster for ReportAssigned v0"):
        upcast("ReportAssigned", 0, {"unit_id": "dinas-pupr"}, 1)
    with pytest.raises(LookupError, match="no upcaster"):
        decode("ReportVerified", 0, {})


def test_upcasting_to_the_same_version_is_the_identity():
    data = {"unit_id": "dinas-pupr"}

    assert upcast("ReportAssigned", 1, data, 1) == data


def test_a_stored_v1_event_keeps_its_raw_data_and_chain_but_reads_as_v2():
    # Given: an event written by the old code, with its hash over the v1 data.
    fields = {"stream_id": RID, "version": 1, "type": "ReportArchived", "schema_version": 1,
              "data": {"reason": "duplicate:LAP-ABCDEFGHJK"}, "actor": {"role": "admin_nasional", "user_id": "n1"},
              "channel": "web", "occurred_at": "2024-05-02T03:00:00.000Z", "correlation_id": "c1",
              "causation_id": None, "prev_hash": GENESIS}
    stored = StoredEvent.from_dict(fields | {"hash": event_hash(fields)})

    # When / Then: the hash chain still verifies against the raw data, and reading upcasts.
    assert verify_chain(RID, [stored.to_dict()]).valid
    assert stored.data == {"reason": "duplicate:LAP-ABCDEFGHJK"}
    assert stored.event == e.ReportArchived(reason="duplicate", duplicate_of="LAP-ABCDEFGHJK", note=None)


# ---------------------------------------------------------------------------------------------- hash chain

NATIONAL_ACTOR = Actor(role="admin_nasional", user_id="n1")
SAMARINDA_ACTOR = Actor(role="admin_instansi", user_id="i1", institution_id="pemkot-samarinda")
LIAISON_ACTOR = Actor(role="admin_penghubung", user_id="l1", institution_id="pemkot-samarinda", unit_id="dinas-pupr")


def a_stream() -> list[StoredEvent]:
    """Five events written by four commands, each continuing the chain from the previous tail."""
    submitted, verified, assigned, followed = SAMPLES[0], SAMPLES[4], SAMPLES[6], SAMPLES[10]
    stored = chain_events(RID, None, [submitted], actor=Actor(role="public"), channel="web", now=NOW,
                          correlation_id="c1", causation_id="idem-1")
    stored += chain_events(RID, stored[-1], [verified], actor=NATIONAL_ACTOR, channel="web",
                           now=NOW + timedelta(hours=1), correlation_id="c2", causation_id=None)
    stored += chain_events(RID, stored[-1], [assigned], actor=SAMARINDA_ACTOR, channel="web",
                           now=NOW + timedelta(hours=2), correlation_id="c3", causation_id=None)
    stored += chain_events(RID, stored[-1], [followed, SAMPLES[11]], actor=LIAISON_ACTOR, channel="web",
                           now=NOW + timedelta(hours=3), correlation_id="c4", causation_id=None)
    return stored


def records(stream: list[StoredEvent]) -> list[dict]:
    return [copy.deepcopy(s.to_dict()) for s in stream]


def test_chained_events_verify():
    stream = a_stream()

    check = verify_chain(RID, records(stream))

    assert check.valid is True
    assert check.events == 5
    assert check.first_broken_version is None and check.problem is None


def test_first_event_links_to_genesis_and_each_next_to_its_predecessor():
    stream = a_stream()

    assert stream[0].prev_hash == GENESIS == "0" * 64
    assert [s.version for s in stream] == [1, 2, 3, 4, 5]
    for previous, current in zip(stream, stream[1:]):
        assert current.prev_hash == previous.hash
    for stored in stream:
        assert stored.hash == event_hash(stored.to_dict())
        assert len(stored.hash) == 64


def test_events_of_one_command_share_the_envelope_but_not_the_hash():
    stream = a_stream()

    fourth, fifth = stream[3], stream[4]
    assert (fourth.occurred_at, fourth.correlation_id, fourth.actor) == (fifth.occurred_at, fifth.correlation_id,
                                                                        fifth.actor)
    assert fourth.hash != fifth.hash


def test_chain_events_stores_what_encode_writes():
    stream = a_stream()

    for stored, event in zip(stream, [SAMPLES[0], SAMPLES[4], SAMPLES[6], SAMPLES[10], SAMPLES[11]]):
        assert (stored.type, stored.schema_version, stored.data) == encode(event)
        assert stored.event == event
        assert stored.stream_id == RID


def test_altering_the_data_of_an_event_is_detected_at_that_version():
    rows = records(a_stream())
    rows[2]["data"]["unit_id"] = "dinas-kominfo"

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 3)
    assert "hash" in check.problem


@pytest.mark.parametrize("field, value", [
    ("actor", {"role": "admin_nasional", "user_id": "someone-else"}),
    ("occurred_at", "2026-03-01T00:00:00.000Z"),
    ("channel", "sms"),
    ("type", "ReportClosed"),
    ("correlation_id", "forged"),
])
def test_altering_the_envelope_of_an_event_is_detected(field, value):
    rows = records(a_stream())
    rows[1][field] = value

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 2)


def test_altering_an_event_and_recomputing_its_hash_breaks_the_next_link():
    rows = records(a_stream())
    rows[1]["data"]["institution_id"] = "pemprov-kaltim"
    rows[1]["hash"] = event_hash(rows[1])

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 3)
    assert "prev_hash" in check.problem


def test_removing_an_event_is_detected_at_the_missing_version():
    rows = records(a_stream())
    del rows[2]

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 3)
    assert "missing" in check.problem


def test_removing_an_event_and_renumbering_the_rest_is_detected():
    rows = records(a_stream())
    del rows[1]
    for version, row in enumerate(rows, start=1):
        row["version"] = version

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 2)


def test_reordering_events_is_detected():
    rows = records(a_stream())
    rows[1], rows[2] = rows[2], rows[1]

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 2)


def test_reordering_events_and_renumbering_them_is_detected():
    rows = records(a_stream())
    rows[1], rows[2] = rows[2], rows[1]
    rows[1]["version"], rows[2]["version"] = 2, 3

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 2)


def test_changing_a_prev_hash_is_detected():
    rows = records(a_stream())
    rows[3]["prev_hash"] = "f" * 64

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 4)
    assert "prev_hash" in check.problem


def test_a_first_event_not_linked_to_genesis_is_detected():
    rows = records(a_stream())
    rows[0]["prev_hash"] = "a" * 64
    rows[0]["hash"] = event_hash(rows[0])

    check = verify_chain(RID, rows)

    assert (check.valid, check.first_broken_version) == (False, 1)


def test_an_event_of_another_stream_is_detected():
    rows = records(a_stream())

    check = verify_chain("LAP-ABCDEFGHJK", rows)

    assert (check.valid, check.first_broken_version) == (False, 1)


def test_the_personal_data_store_is_outside_the_chain():
    # Erasing a person (UU PDP) leaves events and hashes untouched: nothing personal is hashed.
    stream = a_stream()
    serialized = json.dumps([s.to_dict() for s in stream], ensure_ascii=False)

    assert "ref-0001" in serialized  # only the reference
    assert verify_chain(RID, records(stream)).valid


# ---------------------------------------------------------------------------------------------- personal data

def test_report_submitted_carries_no_personal_data_fields():
    names = {f.name for f in dataclasses.fields(e.ReportSubmitted)}

    assert names.isdisjoint(PERSONAL_FIELDS)
    for forbidden in ("name", "phone", "email", "nik"):
        assert not any(forbidden in n for n in names), (forbidden, names)
    assert "reporter_ref" in names


def test_no_event_type_has_a_personal_data_field():
    for cls in EVENT_TYPES.values():
        names = {f.name for f in dataclasses.fields(cls)}
        assert names.isdisjoint(PERSONAL_FIELDS), cls.__name__
        for forbidden in ("phone", "email", "nik"):
            assert not any(forbidden in n for n in names), (cls.__name__, names)


def test_the_actor_envelope_has_no_personal_data_either():
    names = {f.name for f in dataclasses.fields(Actor)}

    assert names == {"role", "user_id", "institution_id", "unit_id"}
    assert Actor(role="reporter").to_dict() == {"role": "reporter"}
