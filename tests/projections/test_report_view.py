"""The report view: pure `apply`, then the stream path under real delivery semantics on moto.

DynamoDB Streams deliver at least once, redeliver everything after a failed record, and keep order only
within one report. Each delivery below — clean, every batch twice, a failure half-way, other interleavings
across reports — must leave exactly the same views. Worlds are separate table prefixes inside one `aws`
mock; ids, salts and the clock are deterministic, so two worlds given the same commands write the same events.
"""
from __future__ import annotations

import copy
import itertools
import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

import app as app_module
from chalicelib.bootstrap import Services, build_services, use_services
from chalicelib.domain import commands as c
from chalicelib.domain.report import OPEN_STATUSES, replay
from infra.local.pump import StreamPump
from chalicelib.services import handlers
from chalicelib.store.memory import InMemoryEventStore
from events.base import StoredEvent
from infra.tables import create_tables
from projections import report_view
from projections.guard import OutOfOrder
from projections.report_view import BUCKETS, ReportViews, apply
from projections.stream import decode_record
from tests.support.builders import verify_command
from tests.support.principals import BALIKPAPAN, NASIONAL, PUPR_SAMARINDA, SAMARINDA
from tests.support.settings import FakeClock, test_settings
from tests.support.stories import Desk, deterministic_handler

# ------------------------------------------------------------------------------------------------ the script

class Script(Desk):
    """Commands for three reports, interleaved, through the real command handler, 7 minutes apart."""

    def three_reports(self) -> list[str]:
        r1 = self.submit({"name": "Siti Rahmawati", "phone": "+6281234567890", "email": None, "nik": None})
        r2 = self.submit(title="Drainase tersumbat", body="Saluran di Jl. MT Haryono meluap tiap hujan.",
                         category_id="infrastruktur.drainase", region_code="64.71", channel="app",
                         addressed_institution_id="pemkot-balikpapan")
        r3 = self.submit(title="KTP-el belum jadi", body="Sudah tiga bulan KTP-el saya belum dicetak.",
                         report_type="information_request", category_id="administrasi-kependudukan.ktp-el",
                         anonymous=True, location=None)
        self.run(r1, verify_command(NASIONAL, "pemkot-samarinda"))
        self.run(r2, c.HoldReport(principal=BALIKPAPAN, question="Mohon sebutkan RT/RW lokasi saluran."))
        self.run(r3, verify_command(NASIONAL, "pemkot-balikpapan"))
        self.run(r1, c.AssignReport(principal=SAMARINDA, unit_id="dinas-pupr"))
        self.run(r2, c.ReplyToReport(principal=self.reporter(r2), message="RT 12 RW 03, Kel. Gunung Sari."))
        self.run(r3, c.ReturnReport(principal=BALIKPAPAN, reason="Pemohon berdomisili di Samarinda."))
        self.run(r1, c.PostFollowUp(principal=PUPR_SAMARINDA, message="Lokasi sudah ditinjau.", final=False))
        self.run(r2, verify_command(BALIKPAPAN, "pemkot-balikpapan"))
        self.run(r3, c.RedisposeReport(principal=NASIONAL, institution_id="pemkot-samarinda"))
        self.run(r1, c.PostFollowUp(principal=PUPR_SAMARINDA, message="Lubang sudah ditambal.", final=True))
        self.run(r2, c.PostFollowUp(principal=BALIKPAPAN, message="Normalisasi saluran dijadwalkan.", final=False))
        self.run(r1, c.AcceptResolution(principal=self.reporter(r1), rating=5, comment="Terima kasih."))
        self.run(r3, c.PostFollowUp(principal=SAMARINDA, message="KTP-el dapat diambil di Disdukcapil.",
                                    final=True))
        self.run(r3, c.ObjectToResolution(principal=self.reporter(r3), reason="Blangko masih kosong."))
        self.run(r2, c.ReplyToReport(principal=self.reporter(r2), message="Terima kasih atas tindak lanjutnya."))
        return [r1, r2, r3]


@pytest.fixture(autouse=True)
def deterministic_salts(monkeypatch):
    """Access-token salts are random in production; here each world draws the same sequence."""
    counter = {"n": 0}

    def next_salt() -> str:
        counter["n"] += 1
        return f"{counter['n']:032x}"

    monkeypatch.setattr(handlers, "new_salt", next_salt)
    return counter


