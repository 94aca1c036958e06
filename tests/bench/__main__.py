"""`python -m tests.bench` (or `make bench`): DynamoDB request counts, event-store and projection throughput,
rebuild speed, and read costs against data volume, on moto.

One ThreadedMotoServer on 127.0.0.1 serves every measured request, over real HTTP, as Lambda would talk to
DynamoDB. Large tables are filled, and the 100,000-event rebuild runs, against the same moto backend in-process
(tests/bench/common.py `in_process`).

1. Request counts: a report's whole life through the real CommandHandler (submit, verify, assign, follow-up,
   final answer, accept), the projector, and GET /reports/{id}. Every HTTP request any botocore client in this
   process sends is counted (see tests/bench/common.py RequestCounter for the hook point).
2. Correctness gate: two writers at the same version, exactly one wins (our store, raw boto3, aett).
3. Throughput of load + append, same server, same run, a fresh table per contender with the same number of
   pre-seeded background items (moto's Query cost grows with the whole table, not the partition):
   raw boto3 (the floor), raw boto3 + ReturnConsumedCapacity=TOTAL (what pynamodb sends on every request),
   our DynamoDBEventStore, and aett 3.4.1. Commands are interleaved one by one across contenders.
4. Projection throughput: a 400-event log through every read model (and all of them as the projector), against
   the speed of reading the same log back (tests/bench/read_models.py).
5. `lapor rebuild` (chalicelib.services.operations.rebuild): that log over HTTP, and 100,000 events in-process
   (tests/bench/rebuild.py).
6. Requests and items read per GET /stats/regions/{code}, GET /queue (first and cursor page) and GET /rankings
   at 1,000 and at 100,000 reports: they must be equal (tests/bench/read_models.py).
7. Requests per deadline sweep at 1,000 and at 100,000 open reports with the same 10 due: equal
   (tests/bench/sweep.py).
8. The local runtime on DynamoDB Local beside moto: submissions over HTTP and projection lag through the
   stream pump (tests/bench/local_runtime.py; runs alone too).

Takes about 15-20 minutes on 2 CPUs (section 5 is most of it). Results go to stdout and to
tests/bench/RESULTS.md. Numbers from moto are NOT predictive of AWS; they compare client-side overhead under
identical server conditions, and count requests, which do carry over.

No `from __future__ import annotations` here: aett reads `apply_memento`'s annotation at run time.
"""
from tests.bench.common import (COUNTER, MOTO, REGION, batch_put, breakdown, dynamodb_client,  # noqa: E402,I001
                                endpoint_env, ms, operations, pct, total)

# Everything below may create botocore sessions.
import datetime as dt  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any, Callable  # noqa: E402
import importlib.metadata  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from pydantic_core import to_json  # noqa: E402

from aett.domain import (Aggregate, ConflictingCommitException, DefaultAggregateRepository,  # noqa: E402
                         DuplicateCommitException, NonConflictingCommitException)
from aett.eventstore import DomainEvent as AettDomainEvent, EventMessage, Memento, Topic, TopicMap  # noqa: E402
from aett.storage.synchronous.dynamodb.commit_store import CommitStore  # noqa: E402
from aett.storage.synchronous.dynamodb.persistence_management import PersistenceManagement  # noqa: E402
from aett.storage.synchronous.dynamodb.snapshot_store import SnapshotStore  # noqa: E402

from chalicelib.auth import hash_token  # noqa: E402
from chalicelib.domain.access import ANONYMOUS_PUBLIC, Principal  # noqa: E402
from chalicelib.domain.vocabulary import Role  # noqa: E402
from chalicelib.bootstrap import Services, build_services, use_services  # noqa: E402
from chalicelib.domain import commands as c  # noqa: E402
from chalicelib.errors import ConcurrencyConflict  # noqa: E402
from chalicelib.services.handlers import Request  # noqa: E402
from tests import moto_speedups  # noqa: E402
from infra.local.pump import StreamPump  # noqa: E402
from chalicelib.store.base import Append, chain_events  # noqa: E402
from chalicelib.store.dynamodb import DynamoDBEventStore, to_item  # noqa: E402
from chalicelib.store.models import EventItem, bind  # noqa: E402
from events import report as e  # noqa: E402
from events.base import Actor, StoredEvent  # noqa: E402
from events.chain import verify_chain  # noqa: E402
from infra.tables import create_tables  # noqa: E402
from projections.runner import Projector  # noqa: E402
from tests.conftest import T0, staff_token, test_settings  # noqa: E402

# ------------------------------------------------------------------------------------------------ knobs

STREAMS = 100  # aggregates per contender in the timed run
EVENTS_PER_STREAM = 5  # one command (load + decide + append of one event) per event
BACKGROUND_ITEMS = 2000  # pre-seeded items in every contender's table (other streams)
BACKGROUND_STREAM_LENGTH = 5
WARMUP_STREAMS, WARMUP_EVENTS = 10, 2  # per contender, discarded
GATE_TRIALS = 10  # concurrent two-writer races per store and path
TARGET_RATIO = 1.5  # our append p50 within 1.5x raw boto3 conditional PutItem p50
TENANT = "lapor"
MESSAGE = ("Petugas Dinas PUPR sudah meninjau saluran di Jl. Pahlawan; pembersihan sampah dijadwalkan "
           "Kamis pagi bersama kecamatan, dan warga akan diberi kabar melalui ketua RT setempat. ")  # ~200 chars
ACTOR = Actor(role="admin_penghubung", user_id="bench-liaison", institution_id="pemkot-samarinda",
              unit_id="dinas-pupr")
RESULTS = Path(__file__).with_name("RESULTS.md")


# ----------------------------------------------------------------------------------------------- helpers

def median_ratio_ci(numerator: list[float], denominator: list[float], rounds: int = 1000) -> tuple[float, float]:
    """95% bootstrap interval of median(numerator) / median(denominator)."""
    rng = random.Random(1708)
    ratios = sorted(statistics.median(rng.choices(numerator, k=len(numerator)))
                    / statistics.median(rng.choices(denominator, k=len(denominator))) for _ in range(rounds))
    return ratios[int(0.025 * rounds)], ratios[int(0.975 * rounds) - 1]


