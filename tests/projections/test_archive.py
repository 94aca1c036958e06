"""The event archive (DESIGN §3 durability): every event exactly once outside DynamoDB, readable back,
restorable into an empty store, verifiable offline.

FileArchive is the local JSON-lines archive `lapor serve` replays at start; S3Archive is the same consumer
in AWS, one create-only object per event (moto 5.2.5 honours `If-None-Match: *` on PutObject, answering
412 PreconditionFailed to a second write of the same key, so the redelivery path is exercised for real).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.auth import hash_token
from chalicelib.domain import commands as c
from chalicelib.services.operations import export, restore, verify_log
from chalicelib.store.base import chain_events
from chalicelib.store.memory import InMemoryEventStore
from events import report as e
from events.base import StoredEvent
from events.chain import ChainVerifier, canonical_json, event_hash
from projections.archive import FileArchive, S3Archive, read_archive
from projections.guard import OutOfOrder
from tests.support.builders import verify_command
from tests.support.principals import NASIONAL, PUBLIC, SAMARINDA, reporter
from tests.support.settings import FakeClock
from tests.support.stories import Desk, deterministic_handler

UTC = timezone.utc
BUCKET = "lapor-test-archive"


# ------------------------------------------------------------------------------------------------ histories

def three_reports() -> tuple[list[str], InMemoryEventStore]:
    """Three reports through the real command handler, interleaved: closed, archived, in progress."""
    store = InMemoryEventStore()
    desk = Desk(deterministic_handler(store, ids="LAP-ARSIP{:05d}"), FakeClock(), step=timedelta(hours=3),
                correlation="arsip-{}")
    r1, r2, r3 = desk.submit(), desk.submit(title="Promo pinjol"), desk.submit(category_id="infrastruktur.drainase")
    desk.run(r1, verify_command(NASIONAL, "pemkot-samarinda"))
    desk.run(r2, c.ArchiveReport(principal=NASIONAL, reason="spam", duplicate_of=None, note=None))
    desk.run(r3, verify_command(NASIONAL, "pemkot-samarinda"))
    desk.run(r1, c.PostFollowUp(principal=SAMARINDA, message="Sudah ditambal.", final=True))
    desk.run(r3, c.PostFollowUp(principal=SAMARINDA, message="Dijadwalkan.", final=False))
    desk.run(r1, c.AcceptResolution(principal=desk.reporter(r1), rating=4, comment=None))
    return [r1, r2, r3], store


def all_events(store: InMemoryEventStore) -> list[StoredEvent]:
    return list(store.read_days("2015-01-01", "2030-12-31"))


@pytest.fixture
def history() -> tuple[list[str], list[StoredEvent]]:
    report_ids, store = three_reports()
    events = all_events(store)
    assert len(events) == 10
    return report_ids, events


def long_stream(length: int = 105) -> list[StoredEvent]:
    """One report with more events than one DynamoDB transaction may hold (100)."""
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    submitted = e.ReportSubmitted(title="Antrean KTP-el", body="Antrean sejak subuh setiap hari.",
                                  report_type="complaint", category_id="administrasi-kependudukan.ktp-el",
                                  region_code="64.72", addressed_institution_id=None, anonymous=False,
                                  confidential=False, reporter_ref=None, access_token_hash=hash_token("rpt_long"),
                                  location=None, verification_due="2026-03-05T10:00:00.000Z")
    events = chain_events("LAP-PANJANG001", None, [submitted], actor=PUBLIC.actor(), channel="web", now=at,
                          correlation_id="long-1", causation_id=None)
    for n in range(2, length + 1):
        events += chain_events("LAP-PANJANG001", events[-1], [e.ReporterReplied(message=f"Tambahan ke-{n}.")],
                               actor=reporter("rpt_long").actor(), channel="web",
                               now=at + timedelta(minutes=n), correlation_id=f"long-{n}", causation_id=None)
    return events


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------------ FileArchive

def test_the_file_archive_keeps_each_event_exactly_once_under_redelivery(tmp_path, history):
    _, events = history
    archive = FileArchive(tmp_path / "archive.jsonl")

    first = [archive.project(stored) for stored in events]
    again = [archive.project(stored) for stored in events]  # the stream redelivers everything
    halves = [archive.project(stored) for stored in events[3:7]]

    assert first == [True] * len(events)
    assert again == [False] * len(events) and halves == [False] * 4
    assert lines(tmp_path / "archive.jsonl") == [stored.to_dict() for stored in events]
    assert archive.handles(events[0])


def test_each_archived_line_is_the_events_canonical_json(tmp_path, history):
    _, events = history
    path = tmp_path / "archive.jsonl"
    archive = FileArchive(path)
    for stored in events:
        archive.project(stored)

    assert path.read_text(encoding="utf-8").splitlines() == [canonical_json(s.to_dict()) for s in events]


def test_the_file_archive_remembers_what_it_holds_after_reopening(tmp_path, history):
    (r1, r2, r3), events = history
    path = tmp_path / "archive.jsonl"
    first_half, second_half = events[:5], events[5:]
    archive = FileArchive(path)
    for stored in first_half:
        assert archive.project(stored) is True

    reopened = FileArchive(path)  # a restart: the index is rebuilt from the file

    assert [reopened.project(stored) for stored in first_half] == [False] * len(first_half)
    assert [reopened.project(stored) for stored in second_half] == [True] * len(second_half)
    assert [(line["stream_id"], line["version"]) for line in lines(path)] == [
        (stored.stream_id, stored.version) for stored in events]
    ahead = next(stored for stored in events if stored.stream_id == r1 and stored.version == 3)
    assert FileArchive(path).project(ahead) is False


def test_the_file_archive_refuses_an_event_ahead_of_its_predecessor(tmp_path, history):
    (r1, _, _), events = history
    path = tmp_path / "archive.jsonl"
    archive = FileArchive(path)
    v1, v2, v3 = [stored for stored in events if stored.stream_id == r1][:3]
    assert archive.project(v1) is True

    with pytest.raises(OutOfOrder):
        archive.project(v3)

    assert [line["version"] for line in lines(path)] == [1]
    assert archive.project(v2) is True and archive.project(v3) is True
    assert [line["version"] for line in lines(path)] == [1, 2, 3]


def test_reading_an_archive_ignores_a_torn_last_line(tmp_path, history):
    _, events = history
    path = tmp_path / "archive.jsonl"
    archive = FileArchive(path)
    for stored in events[:4]:
        archive.project(stored)
    torn = canonical_json(events[4].to_dict())[:57]  # the process died mid-write
    with path.open("a", encoding="utf-8") as out:
        out.write(torn)

    assert list(read_archive(path)) == events[:4]
    reopened = FileArchive(path)
    assert [reopened.project(stored) for stored in events[:4]] == [False] * 4


def test_the_event_that_was_torn_is_archived_again_after_a_restart(tmp_path, history):
    _, events = history
    path = tmp_path / "archive.jsonl"
    archive = FileArchive(path)
    for stored in events[:4]:
        archive.project(stored)
    with path.open("a", encoding="utf-8") as out:
        out.write(canonical_json(events[4].to_dict())[:57])

    reopened = FileArchive(path)  # `lapor serve` restarts; the stream redelivers from the torn event on
    for stored in events[4:]:
        reopened.project(stored)

    assert list(read_archive(path)) == events


def test_reading_an_archive_refuses_a_corrupt_line_in_the_middle(tmp_path, history):
    _, events = history
    path = tmp_path / "archive.jsonl"
    good = [canonical_json(stored.to_dict()) for stored in events]
    path.write_text("\n".join(good[:3] + ['{"stream_id": "LAP-ARSIP00001", "ver'] + good[3:]) + "\n",
                    encoding="utf-8")

    with pytest.raises(ValueError, match=r"archive.jsonl:4 is not valid JSON"):
        list(read_archive(path))
    with pytest.raises(ValueError):
        FileArchive(path)  # `lapor serve` refuses to start on a damaged archive rather than lose events


def test_an_archive_that_does_not_exist_yet_reads_as_empty(tmp_path):
    assert list(read_archive(tmp_path / "none.jsonl")) == []
    assert FileArchive(tmp_path / "none.jsonl").project is not None


# ------------------------------------------------------------------------------------------------ S3Archive

@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="ap-southeast-3")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
        yield client


def objects(s3) -> dict[str, dict[str, Any]]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {item["Key"]: json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())
            for item in listed}


def test_moto_honours_if_none_match_on_put_object(s3):
    s3.put_object(Bucket=BUCKET, Key="probe", Body=b"first", IfNoneMatch="*")
    with pytest.raises(s3.exceptions.ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="probe", Body=b"second", IfNoneMatch="*")

    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket=BUCKET, Key="probe")["Body"].read() == b"first"


def test_the_s3_archive_writes_one_object_per_event_and_refuses_a_redelivery(s3, history):
    _, events = history
    archive = S3Archive(BUCKET, s3)

    assert [archive.project(stored) for stored in events] == [True] * len(events)
    assert [archive.project(stored) for stored in events] == [False] * len(events)

    stored_objects = objects(s3)
    assert len(stored_objects) == len(events)
    for stored in events:
        key = f"events/{stored.day}/{stored.stream_id}/{stored.version:010d}.json"
        assert stored_objects[key] == stored.to_dict()
        assert StoredEvent.from_dict(stored_objects[key]) == stored


def test_a_redelivery_never_overwrites_the_archived_object(s3, history):
    _, events = history
    archive = S3Archive(BUCKET, s3)
    archive.project(events[0])
    key = f"events/{events[0].day}/{events[0].stream_id}/{events[0].version:010d}.json"
    original = s3.get_object(Bucket=BUCKET, Key=key)["ETag"]
    forged = StoredEvent.from_dict(events[0].to_dict() | {"channel": "sms"})

    assert archive.project(forged) is False
    assert s3.get_object(Bucket=BUCKET, Key=key)["ETag"] == original
    assert objects(s3)[key]["channel"] == "web"


def test_the_s3_archive_passes_on_errors_other_than_already_archived(history):
    _, events = history
    with mock_aws():
        client = boto3.client("s3", region_name="ap-southeast-3")  # the bucket was never made
        with pytest.raises(client.exceptions.ClientError) as failed:
            S3Archive("lapor-missing-bucket", client).project(events[0])
    assert failed.value.response["Error"]["Code"] == "NoSuchBucket"


# ------------------------------------------------------------------------------------------------ restore

def archived(tmp_path: Path, events: list[StoredEvent]) -> Path:
    """The archive as the live projector leaves it: with redeliveries along the way."""
    path = tmp_path / "archive.jsonl"
    archive = FileArchive(path)
    for n, stored in enumerate(events):
        archive.project(stored)
        if n % 3 == 0:
            archive.project(events[max(0, n - 2)])
    return path


def test_restoring_an_archive_into_empty_stores_gives_back_every_report(tmp_path, history, services):
    report_ids, events = history
    events = events + long_stream()
    report_ids = report_ids + ["LAP-PANJANG001"]
    path = archived(tmp_path, events)
    in_memory = InMemoryEventStore()

    assert restore(in_memory, read_archive(path)) == (4, len(events))
    assert restore(services.store, read_archive(path)) == (4, len(events))

    for report_id in report_ids:
        original = [stored for stored in events if stored.stream_id == report_id]
        assert in_memory.load(report_id) == original, report_id
        assert services.store.load(report_id) == original, report_id
    restored_log = list(services.store.read_days("2026-03-01", "2026-03-04"))
    assert sorted(restored_log, key=lambda s: (s.stream_id, s.version)) == sorted(
        events, key=lambda s: (s.stream_id, s.version))
    for store_log in (all_events(in_memory), restored_log):
        verifier = verify_log(store_log)
        assert verifier.broken == {} and verifier.streams == 4 and verifier.events == len(events)


def test_restoring_into_a_store_that_already_holds_the_reports_is_refused(history):
    from chalicelib.errors import ConcurrencyConflict

    _, events = history
    store = InMemoryEventStore()
    restore(store, events)
    with pytest.raises(ConcurrencyConflict):
        restore(store, events)


# ------------------------------------------------------------------------------------------------ verify, export

def exported(tmp_path: Path, events: list[StoredEvent]) -> Path:
    path = tmp_path / "export.jsonl"
    assert export(events, path) == len(events)
    return path


def verify_file(path: Path) -> ChainVerifier:
    verifier = ChainVerifier()
    for line in path.read_text(encoding="utf-8").splitlines():
        verifier.feed(json.loads(line))
    return verifier


def rewrite(path: Path, change) -> None:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records = change(records)
    path.write_text("".join(canonical_json(record) + "\n" for record in records), encoding="utf-8")


def test_an_export_reads_back_as_the_same_events(tmp_path, history):
    _, events = history
    path = exported(tmp_path, events)

    assert list(read_archive(path)) == events
    assert [StoredEvent.from_dict(raw) for raw in lines(path)] == events
    verifier = verify_file(path)
    assert (verifier.broken, verifier.streams, verifier.events) == ({}, 3, 10)


def test_the_verifier_names_an_event_whose_content_was_altered(tmp_path, history):
    (r1, r2, r3), events = history
    path = exported(tmp_path, events)

    def soften_the_archive_reason(records):
        for record in records:
            if record["stream_id"] == r2 and record["version"] == 2:
                record["data"]["reason"] = "duplicate"
        return records

    rewrite(path, soften_the_archive_reason)
    verifier = verify_file(path)

    assert set(verifier.broken) == {r2}
    assert verifier.broken[r2].first_broken_version == 2
    assert verifier.broken[r2].problem == "content does not match its hash"


def test_the_verifier_notices_a_rehashed_forgery_by_the_broken_link_to_the_next_event(tmp_path, history):
    (r1, _, _), events = history
    path = exported(tmp_path, events)

    def forge_and_rehash(records):
        for record in records:
            if record["stream_id"] == r1 and record["version"] == 2:
                record["data"]["institution_id"] = "pemprov-kaltim"
                record["hash"] = event_hash(record)
        return records

    rewrite(path, forge_and_rehash)
    verifier = verify_file(path)

    assert set(verifier.broken) == {r1}
    assert verifier.broken[r1].first_broken_version == 3
    assert verifier.broken[r1].problem == "prev_hash does not link to the previous event"


def test_the_verifier_notices_a_removed_event(tmp_path, history):
    (r1, r2, r3), events = history
    path = exported(tmp_path, events)

    rewrite(path, lambda records: [r for r in records if not (r["stream_id"] == r3 and r["version"] == 2)])
    verifier = verify_file(path)

    assert set(verifier.broken) == {r3}
    assert verifier.broken[r3].first_broken_version == 2
    assert verifier.broken[r3].problem == "version 2 is missing (found 3)"


def test_the_verifier_notices_a_stream_whose_first_event_is_gone(tmp_path, history):
    (r1, r2, r3), events = history
    path = exported(tmp_path, events)

    rewrite(path, lambda records: [r for r in records if not (r["stream_id"] == r2 and r["version"] == 1)])
    verifier = verify_file(path)

    assert set(verifier.broken) == {r2}
    assert verifier.broken[r2].problem == "version 1 is missing (found 2)"