# ------------------------------------------------------------------------------------------------ worlds

@dataclass
class World:
    """A full set of tables under its own prefix, services wired to them and installed for the projector."""

    prefix: str
    services: Services
    clock: FakeClock
    report_ids: list[str] = field(default_factory=list)

    @property
    def events_table(self) -> str:
        return self.services.settings.table_names["events"]

    def install(self) -> None:
        use_services(self.services)

    def run_script(self) -> list[str]:
        self.report_ids = Script(self.services.commands, self.clock).three_reports()
        return self.report_ids

    def pump(self, deliver: Callable[[dict[str, Any]], Any] | None = None, **options: Any) -> StreamPump:
        return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"), self.events_table,
                          deliver=deliver or project, **({"backoff": lambda attempt: 0.0} | options))

    def views(self, report_ids: Iterable[str] | None = None) -> dict[str, Any]:
        return {report_id: self.services.views.get(report_id, consistent=True)
                for report_id in (report_ids or self.report_ids)}


@pytest.fixture
def new_world(aws, deterministic_salts):
    """Make worlds on demand; each starts from the same clock, id and salt sequences."""
    counter = itertools.count(1)

    def make() -> World:
        prefix = f"w{next(counter)}"
        create_tables(boto3.client("dynamodb"), prefix)
        deterministic_salts["n"] = 0
        clock = FakeClock()
        services = build_services(test_settings(table_prefix=prefix), clock=clock)
        services.commands = deterministic_handler(services.store)
        world = World(prefix, services, clock)
        world.install()
        return world

    yield make
    use_services(None)


def project(event: dict[str, Any]) -> dict[str, Any]:
    """The deployed Lambda entry point, as the stream mapping calls it."""
    return app_module.project_events(event, None)


def capture_batches(world: World, batch_size: int = 100) -> list[dict[str, Any]]:
    """The Lambda-shaped batches the event-source mapping would deliver, read once from the stream."""
    batches: list[dict[str, Any]] = []
    world.pump(deliver=lambda event: batches.append(copy.deepcopy(event)), batch_size=batch_size).drain()
    return batches