def new_stream_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def stored_events(stream_id: str, count: int, now: dt.datetime) -> list[StoredEvent]:
    """`count` chained events of one stream, as our store writes them."""
    history: list[StoredEvent] = []
    for _ in range(count):
        history += chain_events(stream_id, history[-1] if history else None, [e.FollowUpPosted(message=MESSAGE)],
                                actor=ACTOR, channel="web", now=now, correlation_id=str(uuid.uuid4()),
                                causation_id=None)
    return history


# ------------------------------------------------------------------------------------------------- aett

@Topic("BenchFollowUpPosted")
class BenchFollowUpPosted(AettDomainEvent):
    message: str


class BenchMemento(Memento):
    pass


class BenchReport(Aggregate[BenchMemento]):
    """The same shape of work as ours: one event per command, state folded from the history."""

    def __init__(self, stream_id: str, commit_sequence: int, memento: BenchMemento | None = None) -> None:
        self.follow_ups = 0
        super().__init__(stream_id=stream_id, commit_sequence=commit_sequence, memento=memento)

    def apply_memento(self, memento: BenchMemento) -> None:
        self.follow_ups = int(memento.payload["follow_ups"])

    def get_memento(self) -> BenchMemento:
        return BenchMemento(id=self.id, version=self.version, payload={"follow_ups": self.follow_ups})

    def post(self, message: str) -> None:
        self.raise_event(BenchFollowUpPosted(message=message, source=self.id, version=self.version,
                                             timestamp=dt.datetime.now(dt.timezone.utc)))

    def _apply(self, event: BenchFollowUpPosted) -> None:
        self.follow_ups += 1


AETT_TOPICS = TopicMap().register(BenchFollowUpPosted)
AETT_CONFLICTS = (ConflictingCommitException, NonConflictingCommitException, DuplicateCommitException)


def aett_commit_item(stream_id: str, sequence: int) -> dict[str, Any]:
    """One single-event commit exactly as aett's CommitStore.commit writes it (for background seeding)."""
    event = BenchFollowUpPosted(message=MESSAGE, source=stream_id, version=sequence - 1,
                                timestamp=dt.datetime.now(dt.timezone.utc))
    return {"TenantAndStream": f"{TENANT}{stream_id}", "TenantId": TENANT, "StreamId": stream_id,
            "StreamRevision": sequence, "CommitId": str(uuid.uuid4()), "CommitSequence": sequence,
            "CommitStamp": int(time.time()), "Headers": to_json({}),
            "Events": to_json([EventMessage(body=event, headers=None).to_json()])}


@dataclass
class AettStores:
    commits: CommitStore
    snapshots: SnapshotStore
    commits_table: str

    def repository(self) -> DefaultAggregateRepository:
        return DefaultAggregateRepository(TENANT, self.commits, self.snapshots)


def make_aett(url: str, prefix: str) -> AettStores:
    """aett's synchronous DynamoDB storage against the moto server.

    aett's documented local mode (region="localhost", port=N) sends SigV4 scope region "localhost", which moto
    5.2.5 rejects (KeyError 'localhost' in its backend dict, HTTP 500), and would use http://localhost. So it
    gets a real region and botocore's standard AWS_ENDPOINT_URL_DYNAMODB, set only while its clients are made.
    """
    commits, snapshots = f"{prefix}-commits", f"{prefix}-snapshots"
    with endpoint_env(url):
        PersistenceManagement(commits_table_name=commits, snapshots_table_name=snapshots, region=REGION).initialize()
        stores = AettStores(CommitStore(AETT_TOPICS, table_name=commits, region=REGION),
                            SnapshotStore(table_name=snapshots, region=REGION), commits)
    client = dynamodb_client(url)
    for name in (commits, snapshots):
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return stores


# ------------------------------------------------------------------------------- 1. requests per command

class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


NATIONAL = Principal(role="admin_nasional", user_id="bench-national")
INSTITUTION = Principal(role="admin_instansi", user_id="bench-institution", institution_id="pemkot-samarinda")
LIAISON = Principal(role="admin_penghubung", user_id="bench-liaison", institution_id="pemkot-samarinda",
                    unit_id="dinas-pupr")


@dataclass
class Step:
    name: str
    seen: Counter
    expected: dict[str, int]

    @property
    def ok(self) -> bool:
        return operations(self.seen) == self.expected


def report_life(services: Services, clock: Clock, *, idempotent: bool) -> tuple[str, list[Step]]:
    """Submit a report and take it to closed through the real CommandHandler, counting each command."""
    def request(name: str) -> Request:
        clock.tick(hours=1)
        key = f"bench-{name}-{uuid.uuid4().hex}" if idempotent else None
        return Request(now=clock(), correlation_id=str(uuid.uuid4()), idempotency_key=key, fingerprint=name)

    write = "TransactWriteItems" if idempotent else "PutItem"
    steps = []
    submit = c.SubmitReport(
        principal=ANONYMOUS_PUBLIC, title="Drainase tersumbat",
        body="Saluran air di Jl. Pahlawan tersumbat sampah, banjir tiap hujan", report_type="complaint",
        category_id="infrastruktur.drainase", region_code="64.72", addressed_institution_id=None, anonymous=False,
        confidential=False, channel="web", reporter_ref=None, access_token_hash="", location=None)
    personal = {"name": "Siti Aminah", "phone": None, "email": "siti@example.id", "nik": None} if idempotent else None
    with COUNTER.measure() as seen:
        submitted = services.commands.submit(submit, request("submit"), personal)
    steps.append(Step("submit" + (" (+ identity)" if personal else ""), seen, {write: 1}))
    report_id = submitted["report_id"]
    reporter = Principal(role=Role.REPORTER, report_token_hash=hash_token(submitted["access_token"]))
    commands = [
        ("verify", c.VerifyReport(principal=NATIONAL, institution_id="pemkot-samarinda", title=None, category_id=None,
                                  report_type=None, requires_inspection=False, anonymous=None, confidential=None)),
        ("assign", c.AssignReport(principal=INSTITUTION, unit_id="dinas-pupr")),
        ("follow-up", c.PostFollowUp(principal=LIAISON, message=MESSAGE, final=False)),
        ("final answer", c.PostFollowUp(principal=LIAISON, message=MESSAGE, final=True)),
        ("accept (2 events)", c.AcceptResolution(principal=reporter, rating=5, comment="Terima kasih")),
    ]
    for name, command in commands:
        with COUNTER.measure() as seen:
            services.commands.execute(report_id, command, request(name))
        two_events = name.startswith("accept")
        steps.append(Step(name, seen, {"Query": 1, ("TransactWriteItems" if two_events else write): 1}))
    return report_id, steps


