"""Sections 1-3 of `make bench`: requests per command, the two-writer correctness gate, and the throughput of
load + append against raw boto3 and the aett event store (see tests/bench/__main__.py for the method).

No `from __future__ import annotations` here: aett reads `apply_memento`'s annotation at run time.
"""
from tests.bench.common import (COUNTER, REGION, batch_put, dynamodb_client,  # noqa: E402,I001
                                endpoint_env, ms, operations)

# Everything below may create botocore sessions.
import datetime as dt  # noqa: E402
import threading  # noqa: E402
from collections import Counter  # noqa: E402
from typing import Any, Callable  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
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
    # A known Idempotency-Key is answered from its record before anything is decided (issue 7): one GetItem.
    key_read = {"GetItem": 1} if idempotent else {}
    steps = []
    submit = c.SubmitReport(
        principal=ANONYMOUS_PUBLIC, title="Drainase tersumbat",
        body="Saluran air di Jl. Pahlawan tersumbat sampah, banjir tiap hujan", report_type="complaint",
        category_id="infrastruktur.drainase", region_code="64.72", addressed_institution_id=None, anonymous=False,
        confidential=False, channel="web", reporter_ref=None, access_token_hash="", location=None)
    personal = {"name": "Siti Aminah", "phone": None, "email": "siti@example.id", "nik": None} if idempotent else None
    with COUNTER.measure() as seen:
        submitted = services.commands.submit(submit, request("submit"), personal)
    steps.append(Step("submit" + (" (+ identity)" if personal else ""), seen, {write: 1} | key_read))
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
        steps.append(Step(name, seen, {"Query": 1, ("TransactWriteItems" if two_events else write): 1} | key_read))
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
