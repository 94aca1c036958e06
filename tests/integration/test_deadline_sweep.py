"""The deadline sweep through moto (DOMAIN §7): the due-date index, the event log, concurrency, and cost.

Reports are submitted through the real API; the stream pump projects them into the due-date index; the
sweep reads the index and appends system events. The event log is the judge: whatever the sweeps do,
each reminder, escalation, reprimand and closure is in it exactly once.

Cost: every botocore request is counted by a `before-send` handler registered in
`botocore.handlers.BUILTIN_HANDLERS` at import (before any client of these tests exists; the same hook the
benchmark uses, tests/bench/__main__.py), so pynamodb's private sessions are counted as well as boto3's.
"""
from __future__ import annotations

import functools
import json
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import botocore.handlers

UTC = timezone.utc


class _RequestCounter:
    """Counts (service, operation) of every request botocore sends while armed, across all threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter = Counter()

    def __call__(self, event_name: str = "", **_: object) -> None:
        _, _, rest = event_name.partition(".")
        service, _, operation = rest.partition(".")
        with self._lock:
            self.counts[(service, operation)] += 1
        return None  # let the request go out (to moto)

    @contextmanager
    def measure(self):
        seen: Counter = Counter()
        with self._lock:
            before = Counter(self.counts)
        try:
            yield seen
        finally:
            with self._lock:
                seen.update(self.counts - before)


COUNTER = _RequestCounter()
botocore.handlers.BUILTIN_HANDLERS.append(("before-send", COUNTER))

import boto3  # noqa: E402
import pytest  # noqa: E402
from chalice.test import Client  # noqa: E402

from chalicelib.bootstrap import Services, build_services, use_services  # noqa: E402
from chalicelib.clock import iso  # noqa: E402
from chalicelib.domain.report import ReportState, state_to_json  # noqa: E402
from chalicelib.errors import ConcurrencyConflict  # noqa: E402
from infra.local.pump import StreamPump  # noqa: E402
from chalicelib.services.operations import verify_log  # noqa: E402
from chalicelib.services.sweep import sweep  # noqa: E402
from infra.tables import DEADLINES, create_tables  # noqa: E402
from tests.support.api import Api, body_of  # noqa: E402
from tests.support.builders import REPORT_JALAN_BERLUBANG as REPORT  # noqa: E402
from tests.support.settings import T0, FakeClock, test_settings  # noqa: E402
from tests.support.tokens import ADMIN_SAMARINDA, NASIONAL, OMBUDSMAN, SUPERVISOR, SUPERVISOR_KALTIM, SUPERVISOR_KEPRI  # noqa: E402

# T0: Mon 2 Mar 2026, 09:00 WIB.
VERIFICATION_DUE = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # + 3 WD: Thu 5 Mar 17:00 WIB (national admin)
NEGLECT_AT = T0 + timedelta(days=60)  # Fri 1 May 2026 02:00Z


# ---------------------------------------------------------------------------------------------- worlds

@dataclass
class World:
    """Tables under one prefix, services wired to them (clients from fresh sessions: counted), API, pump."""

    services: Services
    clock: FakeClock
    api: Api
    ids: list[str] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    def install(self) -> World:
        use_services(self.services)
        return self

    def pump(self) -> int:
        import app as app_module

        self.install()
        return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                          self.services.settings.table_names["events"],
                          deliver=lambda event: app_module.project_events(event, None)).drain()

    def submit(self, n: int = 1, **overrides: Any) -> list[str]:
        self.install()
        made = []
        for _ in range(n):
            body = body_of(self.api.post("/reports", REPORT | overrides), 201)
            self.ids.append(body["report_id"])
            self.tokens[body["report_id"]] = body["access_token"]
            made.append(body["report_id"])
        return made

    def do(self, report_id: str, action: str, body: dict[str, Any], *, token: str | None = None,
           as_reporter: bool = False) -> dict[str, Any]:
        self.install()
        who = {"report_token": self.tokens[report_id]} if as_reporter else {"token": token}
        return body_of(self.api.post(f"/reports/{report_id}/{action}", body, **who), 200)

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        self.install()
        response = self.api.get(path, token=token)
        return response.status_code, json.loads(response.body)

    def types(self, report_id: str) -> list[str]:
        return [event.type for event in self.services.store.load(report_id)]

    def sweep(self, now: datetime, services: Services | None = None):
        return sweep(services or self.services, now)


def build_world(prefix: str, clock: FakeClock, api: Api, *, create: bool = True) -> World:
    if create:
        create_tables(boto3.client("dynamodb"), prefix)
    return World(services=services_for(prefix, clock), clock=clock, api=api).install()


def services_for(prefix: str, clock: FakeClock) -> Services:
    settings = test_settings(table_prefix=prefix)
    # The live-generation lookup is cached (one GetItem per 5 s in production): keep it out of the request
    # counts, which must not depend on how long moto takes with a large table on a loaded machine.
    built = build_services(settings, clock=clock, refresh_seconds=3600)
    # A client from a fresh botocore session: registered with every builtin handler, the counter included.
    built.dynamodb = functools.cache(lambda: boto3.Session().client("dynamodb", region_name=settings.region))
    return built


@pytest.fixture
def world(aws, clock):
    import app as app_module

    with Client(app_module.app) as client:
        yield build_world("sweep", clock, Api(client))
    use_services(None)


def by_type(events: list[str], name: str) -> int:
    return sum(1 for event in events if event == name)


# ---------------------------------------------------------------------------------------------- exactly once

def test_the_sweep_records_each_due_event_once_and_only_for_due_reports(world):
    due = world.submit(3)
    world.clock.now = VERIFICATION_DUE - timedelta(hours=1)
    later = world.submit(1)[0]  # Thu 5 Mar 09:00 WIB: its verification is due Tue 10 Mar
    world.pump()

    assert world.sweep(VERIFICATION_DUE - timedelta(milliseconds=1)).to_dict() == {
        "now": "2026-03-05T09:59:59.999Z", "due_reports": 0, "recorded": {}, "conflicts": 0, "failed": []}
    result = world.sweep(VERIFICATION_DUE)
    assert (result.due_reports, result.recorded, result.conflicts) == (3, {"ReminderSent": 3}, 0)
    for report_id in due:
        events = world.services.store.load(report_id)
        assert [event.type for event in events] == ["ReportSubmitted", "ReminderSent"]
        reminder = events[-1]
        assert reminder.actor.role == "system" and reminder.channel == "system"
        assert reminder.occurred_at == iso(VERIFICATION_DUE)
        assert reminder.data["due_at"] == iso(VERIFICATION_DUE) and reminder.data["recipient_role"] == "admin_nasional"
        assert verify_log(events).broken == {}
    assert world.types(later) == ["ReportSubmitted"]


def test_sweeping_twice_records_nothing_new_with_or_without_projecting_in_between(world):
    ids = world.submit(2)
    world.pump()
    assert world.sweep(VERIFICATION_DUE).recorded == {"ReminderSent": 2}

    # Not projected yet: the index still says "due"; the sweep loads, decides, finds nothing left.
    again = world.sweep(VERIFICATION_DUE)
    assert (again.due_reports, again.recorded, again.conflicts) == (2, {}, 0)
    assert world.sweep(VERIFICATION_DUE + timedelta(hours=1)).recorded == {}

    # Projected: the index moved on to the next action (the 60-day reprimand), so nothing is due now.
    world.pump()
    settled = world.sweep(VERIFICATION_DUE + timedelta(hours=2))
    assert (settled.due_reports, settled.recorded) == (0, {})
    for report_id in ids:
        assert world.types(report_id) == ["ReportSubmitted", "ReminderSent"]


@pytest.mark.parametrize("now, recorded", [
    (VERIFICATION_DUE, ["ReminderSent"]),  # one event per report: a conditional PutItem
    (NEGLECT_AT, ["ReminderSent", "ReportNeglected"]),  # two: a transaction
], ids=["one-event-put", "two-event-transaction"])
def test_two_sweeps_that_load_the_same_reports_at_once_record_each_event_exactly_once(world, now, recorded):
    ids = world.submit(3)
    world.pump()
    # Two scheduled invocations (two Lambdas: separate services), forced to interleave: both load every
    # report before either appends, so one of them must lose each race.
    first, second = world.services, services_for("sweep", world.clock)
    barrier = threading.Barrier(2, timeout=30)
    for services in (first, second):
        original, loaded = services.store.load, set()

        def load(report_id: str, original=original, loaded=loaded):
            history = original(report_id)
            if report_id not in loaded:  # the first load of each report meets the other sweep's
                loaded.add(report_id)
                barrier.wait()
            return history

        services.store.load = load
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    def run(index: int, services: Services) -> None:
        try:
            results[index] = sweep(services, now)
        except BaseException as error:  # noqa: BLE001 — surfaced below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    totals = Counter()
    for result in results.values():
        totals.update(result.recorded)
    assert totals == {name: 3 for name in recorded}
    assert sum(result.conflicts for result in results.values()) == 3  # every race had exactly one loser
    for report_id in ids:
        events = world.services.store.load(report_id)
        assert [event.type for event in events] == ["ReportSubmitted", *recorded]
        assert verify_log(events).broken == {}


def test_two_free_running_sweeps_at_the_same_instant_leave_each_event_exactly_once_in_the_log(world):
    ids = world.submit(6)
    world.pump()
    start = threading.Barrier(2, timeout=30)
    results, errors = [], []

    def run(services: Services) -> None:
        try:
            start.wait()
            results.append(sweep(services, NEGLECT_AT))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in (world.services, services_for("sweep", world.clock))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    totals = Counter()
    for result in results:
        totals.update(result.recorded)
    assert totals == {"ReminderSent": 6, "ReportNeglected": 6}
    for report_id in ids:
        events = world.services.store.load(report_id)
        assert [event.type for event in events] == ["ReportSubmitted", "ReminderSent", "ReportNeglected"]
        assert [event.version for event in events] == [1, 2, 3]
        assert verify_log(events).broken == {}


def test_a_person_acting_between_the_sweeps_load_and_append_makes_it_retry_on_fresh_state(world, monkeypatch):
    report_id = world.submit(1)[0]
    world.pump()
    store = world.services.store
    real_append, calls = store.append, []

    def append_after_a_reporter_replies(append):
        if append.events[0].actor.role != "system":  # the person's own command goes through the same store
            return real_append(append)
        calls.append(append.expected_version)
        if len(calls) == 1:  # the reporter adds information while the sweep was deciding
            world.clock.now = VERIFICATION_DUE
            world.do(report_id, "replies", {"message": "Lubangnya makin besar."}, as_reporter=True)
        return real_append(append)

    monkeypatch.setattr(store, "append", append_after_a_reporter_replies)
    result = world.sweep(VERIFICATION_DUE)
    assert (result.recorded, result.conflicts) == ({"ReminderSent": 1}, 1)
    assert calls == [1, 2]  # decided again on the reloaded stream
    events = store.load(report_id)
    assert [event.type for event in events] == ["ReportSubmitted", "ReporterReplied", "ReminderSent"]
    assert events[2].prev_hash == events[1].hash and verify_log(events).broken == {}


def test_a_verification_between_load_and_append_leaves_nothing_to_remind(world, monkeypatch):
    report_id = world.submit(1)[0]
    world.pump()
    store = world.services.store
    real_append, calls = store.append, []

    def append_after_a_verification(append):
        if append.events[0].actor.role != "system":
            return real_append(append)
        calls.append(append.expected_version)
        if len(calls) == 1:
            world.clock.now = VERIFICATION_DUE
            world.do(report_id, "verification", {"institution_id": "pemkot-samarinda"}, token=NASIONAL)
        return real_append(append)

    monkeypatch.setattr(store, "append", append_after_a_verification)
    result = world.sweep(VERIFICATION_DUE)
    assert (result.recorded, result.conflicts) == ({}, 1)
    assert calls == [1]  # the retry found the clock met: nothing to append
    assert world.types(report_id) == ["ReportSubmitted", "ReportVerified"]


def test_a_conflict_raised_once_by_the_store_is_retried(world, monkeypatch):
    report_id = world.submit(1)[0]
    world.pump()
    store = world.services.store
    real_append, calls = store.append, []

    def conflict_once(append):
        calls.append(append.expected_version)
        if len(calls) == 1:
            raise ConcurrencyConflict(append.stream_id, append.expected_version)
        return real_append(append)

    monkeypatch.setattr(store, "append", conflict_once)
    result = world.sweep(VERIFICATION_DUE)
    assert (result.recorded, result.conflicts) == ({"ReminderSent": 1}, 1)
    assert world.types(report_id) == ["ReportSubmitted", "ReminderSent"]


def _index_item(world: World, report_id: str) -> dict[str, Any]:
    return boto3.client("dynamodb").get_item(TableName=world.services.generations.table_name(DEADLINES),
                                             Key={"report_id": {"S": report_id}}, ConsistentRead=True)["Item"]


def test_the_index_holds_the_replayed_state_and_the_next_action_after_each_sweep(world):
    from chalicelib.domain.deadlines import next_action_at
    from chalicelib.domain.report import Context, replay, state_from_json

    report_id = world.submit(1)[0]
    world.do(report_id, "verification", {"institution_id": "pemkot-samarinda"}, token=NASIONAL)
    world.do(report_id, "assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA)
    world.pump()
    ctx = Context(now=T0, calendar=world.services.calendar, reference=world.services.reference)
    # Follow-up: Mon 2 Mar + 5 WD = Mon 9 Mar 17:00 WITA; then +2 WD (Wed 11), +2 WD (Fri 13).
    expected_next = ["2026-03-09T09:00:00.000Z", "2026-03-11T09:00:00.000Z", "2026-03-13T09:00:00.000Z",
                     "2026-03-27T09:00:00.000Z"]
    for step, now in enumerate((None, *expected_next[:3])):
        if now is not None:
            assert world.sweep(datetime.fromisoformat(now)).due_reports == 1
            world.pump()
        item = _index_item(world, report_id)
        state = replay(report_id, world.services.store.load(report_id))
        assert state_from_json(json.loads(item["state"]["S"])) == state
        assert item["next_action"]["S"] == f"{next_action_at(state, ctx)}#{report_id}" == \
            f"{expected_next[step]}#{report_id}"
    assert world.types(report_id)[-3:] == ["ReminderSent", "DeadlineEscalated", "DeadlineEscalated"]


def test_a_report_archived_by_the_sweep_leaves_the_due_date_index(world):
    held, waiting = world.submit(2)
    world.do(held, "hold", {"question": "Di titik mana tepatnya?"}, token=NASIONAL)
    world.pump()
    archive_at = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # Mon 2 Mar + 10 WD = Mon 16 Mar 17:00 WIB
    assert world.sweep(archive_at - timedelta(milliseconds=1)).recorded == {"ReminderSent": 1}  # `waiting` only
    world.pump()
    result = world.sweep(archive_at)
    assert (result.due_reports, result.recorded) == (1, {"ReportArchived": 1})
    world.pump()
    assert world.types(held) == ["ReportSubmitted", "ReportPutOnHold", "ReportArchived"]
    assert "next_action" not in _index_item(world, held) and "due_q" not in _index_item(world, held)
    assert world.services.deadlines.due("2031-01-01T00:00:00.000Z") == [waiting]
    assert world.sweep(datetime(2026, 12, 1, tzinfo=UTC)).recorded == {"ReportNeglected": 1}  # `waiting` again


# ---------------------------------------------------------------------------------------------- cost

def _fill_index_with_future_reports(world: World, count: int) -> None:
    """Synthetic open reports whose next action lies months ahead, written straight into the index table."""
    client = boto3.client("dynamodb")
    table = world.services.generations.table_name(DEADLINES)
    items = []
    for n in range(count):
        report_id = f"LAP-SYNTH{n:06d}"
        next_action = iso(datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=37 * n))
        state = ReportState(report_id=report_id, version=1, status="submitted", title="Jalan rusak",
                            report_type="complaint", category_id="infrastruktur.jalan-rusak", region_code="64.72",
                            submitted_at=iso(T0), verification_due=next_action)
        items.append({"report_id": {"S": report_id}, "version": {"N": "1"},
                      "state": {"S": json.dumps(state_to_json(state))},
                      "due_q": {"S": "due"}, "next_action": {"S": f"{next_action}#{report_id}"}})
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
        unprocessed = client.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems")
        assert not unprocessed


def _index_size(world: World) -> int:
    table = world.services.generations.table_name(DEADLINES)
    client, total, start = boto3.client("dynamodb"), 0, None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = client.query(TableName=table, IndexName="by-next-action", Select="COUNT",
                            KeyConditionExpression="due_q = :d", ExpressionAttributeValues={":d": {"S": "due"}},
                            **kwargs)
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def _index_pages(world: World) -> int:
    client, pages, start = boto3.client("dynamodb"), 0, None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = client.scan(TableName=world.services.generations.table_name(DEADLINES), **kwargs)
        pages += 1
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def _measured_sweep(world: World, open_reports: int) -> tuple[Counter, dict[str, int]]:
    """5 due reports among `open_reports` in the index; the requests of one sweep that records their reminders."""
    due = world.submit(5)
    world.pump()
    _fill_index_with_future_reports(world, open_reports - 5)
    assert _index_size(world) == open_reports
    world.sweep(T0)  # warm: first use of every client and table outside the measurement
    with COUNTER.measure() as seen:
        result = world.sweep(VERIFICATION_DUE)
    assert result.due_reports == 5 and result.recorded == {"ReminderSent": 5}
    for report_id in due:
        assert world.types(report_id) == ["ReportSubmitted", "ReminderSent"]
    return seen, result.recorded


def test_the_sweep_costs_the_same_requests_with_100_or_10000_open_reports_in_the_index(aws, clock):
    import app as app_module

    with Client(app_module.app) as client:
        small = build_world("small", clock, Api(client))
        small_seen, _ = _measured_sweep(small, 100)
        clock.now = T0
        large = build_world("large", clock, Api(client))
        large_seen, _ = _measured_sweep(large, 10_000)
    use_services(None)

    assert small_seen == large_seen
    # One Query of the due-date index, then per due report one Query (load) and one PutItem (append).
    assert small_seen == Counter({("dynamodb", "Query"): 1 + 5, ("dynamodb", "PutItem"): 5}), small_seen
    # The measurement can tell: reading the large index whole takes many 1 MB pages, the small one one.
    assert _index_pages(small) == 1 and _index_pages(large) > 5


# ---------------------------------------------------------------------------------------------- read models

def _neglected_world(world: World) -> dict[str, str]:
    """neglected: verified, never answered, 60 days; escalated: the reporter went to the Ombudsman;
    answered: a follow-up came in time; fresh: submitted yesterday (as of the sweep)."""
    neglected, escalated, answered = world.submit(3)
    for report_id in (neglected, escalated, answered):
        world.do(report_id, "verification", {"institution_id": "pemkot-samarinda"}, token=NASIONAL)
    world.do(answered, "follow-ups", {"message": "Tim sudah meninjau lokasi."}, token=ADMIN_SAMARINDA)
    world.clock.now = datetime(2026, 3, 30, 2, 0, tzinfo=UTC)  # after the resolution deadline (Fri 27 Mar)
    world.do(escalated, "follow-ups", {"message": "Sedang dijadwalkan."}, token=ADMIN_SAMARINDA)
    world.do(escalated, "ombudsman-escalation", {"reason": "Penyelesaian terlambat."}, as_reporter=True)
    world.clock.now = NEGLECT_AT - timedelta(days=1)
    fresh = world.submit(1)[0]
    world.pump()
    world.clock.now = NEGLECT_AT
    result = world.sweep(NEGLECT_AT)
    assert result.recorded["ReportNeglected"] == 1
    world.pump()
    return {"neglected": neglected, "escalated": escalated, "answered": answered, "fresh": fresh}


def test_the_reprimand_list_shows_neglected_reports_to_supervisors_and_refuses_institution_admins(world):
    ids = _neglected_world(world)
    assert by_type(world.types(ids["neglected"]), "ReportNeglected") == 1
    for token in (SUPERVISOR, SUPERVISOR_KALTIM, OMBUDSMAN, NASIONAL):
        status, body = world.get("/reprimands", token)
        assert status == 200, body
        assert [row["report_id"] for row in body["reports"]] == [ids["neglected"]]
        assert body["reports"][0]["neglected"] is True
    status, body = world.get("/reprimands?region=64.72", SUPERVISOR_KALTIM)
    assert status == 200 and [row["report_id"] for row in body["reports"]] == [ids["neglected"]]
    status, body = world.get("/reprimands?institution=pemkot-samarinda", SUPERVISOR)
    assert status == 200 and [row["report_id"] for row in body["reports"]] == [ids["neglected"]]

    status, body = world.get("/reprimands", ADMIN_SAMARINDA)
    assert status == 403, body
    assert body["message"] and body["pesan"]
    # A provincial supervisor sees its own province: Kepri has nothing, and Kaltim is outside its scope.
    assert world.get("/reprimands", SUPERVISOR_KEPRI) == (200, {"reports": [], "next_cursor": None})
    assert world.get("/reprimands?region=64.72", SUPERVISOR_KEPRI)[0] == 403
    assert world.get("/reprimands")[0] in (401, 403)


def test_the_ombudsman_queue_lists_neglected_and_escalated_reports_only(world):
    ids = _neglected_world(world)
    status, body = world.get("/queue", OMBUDSMAN)
    assert status == 200, body
    listed = {row["report_id"]: row for row in body["reports"]}
    assert set(listed) == {ids["neglected"], ids["escalated"]}
    assert listed[ids["neglected"]]["neglected"] is True
    assert listed[ids["escalated"]]["escalated_to_ombudsman"] is True
    # The neglected report's timeline shows the reprimand as a flagged step by the system.
    status, timeline = world.get(f"/reports/{ids['neglected']}/timeline", OMBUDSMAN)
    assert status == 200
    neglect = [step for step in timeline["steps"] if step["type"] == "ReportNeglected"]
    assert len(neglect) == 1 and "neglected" in neglect[0]["flags"] and neglect[0]["by"]["role"] == "system"


def test_a_returned_report_left_without_redisposition_is_not_reprimanded_against_the_returning_institution(world):
    report_id = world.submit(1)[0]
    world.do(report_id, "verification", {"institution_id": "pemkot-samarinda"}, token=NASIONAL)
    world.do(report_id, "return", {"reason": "Bukan wewenang kami; jalan provinsi."}, token=ADMIN_SAMARINDA)
    world.pump()
    assert world.sweep(NEGLECT_AT).recorded["ReportNeglected"] == 1
    world.pump()
    status, everywhere = world.get("/reprimands", SUPERVISOR)
    assert status == 200 and [row["report_id"] for row in everywhere["reports"]] == [report_id]
    status, samarinda = world.get("/reprimands?institution=pemkot-samarinda", SUPERVISOR)
    assert status == 200 and samarinda["reports"] == []