@dataclass
class CountResults:
    plain: list[Step]
    idempotent: list[Step]
    projection: Counter
    projected_events: int
    pump_calls: Counter
    view_get: Counter
    http_get: Counter
    http_status: int
    final_status: str
    chain_ok: bool
    read_models: list[str]


def count_requests(url: str) -> CountResults:
    prefix = "bench-flow"
    settings = test_settings(dynamodb_endpoint=url, table_prefix=prefix, region=REGION)
    names = create_tables(dynamodb_client(url), prefix)
    clock = Clock(T0)
    services = build_services(settings, clock=clock)
    read_models = services.read_models()
    projector = Projector(read_models)  # what the project_events Lambda runs (chalicelib.lambdas.projector)
    pump = StreamPump(dynamodb_client(url), boto3.client("dynamodbstreams", endpoint_url=url, region_name=REGION),
                      names["events"], deliver=lambda event: projector.handle_batch(event))

    report_life(services, clock, idempotent=False)  # warm-up: clients, connections, reference data
    pump.drain()
    COUNTER.table_prefix = prefix + "-"
    try:
        _, plain = report_life(services, clock, idempotent=False)
        report_id, idempotent = report_life(services, clock, idempotent=True)

        with COUNTER.measure() as seen:
            delivered = pump.drain()
        pump_calls = Counter({key: n for key, n in seen.items() if key[0] != "dynamodb"})

        services.generations.current()  # steady state: the live-generation lookup is cached for 5 s
        with COUNTER.measure() as view_get:
            view = services.views.get(report_id)
        assert view is not None

        from chalice.test import Client

        import app as app_module  # Chalice routes, after the environment is set

        use_services(services)
        try:
            with Client(app_module.app) as client:
                headers = {"Authorization": "Bearer " + staff_token("admin_nasional")}
                client.http.get(f"/reports/{report_id}", headers=headers)  # warm the route
                services.generations.current()
                with COUNTER.measure() as http_get:
                    response = client.http.get(f"/reports/{report_id}", headers=headers)
        finally:
            use_services(None)
    finally:
        COUNTER.table_prefix = None
    history = services.store.load(report_id)
    return CountResults(plain, idempotent, seen, delivered, pump_calls, view_get, http_get, response.status_code,
                        view["status"], verify_chain(report_id, [s.to_dict() for s in history]).valid,
                        [type(model).__name__ for model in read_models])


# ---------------------------------------------------------------------------------- 2. correctness gate

@dataclass
class Gate:
    contender: str
    path: str
    trials: int
    one_winner: int  # concurrent races with exactly one winner and one refused writer
    intact: int  # races after which the stream holds the seed plus exactly the winner's events
    sequential: bool  # deterministic variant: A writes, then B writes at the same version and is refused
    wiped: int = 0  # races where the winner's acknowledged events vanished (see MOTO_ROLLBACK)
    loser_persisted: int = 0  # races where any of the refused writer's events were stored: always a failure
    detail: str = ""

    @property
    def passed(self) -> bool:
        # A wiped winner is moto's doing (MOTO_ROLLBACK) and only possible on the transactional path;
        # a second winner or a stored loser event fails the gate whatever the cause.
        wiped_ok = self.wiped == 0 or self.path == "TransactWriteItems"
        return (self.sequential and self.one_winner == self.trials and self.loser_persisted == 0
                and self.intact + self.wiped == self.trials and wiped_ok)


MOTO_ROLLBACK = ("moto 5.2.5's transact_write_items snapshots every table it touches when it starts and, when a "
                 "condition fails, swaps those snapshots back in as the tables (tests.moto_speedups "
                 "keeps exactly that semantics, one snapshot per table). A transaction refused while another "
                 "writer's transaction is landing therefore erases all or part of that acknowledged write "
                 "(seen while building this benchmark: the winner's v3 stored without its v2). Real DynamoDB "
                 "transactions are atomic and isolated; this is a moto limitation under concurrent requests.")


def race(first: Callable[[], None], second: Callable[[], None], refused: tuple[type[BaseException], ...]):
    """Run both writers at once (after both have loaded); returns their outcomes: 'won', 'refused' or repr."""
    barrier, outcomes = threading.Barrier(2), [None, None]

    def run(index: int, write: Callable[[], None]) -> None:
        barrier.wait()
        try:
            write()
            outcomes[index] = "won"
        except refused:
            outcomes[index] = "refused"
        except Exception as exc:  # noqa: BLE001 - reported, fails the gate
            outcomes[index] = repr(exc)

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def gate_lapor(store: DynamoDBEventStore, events_per_append: int) -> Gate:
    def two_writers(sid: str) -> list[Callable[[], None]]:
        store.append(Append(sid, 0, stored_events(sid, 1, T0)))
        writes = []
        for writer in ("A", "B"):
            history = store.load(sid)  # both writers load version 1
            stored = chain_events(sid, history[-1], [e.FollowUpPosted(message=writer)] * events_per_append,
                                  actor=ACTOR, channel="web", now=T0, correlation_id=writer, causation_id=None)
            writes.append(lambda stored=stored, n=len(history): store.append(Append(sid, n, stored)))
        return writes

    def stored_by(sid: str) -> tuple[list[str], bool]:
        """Who wrote the events after the seed, and whether the hash chain verifies."""
        final = store.load(sid)
        return [s.correlation_id for s in final[1:]], verify_chain(sid, [s.to_dict() for s in final]).valid

    sid = new_stream_id("GATE")
    first, second = two_writers(sid)
    first()
    try:
        second()
        sequential = False
    except ConcurrencyConflict:
        sequential = stored_by(sid) == (["A"] * events_per_append, True)

    gate = Gate("our DynamoDBEventStore", "PutItem" if events_per_append == 1 else "TransactWriteItems",
                GATE_TRIALS, 0, 0, sequential)
    problems = []
    for _ in range(GATE_TRIALS):
        sid = new_stream_id("GATE")
        outcomes = race(*two_writers(sid), refused=(ConcurrencyConflict,))
        if sorted(outcomes) != ["refused", "won"]:
            problems.append(str(outcomes))
            continue
        gate.one_winner += 1
        winner, loser = ("A", "B") if outcomes[0] == "won" else ("B", "A")
        stored, chain_valid = stored_by(sid)
        if stored == [winner] * events_per_append and chain_valid:
            gate.intact += 1
        elif loser in stored:
            gate.loser_persisted += 1
            problems.append(f"stored {stored} after {winner} won")
        elif set(stored) <= {winner} and len(stored) < events_per_append:
            gate.wiped += 1  # all or part of the winner's acknowledged events erased (MOTO_ROLLBACK)
        else:
            problems.append(f"stored {stored} (chain valid: {chain_valid}) after {winner} won")
    gate.detail = "; ".join(problems[:3])
    return gate