def records_of(batches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [record for batch in batches for record in batch["Records"]]


def key(record: dict[str, Any]) -> tuple[str, int]:
    image = record["dynamodb"]["NewImage"]
    return image["stream_id"]["S"], int(image["version"]["N"])


def failures(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


@pytest.fixture
def reference_views(new_world) -> dict[str, Any]:
    """(a) The clean delivery: the script's events through the pump once."""
    world = new_world()
    world.run_script()
    assert world.pump().drain() == 20
    return world.views()


# ------------------------------------------------------------------------------------------------ pure apply

def history_in_memory() -> tuple[list[str], InMemoryEventStore]:
    store = InMemoryEventStore()
    report_ids = Script(deterministic_handler(store), FakeClock()).three_reports()
    return report_ids, store


def fold(events: Iterable[StoredEvent]) -> dict[str, Any] | None:
    view = None
    for event in events:
        view = apply(view, event)
    return view


def views_along(history: Iterable[StoredEvent]) -> list[dict[str, Any]]:
    views, view = [], None
    for event in history:
        view = apply(view, event)
        views.append(view)
    return views


def test_apply_builds_the_view_of_a_report_from_its_whole_history():
    (r1, r2, r3), store = history_in_memory()

    closed = fold(store.load(r1))
    assert closed["report_id"] == r1 and closed["version"] == 7
    assert (closed["status"], closed["bucket"]) == ("closed", "selesai")
    assert closed["closed"]["reason"] == "accepted" and closed["rating"]["rating"] == 5
    assert closed["institution_id"] == "pemkot-samarinda" and closed["unit_id"] == "dinas-pupr"
    assert [(f["message"], f["final"]) for f in closed["follow_ups"]] == [
        ("Lokasi sudah ditinjau.", False), ("Lubang sudah ditambal.", True)]
    assert closed["follow_ups"][0]["by"] == {"role": "admin_penghubung", "user_id": "pupr-01",
                                             "institution_id": "pemkot-samarinda", "unit_id": "dinas-pupr"}
    assert closed["first_response_at"] == closed["follow_ups"][0]["at"]
    assert set(closed["deadlines"]) == {"verification", "follow_up", "resolution", "reply"}
    assert closed["reporter_ref"] == "RPT-" + "0" * 23 + "1"
    assert "Siti" not in json.dumps(closed)  # the identity stays in the personal-data table

    in_progress = fold(store.load(r2))
    assert (in_progress["status"], in_progress["bucket"]) == ("in_progress", "proses")
    assert [reply["clarification"] for reply in in_progress["replies"]] == [True, False]
    assert in_progress["hold"]["question"] == "Mohon sebutkan RT/RW lokasi saluran."
    assert in_progress["channel"] == "app"

    reopened = fold(store.load(r3))
    assert (reopened["status"], reopened["bucket"]) == ("in_progress", "proses")
    assert reopened["anonymous"] is True and reopened["institution_id"] == "pemkot-samarinda"
    assert reopened["returns"][0]["institution_id"] == "pemkot-balikpapan"
    assert reopened["objections"] == [{"at": reopened["updated_at"], "reason": "Blangko masih kosong."}]
    assert "reply" not in reopened["deadlines"]  # reopening cancels the reply window


def test_apply_agrees_with_the_aggregate_after_every_event():
    report_ids, store = history_in_memory()
    for report_id in report_ids:
        history = store.load(report_id)
        view = None
        for n, event in enumerate(history, start=1):
            view = apply(view, event)
            state = replay(report_id, history[:n])
            assert (view["status"], view["version"]) == (state.status, state.version), (report_id, n)
            assert view["institution_id"] == state.institution_id and view["unit_id"] == state.unit_id


def test_apply_never_mutates_the_view_it_is_given():
    (r1, _, _), store = history_in_memory()
    history = store.load(r1)
    view = None
    for event in history:
        before = copy.deepcopy(view)
        after = apply(view, event)
        assert view == before
        assert after is not view
        if view is not None:
            # Nothing nested is shared either: changing the new view leaves the old one alone.
            after["follow_ups"].append({"poke": True})
            after["deadlines"]["poke"] = True
            assert view == before
            after["follow_ups"].pop()
            del after["deadlines"]["poke"]
        view = after


def test_every_status_maps_to_one_bucket():
    assert {status: BUCKETS[status] for status in OPEN_STATUSES + ("closed", "archived")} == {
        "submitted": "belum", "on_hold": "belum", "disposed": "belum", "assigned": "belum", "returned": "belum",
        "in_progress": "proses", "answered": "proses", "closed": "selesai", "archived": "arsip"}


def test_the_bucket_follows_the_status_through_a_history():
    store = InMemoryEventStore()
    script = Script(deterministic_handler(store), FakeClock())
    spam = script.submit(title="Promo pinjol", body="Klik tautan ini untuk pinjaman cepat.")
    script.run(spam, c.ArchiveReport(principal=NASIONAL, reason="spam", duplicate_of=None, note=None))
    (r1, r2, r3) = (script.submit(), script.submit(), script.submit())
    script.run(r1, verify_command(NASIONAL, "pemkot-samarinda"))
    script.run(r1, c.PostFollowUp(principal=SAMARINDA, message="Selesai.", final=True))

    buckets = {report_id: [view["bucket"] for view in views_along(store.load(report_id))]
               for report_id in (spam, r1, r2)}
    assert buckets == {spam: ["belum", "arsip"], r1: ["belum", "belum", "proses"], r2: ["belum"]}
    assert fold(store.load(spam))["archived"]["reason"] == "spam"


# ------------------------------------------------------------------------------------------------ the stream path

def test_a_clean_delivery_projects_every_report(reference_views):
    r1, r2, r3 = reference_views
    assert [view["version"] for view in reference_views.values()] == [7, 6, 7]
    assert [view["status"] for view in reference_views.values()] == ["closed", "in_progress", "in_progress"]
    assert all(view["report_id"] == report_id for report_id, view in reference_views.items())


def test_the_same_commands_in_a_fresh_world_write_the_same_events(new_world):
    first = new_world()
    first.run_script()
    second = new_world()
    second.run_script()

    assert second.report_ids == first.report_ids
    for report_id in first.report_ids:
        assert second.services.store.load(report_id) == first.services.store.load(report_id)


def test_delivering_every_batch_twice_changes_nothing(new_world, reference_views):
    world = new_world()
    world.run_script()
    responses = []

    def twice(event: dict[str, Any]) -> dict[str, Any]:
        responses.append(project(copy.deepcopy(event)))
        responses.append(project(event))
        return responses[-1]

    world.pump(deliver=twice, batch_size=4).drain()

    assert len(responses) == 2 * 5  # 20 records in batches of 4
    assert all(failures(response) == [] for response in responses)
    assert world.views() == reference_views


def test_a_failure_half_way_through_a_batch_is_retried_from_that_record(new_world, reference_views, monkeypatch):
    world = new_world()
    r1, r2, r3 = world.run_script()
    original = report_view.apply
    applied: list[tuple[str, int]] = []
    attempts: dict[tuple[str, int], int] = {}

    def flaky(view: Any, stored: StoredEvent) -> dict[str, Any]:
        attempt = attempts[stored.stream_id, stored.version] = attempts.get((stored.stream_id, stored.version), 0) + 1
        if (stored.stream_id, stored.version) == (r2, 3) and attempt == 1:
            raise ConnectionError("could not apply v3 this time")
        folded = original(view, stored)
        applied.append((stored.stream_id, stored.version))
        return folded

    monkeypatch.setattr(report_view, "apply", flaky)
    deliveries: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        response = project(event)
        deliveries.append((event["Records"], response))
        return response

    pump = world.pump(deliver=deliver)
    pump.drain()

    (first, first_response), (second, second_response) = deliveries
    failed_at = next(i for i, record in enumerate(first) if key(record) == (r2, 3))
    assert 0 < failed_at < len(first) - 1  # half-way, not at either end
    # v3 failed; r2's v1-v2 were written (one write), v4.. wait behind v3; other reports went through.
    assert failures(first_response)[0] == first[failed_at]["dynamodb"]["SequenceNumber"]
    assert {key(record) for record in first if record["dynamodb"]["SequenceNumber"] in failures(first_response)} \
        == {k for k in map(key, first[failed_at:]) if k[0] == r2}
    # Lambda's rule: redeliver from the lowest failed sequence number, everything after it included.
    assert [r["dynamodb"]["SequenceNumber"] for r in second] == [r["dynamodb"]["SequenceNumber"]
                                                                 for r in first[failed_at:]]
    assert failures(second_response) == []
    assert pump.set_aside == []
    # Every event applied exactly once, although many were delivered twice.
    assert sorted(applied) == sorted(map(key, first))
    assert world.views() == reference_views


def interleavings(records: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """A random merge of the per-report sequences: each report's order kept, the order across reports not."""
    per_report: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        per_report.setdefault(key(record)[0], []).append(record)
    rng, queues, merged = random.Random(seed), [list(q) for q in per_report.values()], []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        merged.append(queue.pop(0))
    return merged


def deliver_in_batches(records: list[dict[str, Any]], seed: int) -> None:
    rng, position = random.Random(seed), 0
    while position < len(records):
        size = rng.randint(1, 6)
        response = project({"Records": records[position:position + size]})
        assert failures(response) == []
        position += size


def test_any_interleaving_across_reports_gives_the_same_views(new_world, reference_views):
    source = new_world()
    source.run_script()
    records = records_of(capture_batches(source))
    by_report = sorted(records, key=lambda record: key(record))  # report after report
    orders = {"reports one after another": by_report,
              "reports in reverse": sorted(records, key=lambda record: (-source.report_ids.index(key(record)[0]),
                                                                        key(record)[1])),
              **{f"random merge {seed}": interleavings(records, seed) for seed in range(2)}}
    assert len({tuple(map(key, order)) for order in orders.values()}) == len(orders)

    for name, order in orders.items():
        projection_world = new_world()  # fresh, empty report_views table
        deliver_in_batches(order, seed=len(name))
        assert projection_world.views(source.report_ids) == reference_views, name


def test_an_event_ahead_of_its_predecessor_is_refused_then_applied_once_it_arrives(new_world):
    world = new_world()
    world.run_script()
    r1 = world.report_ids[0]
    records = records_of(capture_batches(world))
    v1, v2, v3 = [record for record in records if key(record)[0] == r1][:3]
    other = next(record for record in records if key(record) == (world.report_ids[1], 1))

    assert failures(project({"Records": [v1]})) == []
    # Alone in its batch, v3 fails the whole invocation (Lambda retries the batch); beside an event of
    # another report, it fails alone.
    with pytest.raises(BatchProcessingError):
        project({"Records": [v3]})
    assert failures(project({"Records": [v3, other]})) == [v3["dynamodb"]["SequenceNumber"]]
    assert world.services.views.get(r1, consistent=True)["version"] == 1
    assert world.services.views.get(key(other)[0], consistent=True)["version"] == 1
    with pytest.raises(OutOfOrder):
        world.services.views.project(decode_record(v3))

    assert failures(project({"Records": [v2, v3]})) == []

    expected = fold(decode_record(record) for record in (v1, v2, v3))
    assert world.services.views.get(r1, consistent=True) == expected
    assert expected["status"] == "assigned"


def test_modify_and_remove_records_are_ignored(new_world):
    world = new_world()
    world.run_script()
    pump = world.pump()
    pump.drain()
    r1 = world.report_ids[0]
    before = world.views()
    ddb = boto3.client("dynamodb")
    # The IAM policy forbids these writes in AWS; if one happened anyway, the projection must not follow it.
    ddb.update_item(TableName=world.events_table, Key={"stream_id": {"S": r1}, "version": {"N": "2"}},
                    UpdateExpression="SET #d = :d", ExpressionAttributeNames={"#d": "data"},
                    ExpressionAttributeValues={":d": {"S": "{}"}})
    ddb.delete_item(TableName=world.events_table, Key={"stream_id": {"S": r1}, "version": {"N": "7"}})
    seen: list[str] = []

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        seen.extend(record["eventName"] for record in event["Records"])
        return project(event)

    assert pump.drain() == 2  # the live pump moves on past the two change records
    replaying = world.pump(deliver=deliver)  # a second one, from the trim horizon, shows what they were
    assert replaying.drain() == 22

    assert seen == ["INSERT"] * 20 + ["MODIFY", "REMOVE"]
    assert pump.set_aside == [] and replaying.set_aside == []
    assert world.views() == before


def test_a_poison_record_is_set_aside_after_max_attempts_and_the_pump_keeps_going(new_world, reference_views,
                                                                                 monkeypatch):
    world = new_world()
    r1, r2, r3 = world.run_script()
    original = report_view.apply
    poison_deliveries = []

    def poisoned(view: Any, stored: StoredEvent) -> dict[str, Any]:
        if (stored.stream_id, stored.version) == (r2, 2):
            poison_deliveries.append(stored.version)
            raise ValueError("cannot apply this event")
        return original(view, stored)

    monkeypatch.setattr(report_view, "apply", poisoned)
    pump = world.pump(max_retries=2, batch_size=10)  # 1 delivery + 2 retries
    pump.drain()

    assert len(poison_deliveries) == 3
    assert key(pump.set_aside[0]) == (r2, 2)
    # Later events of the poisoned report cannot apply without v2: they follow it into the failure queue.
    assert [key(record) for record in pump.set_aside] == [(r2, version) for version in range(2, 7)]
    views = world.views()
    assert views[r1] == reference_views[r1] and views[r3] == reference_views[r3]
    assert views[r2]["version"] == 1 and views[r2]["status"] == "submitted"


@pytest.mark.parametrize("racing_from", [0, 1], ids=["first event", "later event"])
def test_a_slower_concurrent_delivery_never_rolls_a_view_back(new_world, monkeypatch, racing_from):
    """Two deliveries of one report overlap (a retry racing a redelivery, or a rebuild beside the live
    mapping): the slow one read the view before the fast one moved it on; its write must lose."""
    world = new_world()
    r1 = world.run_script()[0]
    events = world.services.store.load(r1)
    fast = world.services.views
    slow = copy.copy(fast)  # a second instance on the same table, as a second Lambda would hold
    for event in events[:racing_from]:
        fast.project(event)
    original_get, raced = ReportViews.get, []

    def read_then_lose_the_race(self, report_id, *, consistent=False):
        seen = original_get(self, report_id, consistent=consistent)
        if self is slow and not raced:
            raced.append(True)
            for event in events[racing_from:racing_from + 3]:
                assert fast.project(event) is True
        return seen

    monkeypatch.setattr(ReportViews, "get", read_then_lose_the_race)

    assert slow.project(events[racing_from]) is False

    assert raced
    view = fast.get(r1, consistent=True)
    assert view == fold(events[:racing_from + 3])