def gate_raw(client, table: str) -> Gate:
    def writer(sid: str, name: str) -> Callable[[], None]:
        def put() -> None:
            try:
                client.put_item(TableName=table, Item={"stream_id": {"S": sid}, "version": {"N": "1"},
                                                       "correlation_id": {"S": name}},
                                ConditionExpression="attribute_not_exists(stream_id)")
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    raise ConcurrencyConflict(sid, 0) from None
                raise
        return put

    def stored_by(sid: str) -> list[str]:
        items = client.query(TableName=table, KeyConditionExpression="stream_id = :s",
                             ExpressionAttributeValues={":s": {"S": sid}}, ConsistentRead=True)["Items"]
        return [item["correlation_id"]["S"] for item in items]

    sid = new_stream_id("GATE")
    writer(sid, "A")()
    try:
        writer(sid, "B")()
        sequential = False
    except ConcurrencyConflict:
        sequential = stored_by(sid) == ["A"]
    gate = Gate("raw boto3", "conditional PutItem", GATE_TRIALS, 0, 0, sequential)
    problems = []
    for _ in range(GATE_TRIALS):
        sid = new_stream_id("GATE")
        outcomes = race(writer(sid, "A"), writer(sid, "B"), refused=(ConcurrencyConflict,))
        if sorted(outcomes) != ["refused", "won"]:
            problems.append(str(outcomes))
            continue
        gate.one_winner += 1
        winner = "A" if outcomes[0] == "won" else "B"
        stored = stored_by(sid)
        if stored == [winner]:
            gate.intact += 1
        else:
            gate.loser_persisted += 1 if stored else 0
            problems.append(f"stored {stored} after {winner} won")
    gate.detail = "; ".join(problems[:3])
    return gate


def gate_aett(stores: AettStores) -> Gate:
    def two_writers(sid: str) -> list[Callable[[], None]]:
        seed = stores.repository()
        aggregate = seed.get(BenchReport, sid)
        aggregate.post("seed")
        seed.save(aggregate)
        writes = []
        for name in ("A", "B"):
            repository = stores.repository()
            loaded = repository.get(BenchReport, sid)  # both writers load version 1
            loaded.post(name)
            writes.append(lambda repository=repository, loaded=loaded: repository.save(loaded))
        return writes

    def stored_by(sid: str) -> list[str]:
        return [event.body.message for commit in stores.commits.get(TENANT, sid) for event in commit.events][1:]

    sid = new_stream_id("GATE")
    first, second = two_writers(sid)
    first()
    try:
        second()
        sequential = False
    except AETT_CONFLICTS:
        sequential = stored_by(sid) == ["A"]
    gate = Gate("aett 3.4.1", "conditional PutItem (commit)", GATE_TRIALS, 0, 0, sequential)
    problems = []
    for _ in range(GATE_TRIALS):
        sid = new_stream_id("GATE")
        outcomes = race(*two_writers(sid), refused=AETT_CONFLICTS)
        if sorted(outcomes) != ["refused", "won"]:
            problems.append(str(outcomes))
            continue
        gate.one_winner += 1
        winner = "A" if outcomes[0] == "won" else "B"
        stored = stored_by(sid)
        if stored == [winner]:
            gate.intact += 1
        else:
            gate.loser_persisted += 1 if stored else 0
            problems.append(f"stored {stored} after {winner} won")
    gate.detail = "; ".join(problems[:3])
    return gate


# ---------------------------------------------------------------------------------------- 3. throughput

@dataclass
class Timings:
    load: list[float] = field(default_factory=list)
    append: list[float] = field(default_factory=list)
    command: list[float] = field(default_factory=list)
    envelope: list[float] = field(default_factory=list)  # ours only: chain_events (hash chain) inside append
    requests: Counter = field(default_factory=Counter)
    commands: int = 0


class Contender:
    name = ""
    short = ""

    def __init__(self) -> None:
        self.timings = Timings()
        self.streams: list[str] = []

    def command(self, stream_id: str) -> tuple[float, float, float]:
        """One command: load the stream, decide, append one event. Returns (load, append, envelope) seconds."""
        raise NotImplementedError

    def run(self, stream_ids: list[str], record: bool) -> None:
        for stream_id in stream_ids:
            with COUNTER.measure() as seen:
                started = time.perf_counter()
                load, append, envelope = self.command(stream_id)
                elapsed = time.perf_counter() - started
            if record:
                self.timings.load.append(ms(load))
                self.timings.append.append(ms(append))
                self.timings.command.append(ms(elapsed))
                self.timings.envelope.append(ms(envelope))
                self.timings.requests.update(seen)
                self.timings.commands += 1


class RawBoto3(Contender):
    """The floor: boto3's low-level client, LAPOR's events table and item layout, no hashing, no model."""

    name, short = "raw boto3 (Query + conditional PutItem)", "raw boto3"
    extra: dict[str, str] = {}

    def __init__(self, url: str, prefix: str = "bench-raw") -> None:
        super().__init__()
        self.table = create_tables(dynamodb_client(url), prefix, only=("events",))["events"]
        self.client = dynamodb_client(url)
        model = bind(EventItem, self.table, host=url, region=REGION)
        template = stored_events("TEMPLATE", 1, T0)[0]
        self.template = to_item(model, template).serialize()  # same attributes and sizes as ours

    def command(self, stream_id: str) -> tuple[float, float, float]:
        started = time.perf_counter()
        items: list[dict[str, Any]] = []
        kwargs = dict(TableName=self.table, KeyConditionExpression="stream_id = :s",
                      ExpressionAttributeValues={":s": {"S": stream_id}}, ConsistentRead=True, **self.extra)
        while True:
            page = self.client.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        loaded = time.perf_counter()
        version = len(items) + 1
        item = dict(self.template, stream_id={"S": stream_id}, version={"N": str(version)},
                    at_key={"S": f"{self.template['occurred_at']['S']}#{stream_id}#{version:010d}"})
        self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(stream_id)",
                             **self.extra)
        return loaded - started, time.perf_counter() - loaded, 0.0

    def seed(self, items: list[dict[str, Any]]) -> None:
        batch_put(self.client, self.table, items)


class RawBoto3ConsumedCapacity(RawBoto3):
    """The floor plus ReturnConsumedCapacity=TOTAL, which pynamodb adds to every data-plane request.

    Not a target: it shows how much of the gap between ours and the floor is that one parameter (moto computes
    the capacity and returns it; on AWS the cost is negligible)."""

    name, short = "raw boto3 + ReturnConsumedCapacity=TOTAL (what pynamodb sends)", "raw boto3 + RCC"
    extra = {"ReturnConsumedCapacity": "TOTAL"}

    def __init__(self, url: str) -> None:
        super().__init__(url, prefix="bench-rawrcc")


class LaporStore(Contender):
    """Ours: DynamoDBEventStore.load, then chain_events + DynamoDBEventStore.append (one conditional PutItem)."""

    name, short = "our DynamoDBEventStore (load + chain_events + append)", "our store"

    def __init__(self, url: str) -> None:
        super().__init__()
        names = create_tables(dynamodb_client(url), "bench-lapor")
        self.table = names["events"]
        self.store = DynamoDBEventStore(names, host=url, region=REGION)
        self.client = dynamodb_client(url)

    def command(self, stream_id: str) -> tuple[float, float, float]:
        started = time.perf_counter()
        history = self.store.load(stream_id)
        loaded = time.perf_counter()
        stored = chain_events(stream_id, history[-1] if history else None, [e.FollowUpPosted(message=MESSAGE)],
                              actor=ACTOR, channel="web", now=T0, correlation_id=str(uuid.uuid4()),
                              causation_id=None)
        chained = time.perf_counter()
        self.store.append(Append(stream_id, len(history), stored))
        return loaded - started, time.perf_counter() - loaded, chained - loaded

    def seed(self, items: list[dict[str, Any]]) -> None:
        batch_put(self.client, self.table, items)


class Aett(Contender):
    """aett 3.4.1: repository.get (snapshot Query + commits Query on its RevisionIndex), raise, repository.save."""

    name, short = "aett 3.4.1 (get + raise_event + save)", "aett 3.4.1"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.stores = make_aett(url, "bench-aett")
        self.repository = self.stores.repository()
        self.table = self.stores.commits_table
        self.url = url

    def command(self, stream_id: str) -> tuple[float, float, float]:
        started = time.perf_counter()
        aggregate = self.repository.get(BenchReport, stream_id)
        loaded = time.perf_counter()
        aggregate.post(MESSAGE)
        self.repository.save(aggregate)
        return loaded - started, time.perf_counter() - loaded, 0.0

    def seed_commits(self, streams: int, length: int) -> None:
        table = boto3.resource("dynamodb", endpoint_url=self.url, region_name=REGION).Table(self.table)
        with table.batch_writer() as writer:
            for _ in range(streams):
                sid = new_stream_id("BG")
                for sequence in range(1, length + 1):
                    writer.put_item(Item=aett_commit_item(sid, sequence))


def count_items(client, table: str) -> int:
    return client.describe_table(TableName=table)["Table"]["ItemCount"]


def throughput(url: str) -> tuple[list[Contender], dict[str, int], float]:
    raw, raw_rcc, ours, aett = RawBoto3(url), RawBoto3ConsumedCapacity(url), LaporStore(url), Aett(url)
    contenders: list[Contender] = [raw, raw_rcc, ours, aett]

    # Identical background: BACKGROUND_ITEMS items in other streams of every table.
    background_streams = BACKGROUND_ITEMS // BACKGROUND_STREAM_LENGTH
    model = bind(EventItem, ours.table, host=url, region=REGION)
    items = [to_item(model, event).serialize()
             for _ in range(background_streams)
             for event in stored_events(new_stream_id("BG"), BACKGROUND_STREAM_LENGTH, T0)]
    raw.seed(items)
    raw_rcc.seed(items)
    ours.seed(items)
    aett.seed_commits(background_streams, BACKGROUND_STREAM_LENGTH)

    for contender in contenders:
        contender.streams = [new_stream_id("LAP") for _ in range(STREAMS)]
    warmups = {contender.short: [new_stream_id("WARM") for _ in range(WARMUP_STREAMS)] for contender in contenders}

    def interleaved(rounds: int, streams: Callable[[Contender], list[str]], record: bool) -> None:
        # Command by command: stream i of every contender in turn, rotating who goes first, so every table
        # grows alike and bursts of machine load (other processes on a shared box) fall on all contenders.
        for round_index in range(rounds):
            for i in range(len(streams(contenders[0]))):
                shift = (round_index + i) % len(contenders)
                for contender in contenders[shift:] + contenders[:shift]:
                    contender.run([streams(contender)[i]], record=record)

    started = time.perf_counter()
    interleaved(WARMUP_EVENTS, lambda contender: warmups[contender.short], record=False)
    interleaved(EVENTS_PER_STREAM, lambda contender: contender.streams, record=True)
    elapsed = time.perf_counter() - started

    client = dynamodb_client(url)
    sizes = {contender.short: count_items(client, contender.table) for contender in contenders}
    return contenders, sizes, elapsed


def check_streams(contenders: list[Contender]) -> list[str]:
    """After the run every measured stream must hold exactly EVENTS_PER_STREAM events (and ours a valid chain)."""
    problems = []
    raw, raw_rcc, ours, aett = contenders
    for sid in ours.streams[:10]:
        history = ours.store.load(sid)
        if len(history) != EVENTS_PER_STREAM or not verify_chain(sid, [s.to_dict() for s in history]).valid:
            problems.append(f"our store: {sid} has {len(history)} events or a broken chain")
    for sid in aett.streams[:10]:
        if aett.repository.get(BenchReport, sid).version != EVENTS_PER_STREAM:
            problems.append(f"aett: {sid} is not at version {EVENTS_PER_STREAM}")
    for contender in (raw, raw_rcc):
        for sid in contender.streams[:10]:
            n = len(contender.client.query(TableName=contender.table, KeyConditionExpression="stream_id = :s",
                                           ExpressionAttributeValues={":s": {"S": sid}},
                                           ConsistentRead=True)["Items"])
            if n != EVENTS_PER_STREAM:
                problems.append(f"{contender.short}: {sid} has {n} items")
    return problems


# ------------------------------------------------------------------------------------------------ report

def versions() -> dict[str, str]:
    out = {}
    for name in ("moto", "boto3", "botocore", "pynamodb", "aett", "pydantic", "werkzeug"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def per_command(seen: Counter, commands: int) -> str:
    parts = [f"{op} {n / commands:g}" for op, n in sorted(operations(seen).items())]
    return ", ".join(parts)


def render(counts: CountResults, gates: list[Gate], contenders: list[Contender], sizes: dict[str, int],
           elapsed: float, problems: list[str], started_at: dt.datetime, wall: float,
           more: list[str], part_seconds: dict[str, float]) -> tuple[str, bool]:
    raw, raw_rcc, ours, aett = contenders
    lines: list[str] = []
    add = lines.append
    facts = versions()
    add("# LAPOR benchmark (moto server): event store, projections, rebuild, read costs, deadline sweep")
    add("")
    add(f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; whole run {wall:.0f} s ("
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in part_seconds.items())
        + f"; section 3's timed run {elapsed:.0f} s)")
    end_load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    add(f"- Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, load average (1/5/15 min) "
        f"at start {', '.join(f'{x:.2f}' for x in LOADAVG)}, at end {', '.join(f'{x:.2f}' for x in end_load)} "
        f"(a shared machine: other processes compete); Python {platform.python_version()}")
    add("- Versions: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    add("- Server: one moto ThreadedMotoServer on 127.0.0.1 in the same process (client and server share the "
        "GIL and the CPUs); every request is real HTTP (moto answers `Connection: close`, so each request opens "
        "a new TCP connection, for every contender alike). Where sections 4-7 say *in-process*, the same moto "
        "backend (same tables, same moto_speedups) is called in this process without HTTP.")
    add("- Reproduce: `make bench` (installs the `bench` extra of pyproject.toml, runs `python -m tests.bench`); with the "
        "benchmark venv: `python -m tests.bench` from the repository root.")
    add("- Numbers from moto are **not predictive of AWS**. They compare client-side work under identical "
        "server conditions.")
    add("")

    add("## 1. DynamoDB requests per command (real CommandHandler, counted with a botocore `before-send` hook)")
    add("")
    add("| command | requests | by operation | expected | ok |")
    add("|---|---|---|---|---|")
    all_ok = True
    for label, steps in (("", counts.plain), (" + Idempotency-Key", counts.idempotent)):
        for step in steps:
            expected = ", ".join(f"{op} {n}" for op, n in sorted(step.expected.items()))
            all_ok &= step.ok
            add(f"| {step.name}{label} | {total(step.seen)} | {breakdown(step.seen)} | {expected} | "
                f"{'yes' if step.ok else '**NO**'} |")
    view_ok = operations(counts.view_get) == {"GetItem": 1}
    http_ok = operations(counts.http_get) == {"GetItem": 1} and counts.http_status == 200
    all_ok &= view_ok and http_ok
    add(f"| `services.views.get(id)` | {total(counts.view_get)} | {breakdown(counts.view_get)} | GetItem 1 | "
        f"{'yes' if view_ok else '**NO**'} |")
    add(f"| GET /reports/{{id}} (Chalice route, HTTP {counts.http_status}) | {total(counts.http_get)} | "
        f"{breakdown(counts.http_get)} | GetItem 1 | {'yes' if http_ok else '**NO**'} |")
    events = counts.projected_events
    views = Counter({k: n for k, n in counts.projection.items() if k[0] == "dynamodb" and k[2] == "report_views"})
    views_ok = {op: n / events for op, n in operations(views).items()} == {"GetItem": 1, "PutItem": 1}
    all_ok &= views_ok
    add(f"| projector, report view, per event ({events} events) | {total(views) / events:.3g} | "
        f"{breakdown(views, per=events)} | GetItem 1 (consistent), PutItem 1 (version-guarded) | "
        f"{'yes' if views_ok else '**NO**'} |")
    add(f"| projector, all read models, per event | {total(counts.projection) / events:.3g} | "
        f"{breakdown(counts.projection, per=events)} | (informational) | |")
    add("")
    add("Table names are shown without the run's prefix. The projector is the one the `project_events` Lambda "
        f"runs, over every read model ({', '.join(counts.read_models)}). Reads of the report view look up the "
        "live blue/green generation in the control table at most once per 5 s per process (one GetItem, "
        "cached), never per request; the rows above are measured with that lookup cached.")
    add(f"The stream pump itself made {total(counts.pump_calls, 'dynamodb-streams')} DynamoDB Streams calls "
        f"({breakdown(counts.pump_calls, 'dynamodb-streams')}) for that drain. The report ended "
        f"`{counts.final_status}`; its hash chain verified: {'yes' if counts.chain_ok else '**NO**'}.")
    add("Without an Idempotency-Key a one-event command is one conditional PutItem; with one (or with the "
        "reporter's identity on submit, or two events as in accept) it is one TransactWriteItems.")
    add("")

    add(f"## 2. Correctness gate: two writers at the same version ({GATE_TRIALS} concurrent races per row)")
    add("")
    add("| store | write path | sequential: 2nd refused | concurrent: exactly one winner | "
        "stream = seed + winner only | winner's write erased by moto | loser's events stored | result |")
    add("|---|---|---|---|---|---|---|---|")
    for gate in gates:
        add(f"| {gate.contender} | {gate.path} | {'yes' if gate.sequential else '**NO**'} | "
            f"{gate.one_winner}/{gate.trials} | {gate.intact}/{gate.trials} | {gate.wiped}/{gate.trials} | "
            f"{gate.loser_persisted}/{gate.trials} | {'PASS' if gate.passed else '**FAIL** ' + gate.detail} |")
    add("")
    add("Sequential: both writers load version 1, A appends, then B appends at the same expected version and "
        "must be refused. Concurrent: both load version 1, wait on a barrier, then write at once from two "
        "threads; the loser must be refused (ConcurrencyConflict; aett: Conflicting/NonConflictingCommitException) "
        "and never stored; afterwards the stream must hold the seed and the winner's events (ours: hash chain "
        "valid).")
    if any(gate.wiped for gate in gates):
        add("")
        add(f"**Winner's write erased by moto:** {MOTO_ROLLBACK} tests.moto_speedups serializes every "
            "moto write under one lock to prevent exactly this, yet it happened here: a regression to look at. The "
            "refusal itself (exactly one winner) held every time.")
    add("")

    add(f"## 3. Throughput: {STREAMS} streams x {EVENTS_PER_STREAM} events per contender "
        f"(each event = one command: load + decide + append)")
    add("")
    add(f"Fresh table per contender, {BACKGROUND_ITEMS} background items pre-seeded in each "
        f"({BACKGROUND_ITEMS // BACKGROUND_STREAM_LENGTH} other streams x {BACKGROUND_STREAM_LENGTH}); "
        f"{WARMUP_STREAMS * WARMUP_EVENTS} warm-up commands each, discarded; commands interleaved one by one "
        "across contenders in rotating order. Items at the end: "
        + ", ".join(f"{k} {v}" for k, v in sizes.items()) + ".")
    add("")
    add("| contender | append p50 | append p95 | load p50 | load p95 | command p50 | command p95 | "
        "append / raw (p50) | load / raw (p50) | requests per command |")
    add("|---|---|---|---|---|---|---|---|---|---|")
    raw_append, raw_load = pct(raw.timings.append, 50), pct(raw.timings.load, 50)
    for contender in contenders:
        t = contender.timings
        add(f"| {contender.name} | {pct(t.append, 50):.2f} | {pct(t.append, 95):.2f} | {pct(t.load, 50):.2f} | "
            f"{pct(t.load, 95):.2f} | {pct(t.command, 50):.2f} | {pct(t.command, 95):.2f} | "
            f"{pct(t.append, 50) / raw_append:.2f}x | {pct(t.load, 50) / raw_load:.2f}x | "
            f"{per_command(t.requests, t.commands)} |")
    add("")
    add("All times in ms per operation. *append* = raw: PutItem; ours: chain_events + store.append; aett: "
        "raise_event + repository.save. *load* = raw: Query (all pages); ours: store.load; aett: repository.get. "
        "*command* = the whole load + decide + append.")
    add("")
    ours_ratio = pct(ours.timings.append, 50) / raw_append
    ours_ratio95 = pct(ours.timings.append, 95) / pct(raw.timings.append, 95)
    envelope = pct(ours.timings.envelope, 50)
    put_only = [a - b for a, b in zip(ours.timings.append, ours.timings.envelope)]
    met = ours_ratio <= TARGET_RATIO
    low, high = median_ratio_ci(ours.timings.append, raw.timings.append)
    add("### Verdict")
    add("")
    add(f"- Target: our append within {TARGET_RATIO}x of raw boto3 conditional PutItem (p50). Measured "
        f"{ours_ratio:.2f}x at p50 (95% bootstrap interval {low:.2f}-{high:.2f}x; {ours_ratio95:.2f}x at p95): "
        f"**{'MET' if met else 'MISSED'}**.")
    rcc_append = pct(raw_rcc.timings.append, 50)
    ours_append = pct(ours.timings.append, 50)
    add(f"- Where our append time goes (p50): chain_events (envelope + SHA-256 over canonical JSON) "
        f"{envelope:.3f} ms ({100 * envelope / ours_append:.0f}% of an append); store.append (pynamodb model "
        f"build and serialization, condition expression, ReturnConsumedCapacity=TOTAL, HTTP round trip) "
        f"{pct(put_only, 50):.2f} ms. Floor: raw PutItem {raw_append:.2f} ms; raw PutItem with "
        f"ReturnConsumedCapacity=TOTAL (which pynamodb adds to every data-plane request) {rcc_append:.2f} ms.")
    if low > 1.0:
        add(f"- The gap over the floor is {ours_append - raw_append:.2f} ms at p50, of which the hash chain is "
            f"{envelope:.2f} ms; the rest is pynamodb's client-side work and the ReturnConsumedCapacity it always "
            "asks for (compare the raw + RCC row).")
    else:
        add(f"- Ours is not measurably slower than the floor here: the interval of the ratio "
            f"{'includes 1.0' if high >= 1.0 else 'lies below 1.0, which can only be noise'} (a shared machine). "
            "The HTTP round trip to moto and "
            "moto's own work dominate every append; the client-side work (hash chain, pynamodb) is a small part.")
    add(f"- Load: ours {pct(ours.timings.load, 50) / raw_load:.2f}x raw Query at p50, "
        f"aett {pct(aett.timings.load, 50) / raw_load:.2f}x (aett's get is two Queries: the snapshot table, then "
        "the commits table's RevisionIndex). On moto, Query time is dominated by moto scanning the whole table, "
        "which is why load dwarfs append for everyone.")
    add("- aett writes one item per commit (all of a commit's events as one JSON blob, plus 2 LSI entries); "
        "ours writes one item per event (plus the by-day GSI entry). With one event per command both write one "
        "item. aett does not page its Query (truncates streams over 1 MB) and has no global read order.")
    if problems:
        add("- **Post-run stream check failed:** " + "; ".join(problems))
    else:
        add(f"- Post-run check: sampled streams of every contender hold exactly {EVENTS_PER_STREAM} events "
            "(ours with a valid hash chain).")
    add("")
    add("### Notes on the setup")
    add("")
    add("- Requests are counted by appending a `before-send` handler to `botocore.handlers.BUILTIN_HANDLERS` "
        "before any session exists (moto's `mock_aws` hooks in at the same place). Every botocore session, and "
        "so every client, in the process gets it: pynamodb's per-Connection sessions, boto3's default session "
        "and aett's own `boto3.Session`. It fires once per HTTP attempt, so retries would show.")
    add("- aett's documented local mode (`region=\"localhost\"`, `port=N`, i.e. `http://localhost:N`) does not "
        "work against moto 5.2.5: SigV4 then names region `localhost` and moto answers HTTP 500 "
        "(`KeyError: 'localhost'`). aett is therefore given region "
        f"`{REGION}` and botocore's standard `AWS_ENDPOINT_URL_DYNAMODB`, set only while its clients are created.")
    add("- moto runs with `tests.moto_speedups` installed, as under `lapor serve` and the tests: it "
        "takes moto's transaction rollback snapshot once per table instead of once per item, and serializes every "
        "moto write under one lock (the single-writer throughput run never waits on it).")
    add("- aett runs with its DefaultAggregateRepository as documented (snapshot store on, no snapshots taken), "
        "so every get costs two Queries; its snapshot table is empty, so moto's per-table scan is cheap there.")
    add(f"- {MOTO_ROLLBACK} moto_speedups' write lock rules that out in this process (and "
        "under `lapor serve`); the gate's *erased* column checks it on every run.")
    add("- The raw contenders write the same attributes and sizes as ours (a serialized LAPOR event as template, "
        "with its stream, version and index key replaced) without computing a hash: it is the floor.")
    add("")
    lines += more
    all_ok &= all(gate.passed for gate in gates) and not problems and counts.chain_ok
    return "\n".join(lines).rstrip("\n") + "\n", all_ok


LOADAVG = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)


def extended(url: str, part_seconds: dict[str, float]) -> tuple[list[str], bool]:
    """Sections 4-7: projection throughput, rebuild, reads vs number of reports, the deadline sweep."""
    from tests.bench import read_models, rebuild, sweep

    began = time.perf_counter()
    print(f"4/8 projection throughput: {read_models.PROJECTION_REPORTS * 5} events through every read model ...",
          file=sys.stderr)
    projection = read_models.projection_throughput(url)
    part_seconds["section 4"] = time.perf_counter() - began

    began = time.perf_counter()
    print(f"5/8 rebuild: {projection.events} events over HTTP, {rebuild.REBUILD_REPORTS * 5:,} in-process "
          "(the long part) ...", file=sys.stderr)
    rebuilt = rebuild.rebuild_all(projection)
    part_seconds["section 5"] = time.perf_counter() - began

    began = time.perf_counter()
    print(f"6/8 reads per request at {' and '.join(f'{n:,}' for n in read_models.READ_SIZES)} reports ...",
          file=sys.stderr)
    reads = read_models.read_costs(url)
    part_seconds["section 6"] = time.perf_counter() - began

    began = time.perf_counter()
    print(f"7/8 deadline sweep at {' and '.join(f'{n:,}' for n in sweep.SWEEP_SIZES)} open reports ...",
          file=sys.stderr)
    sweeps = sweep.sweep_costs(url)
    part_seconds["section 7"] = time.perf_counter() - began

    lines = method_notes()
    lines += read_models.render_projection(projection)
    lines += rebuild.render_rebuild(rebuilt)
    lines += read_models.render_read_costs(reads)
    lines += sweep.render_sweep(sweeps)
    log = rebuilt.large_log
    ok = (reads.ok and sweep.sweeps_equal(sweeps) and log.chains_ok and log.sample_view_ok
          and log.rebuilt_views == log.reports and all(run.due_after == 0 for run in sweeps))
    return lines, ok


def method_notes() -> list[str]:
    return [
        "## Sections 4-7: data and method",
        "",
        "- Data: for each submission day and each of two lives (submit, verify, assign, follow-up, final answer; "
        "or submit, verify, final answer, accept + close) one template report is taken through the real "
        "CommandHandler and domain on the in-memory store, so deadlines come from the working-day calendar. Every "
        "other report copies a template: its domain events, command by command, re-wrapped by `chain_events` "
        "under a new `LAP-` id (a fresh SHA-256 chain), times shifted by up to 6 h within the same day "
        "(tests/bench/data.py). Read-model items that are written directly are built with the projections' own "
        "functions (`apply`, `summary`, `index_keys`, `fold`/`contribution`, `evolve`/`state_to_json`).",
        "- Requests are counted with the same `before-send` hook as above; *items read* come from an `after-call` "
        "hook on the same handler list (GetItem: 0/1, BatchGetItem: items returned, Query: Count). moto's "
        "server-side time per backend method is taken by wrapping `DynamoDBBackend` methods in this process "
        "(tests/bench/common.py `MotoTimer`).",
        "- *In-process* means moto's `mock_aws` started without resetting data: the same backend, tables and "
        "moto_speedups the server uses, minus HTTP. Used to fill large tables quickly and for the 100,000-event "
        "rebuild; every measured request in sections 4, 6 and 7 goes to the server over HTTP.",
        "",
    ]


def main() -> int:
    wall_start, started_at = time.perf_counter(), dt.datetime.now(dt.timezone.utc)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # verbose=False does not silence per-request logs
    moto_speedups.install()  # as `lapor serve` and the tests run moto (one rollback snapshot per transaction)
    MOTO.install()  # server-side time per backend method (sections 4 and 5)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        print(f"moto server at {url}", file=sys.stderr)

        part_seconds: dict[str, float] = {}
        began = time.perf_counter()
        print("1/8 counting requests per command ...", file=sys.stderr)
        counts = count_requests(url)

        print("2/8 correctness gate (two writers, one winner) ...", file=sys.stderr)
        gate_names = create_tables(dynamodb_client(url), "bench-gate")
        gate_store = DynamoDBEventStore(gate_names, host=url, region=REGION)
        gates = [gate_lapor(gate_store, 1), gate_lapor(gate_store, 2),
                 gate_raw(dynamodb_client(url), gate_names["events"]), gate_aett(make_aett(url, "bench-gate-aett"))]
        if not all(gate.passed for gate in gates):
            print("correctness gate FAILED; throughput numbers would be meaningless", file=sys.stderr)
            for gate in gates:
                print(f"  {gate}", file=sys.stderr)
            return 1

        print(f"3/8 throughput: {STREAMS} streams x {EVENTS_PER_STREAM} events x 4 contenders ...", file=sys.stderr)
        contenders, sizes, elapsed = throughput(url)
        problems = check_streams(contenders)
        part_seconds["sections 1-3"] = time.perf_counter() - began

        more, more_ok = extended(url, part_seconds)

        from tests.bench import local_runtime

        began = time.perf_counter()
        print("8/8 local runtime: submissions and projection lag on DynamoDB Local beside moto ...", file=sys.stderr)
        local_runs = local_runtime.measure()
        more += local_runtime.render(local_runs)
        more_ok &= all(not run.errors for run in local_runs)
        part_seconds["section 8"] = time.perf_counter() - began
        text, all_ok = render(counts, gates, contenders, sizes, elapsed, problems, started_at,
                              time.perf_counter() - wall_start, more, part_seconds)
        all_ok &= more_ok
    finally:
        server.stop()
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"written to {RESULTS}", file=sys.stderr)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
