"""Statistics per region, institution and period (DOMAIN §8), kept exactly once.

Each report contributes +1s to a few counters: received and its bucket (or archived), its category and
channel, its follow-up speed, whether it is overdue — in every scope it belongs to (kabupaten/kota, its
province, the nation, its institution) and every period of its submission date (month, quarter, year).
For each stream batch the projector folds each report's events onto its stored facts, diffs the old and new
contributions, sums the differences of all the batch's reports per counter item and applies them with one
atomic ADD per counter item, in ONE transaction with the guard items holding each report's last applied
version — so a redelivered event is refused by its guard and nothing is counted twice.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Protocol, Sequence

from chalicelib.clock import parse_instant
from chalicelib.domain.deadlines import MET_BY, NATIONAL_ZONE, ends_overdue, reporting_zone
from chalicelib.domain.report import ReportState, evolve, state_from_json, state_to_json
from chalicelib.domain.vocabulary import HANDLING_BUCKET_NAMES, HANDLING_BUCKETS, Status, province_of
from chalicelib.domain.working_days import WorkingDayCalendar
from chalicelib.reference import ReferenceData
from events import report as e
from events.base import StoredEvent
from events.institution import InstitutionIndicatorsRecorded
from events.report import REPORT_EVENTS
from projections.guard import Folded, PartlyApplied, fold_run, settled_by_another

_REPORT_TYPES = {cls.event_type for cls in REPORT_EVENTS}
NATIONAL = "ID"
BUCKET_FIELDS = tuple(f"b_{bucket}" for bucket in HANDLING_BUCKET_NAMES)
@dataclass(frozen=True)
class ReportFacts:
    """The aggregate's state of one report (folded by `evolve`) plus what only statistics keep."""

    state: ReportState
    zone: str = NATIONAL_ZONE  # reporting_zone: where the report was made, whoever handles it
    released: bool = False  # returned as not its authority: no longer counted for that institution
    follow_up_days: int | None = None  # working days to the first response, counted once when it comes
    overdue_clocks: tuple[str, ...] = ()  # clocks a reminder was sent for and not yet met

    @property
    def version(self) -> int:
        return self.state.version

    @property
    def status(self) -> Status:
        return self.state.status

    @property
    def region_code(self) -> str:
        return self.state.region_code

    @property
    def category_id(self) -> str | None:
        return self.state.category_id

    @property
    def channel(self) -> str:
        return self.state.channel

    @property
    def submitted_at(self) -> str:
        return self.state.submitted_at or ""

    @property
    def institution_id(self) -> str | None:
        """The institution the report counts for: the handling one, else the one it was addressed to."""
        return None if self.released else (self.state.institution_id or self.state.addressed_institution_id)

    @property
    def overdue(self) -> bool:
        return bool(self.overdue_clocks) and self.status not in (Status.CLOSED, Status.ARCHIVED)


def fold(facts: ReportFacts | None, stored: StoredEvent, reference: ReferenceData,
         calendar: WorkingDayCalendar) -> ReportFacts:
    ev = stored.event
    facts = facts or ReportFacts(state=ReportState(report_id=stored.stream_id))
    state = evolve(facts.state, stored)
    facts = replace(facts, state=state, zone=reporting_zone(state.region_code, reference),
                    released=isinstance(ev, e.ReportReturned) or (
                        facts.released and not isinstance(ev, (e.ReportVerified, e.ReportRedisposed))))
    if facts.follow_up_days is None and state.first_response_at:
        facts = replace(facts, follow_up_days=calendar.working_days_between(
            parse_instant(state.submitted_at), parse_instant(state.first_response_at), facts.zone))
    if isinstance(ev, e.ReminderSent) and ev.clock in MET_BY and ev.clock not in facts.overdue_clocks:
        facts = replace(facts, overdue_clocks=facts.overdue_clocks + (ev.clock,))
    met = tuple(clock for clock in facts.overdue_clocks if ends_overdue(clock, ev))
    if met:
        facts = replace(facts, overdue_clocks=tuple(c for c in facts.overdue_clocks if c not in met))
    return facts


def facts_to_json(facts: ReportFacts) -> str:
    return json.dumps({"state": state_to_json(facts.state), "zone": facts.zone, "released": facts.released,
                       "follow_up_days": facts.follow_up_days, "overdue_clocks": list(facts.overdue_clocks)})


def facts_from_json(text: str, report_id: str) -> ReportFacts:
    raw = json.loads(text)
    if "state" not in raw:  # written before the facts kept the aggregate's state: the same facts, upcast
        state = ReportState(report_id=report_id, version=raw["version"], status=Status(raw["status"]),
                            region_code=raw["region_code"], institution_id=raw["institution_id"],
                            category_id=raw["category_id"], channel=raw["channel"], submitted_at=raw["submitted_at"])
        raw = {"state": state, "zone": raw["zone"], "follow_up_days": raw["follow_up_days"],
               "overdue_clocks": raw["overdue_clocks"]}
    else:
        raw["state"] = state_from_json(raw["state"])
    return ReportFacts(**(raw | {"overdue_clocks": tuple(raw["overdue_clocks"])}))


def periods(facts: ReportFacts, calendar: WorkingDayCalendar) -> list[str]:
    """The month, quarter and year of the submission date, in the report's local time."""
    day = calendar.local_date(parse_instant(facts.submitted_at), facts.zone)
    return [f"{day.year}", f"{day.year}-Q{(day.month - 1) // 3 + 1}", f"{day.year}-{day.month:02d}"]


def scopes(facts: ReportFacts) -> list[str]:
    # a report that came without a region (SMS, Open311) counts nationally until its verifier sets one
    regions = {facts.region_code, province_of(facts.region_code), NATIONAL} - {""}
    found = [f"region:{code}" for code in sorted(regions)]
    if facts.institution_id:  # an institution receives a report once it is addressed or disposed to it
        found.append(f"institution:{facts.institution_id}")
    return found


def contribution(facts: ReportFacts | None, calendar: WorkingDayCalendar) -> dict[str, dict[str, int]]:
    if facts is None or facts.status == Status.NEW:
        return {}
    if facts.status == Status.ARCHIVED:
        fields = {"archived": 1}
    else:
        fields = {"received": 1, f"b_{HANDLING_BUCKETS[facts.status]}": 1, f"ch#{facts.channel}": 1}
        if facts.category_id:
            fields[f"cat#{facts.category_id}"] = 1
        if facts.follow_up_days is not None:
            fields.update(fu_count=1, fu_days_sum=facts.follow_up_days)
        if facts.overdue:
            fields["overdue"] = 1
    return {f"{scope}#{period}": dict(fields) for scope in scopes(facts) for period in periods(facts, calendar)}


def difference(new: dict[str, dict[str, int]], old: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    delta: dict[str, dict[str, int]] = {}
    for key in new.keys() | old.keys():
        fields = {name: new.get(key, {}).get(name, 0) - old.get(key, {}).get(name, 0)
                  for name in new.get(key, {}).keys() | old.get(key, {}).keys()}
        fields = {name: value for name, value in fields.items() if value}
        if fields:
            delta[key] = fields
    return delta


def figures(counters: dict[str, int] | None) -> dict[str, Any]:
    """The published figures of DOMAIN §8 from one counter item."""
    counters = counters or {}
    received = counters.get("received", 0)
    buckets = {name[2:]: counters.get(name, 0) for name in BUCKET_FIELDS}
    rate = (lambda n: round(100 * n / received, 2) if received else None)
    speed = (round(counters.get("fu_days_sum", 0) / counters["fu_count"], 1) if counters.get("fu_count") else None)
    return {
        "received": received, "buckets": buckets, "archived": counters.get("archived", 0),
        "completion_rate": rate(buckets["selesai"]),
        "follow_up_rate": rate(buckets["selesai"] + buckets["dalam_proses"]),
        "follow_up_speed_working_days": speed, "overdue": counters.get("overdue", 0),
        "by_category": {k[4:]: v for k, v in sorted(counters.items()) if k.startswith("cat#") and v},
        "by_channel": {k[3:]: v for k, v in sorted(counters.items()) if k.startswith("ch#") and v},
    }


class GuardMoved(Exception):
    """Some reports' guards are no longer at the version this write expected: someone applied them first."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = set(keys)
        super().__init__(", ".join(sorted(self.keys)))


MAX_TRANSACTION_ITEMS = 100  # TransactWriteItems' limit; both twins refuse a commit above it


@dataclass(frozen=True)
class GuardMove:
    """Move one report's guard from `last` to `version`, keeping its folded facts (JSON; None: no report)."""

    key: str
    last: int
    version: int
    facts: str | None


class CounterStore(Protocol):
    """Where statistics live. Two twins keep the same promises: DynamoDBCounters and InMemoryCounters."""

    def guards(self, keys: Iterable[str]) -> dict[str, tuple[int, str | None]]:
        """(last applied version, facts JSON) of each guard that exists, read consistently."""

    def commit(self, moves: list[GuardMove], deltas: dict[str, dict[str, int]], puts: dict[str, str]) -> None:
        """Atomically: move every guard (raise GuardMoved naming those not at their `last`: then nothing is
        written), ADD every delta, put every JSON document in `puts`; at most MAX_TRANSACTION_ITEMS items."""

    def read_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Items by key: counters as {name: int}, documents as {"document": str}."""


def transaction_items(moves: list[GuardMove], deltas: dict[str, Any], puts: dict[str, Any]) -> int:
    return len(moves) + len(deltas) + len(puts)


def add_into(total: dict[str, dict[str, int]], delta: dict[str, dict[str, int]]) -> None:
    """Sum one report's delta into the batch's; a field that sums to 0 is dropped (nothing to ADD)."""
    for key, fields in delta.items():
        into = total.setdefault(key, {})
        for name, value in fields.items():
            into[name] = into.get(name, 0) + value
            if not into[name]:
                del into[name]
        if not into:
            del total[key]


@dataclass
class _Plan:
    """One report's run folded: its guard move and what it adds."""

    run: Sequence[StoredEvent]
    folded: Folded
    move: GuardMove
    deltas: dict[str, dict[str, int]]
    puts: dict[str, str]


class Statistics:
    """Counters `<scope>#<period>`, guards `guard#<stream>`, indicators `indicators#<inst>#<year>`."""

    def __init__(self, counters: CounterStore, *, reference: ReferenceData, calendar: WorkingDayCalendar) -> None:
        self._counters, self._reference, self._calendar = counters, reference, calendar

    def handles(self, stored: StoredEvent) -> bool:
        return stored.type in _REPORT_TYPES or stored.type == InstitutionIndicatorsRecorded.event_type

    def project(self, stored: StoredEvent) -> bool:
        """One event exactly once; False when it had already been applied (a redelivery)."""
        (outcome,), applied = self._project_runs([[stored]])
        if outcome is not None:
            raise outcome.cause
        return applied == 1

    def project_runs(self, runs: Sequence[Sequence[StoredEvent]]) -> list[PartlyApplied | None]:
        """A stream batch, as runs of each report's events in version order. The guards are read together
        (BatchGetItem), each run is folded in memory with `fold`, and the contributions of the whole batch are
        summed per counter item: ONE transaction moves every guard (each conditioned on the version read) and
        ADDs each counter item once — split only where TransactWriteItems' 100 items would be exceeded, and
        never inside one report's guard and contributions."""
        return self._project_runs(runs)[0]

    def _project_runs(self, runs: Sequence[Sequence[StoredEvent]]) -> tuple[list[PartlyApplied | None], int]:
        """The outcome of each run, and how many events were applied now."""
        outcomes: dict[int, PartlyApplied | None] = {}
        try:
            guards = self._counters.guards(f"guard#{run[0].stream_id}" for run in runs)
        except Exception as failure:  # noqa: BLE001 — nothing read, nothing written: every run fails whole
            return [PartlyApplied(0, failure) for _ in runs], 0
        plans: list[tuple[int, _Plan]] = []
        for number, run in enumerate(runs):
            try:
                plan = self._plan(run, guards.get(f"guard#{run[0].stream_id}"))
            except Exception as failure:  # noqa: BLE001 — an unreadable guard: this report alone fails
                outcomes[number] = PartlyApplied(0, failure)
                continue
            if plan.folded.new:
                plans.append((number, plan))
            else:
                outcomes[number] = self._settle(plan.folded)
        applied = sum(self._commit(chunk, outcomes) for chunk in self._chunks(plans))
        return [outcomes.get(number) for number in range(len(runs))], applied

    def _plan(self, run: Sequence[StoredEvent], guard: tuple[int, str | None] | None) -> _Plan:
        stream_id = run[0].stream_id
        last = guard[0] if guard else 0
        old = facts_from_json(guard[1], stream_id) if guard and guard[1] else None
        puts: dict[str, str] = {}

        def step(facts: ReportFacts | None, stored: StoredEvent) -> ReportFacts | None:
            event = stored.event
            if isinstance(event, InstitutionIndicatorsRecorded):
                puts[f"indicators#{event.institution_id}#{event.year}"] = json.dumps({
                    "institution_id": event.institution_id, "year": event.year, "has_sk": event.has_sk,
                    "has_renaksi": event.has_renaksi, "follow_up_quality": event.follow_up_quality,
                    "recorded_at": stored.occurred_at, "recorded_by": stored.actor.to_dict()})
                return None
            return fold(facts, stored, self._reference, self._calendar)

        folded = fold_run(run, last, old, step)
        new = folded.value
        deltas = difference(contribution(new, self._calendar), contribution(old, self._calendar))
        move = GuardMove(f"guard#{stream_id}", last, folded.version, facts_to_json(new) if new else None)
        return _Plan(run, folded, move, deltas, puts)

    @staticmethod
    def _chunks(plans: list[tuple[int, _Plan]]) -> list[list[tuple[int, _Plan]]]:
        """Reports in order, as many per transaction as fit in its item limit (a counter item shared by
        several reports counts once: their ADDs are summed)."""
        chunks: list[list[tuple[int, _Plan]]] = []
        keys: set[str] = set()
        for number, plan in plans:
            mine = set(plan.deltas) | set(plan.puts)
            if not chunks or len(chunks[-1]) + 1 + len(keys | mine) > MAX_TRANSACTION_ITEMS:
                chunks.append([])
                keys = set()
            chunks[-1].append((number, plan))
            keys |= mine
        return chunks

    def _commit(self, chunk: list[tuple[int, _Plan]], outcomes: dict[int, PartlyApplied | None]) -> int:
        """Commit one chunk; records each run's outcome; returns the events applied now."""
        while chunk:
            deltas: dict[str, dict[str, int]] = {}
            puts: dict[str, str] = {}
            for _, plan in chunk:
                add_into(deltas, plan.deltas)
                puts.update(plan.puts)
            try:
                self._counters.commit([plan.move for _, plan in chunk], deltas, puts)
            except GuardMoved as moved:
                # A concurrent delivery moved these guards: they are settled against what it reached; the
                # others are committed again without them (nothing of the refused transaction was written).
                lost = [(n, plan) for n, plan in chunk if plan.move.key in moved.keys] or chunk
                latest = self._counters.guards(plan.move.key for _, plan in lost)
                for number, plan in lost:
                    try:
                        settled_by_another(plan.run, latest.get(plan.move.key, (0, None))[0], moved)
                        outcomes[number] = None
                    except PartlyApplied as partly:
                        outcomes[number] = partly
                settled = {n for n, _ in lost}
                chunk = [(n, plan) for n, plan in chunk if n not in settled]
                continue
            except Exception as failure:  # noqa: BLE001 — throttled, a network error: none of the chunk is in
                for number, plan in chunk:
                    outcomes[number] = plan.folded.unwritten(failure)
                return 0
            for number, plan in chunk:
                outcomes[number] = self._settle(plan.folded)
            return sum(len(plan.folded.new) for _, plan in chunk)
        return 0

    @staticmethod
    def _settle(folded: Folded) -> PartlyApplied | None:
        try:
            folded.finish()
        except PartlyApplied as partly:
            return partly
        return None

    def read(self, scope: str, period: str) -> dict[str, int] | None:
        """One item read, however many reports exist."""
        return self._counters.read_many([f"{scope}#{period}"]).get(f"{scope}#{period}")

    def read_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._counters.read_many(keys)

    @staticmethod
    def indicators_of(item: dict[str, Any] | None) -> dict[str, Any] | None:
        return json.loads(item["document"]) if item else None


class InMemoryCounters:
    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.commits = 0  # transactions committed, as DynamoDBCounters would send them

    def guards(self, keys: Iterable[str]) -> dict[str, tuple[int, str | None]]:
        found = {}
        for key in keys:
            item = self._items.get(key)
            if item:
                found[key] = (item["version"], item.get("facts"))
        return found

    def commit(self, moves: list[GuardMove], deltas: dict[str, dict[str, int]], puts: dict[str, str]) -> None:
        if transaction_items(moves, deltas, puts) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{transaction_items(moves, deltas, puts)} items in one transaction "
                             f"(DynamoDB allows {MAX_TRANSACTION_ITEMS})")
        with self._lock:
            moved = [move.key for move in moves if self._items.get(move.key, {}).get("version", 0) != move.last]
            if moved:
                raise GuardMoved(moved)
            for move in moves:
                self._items[move.key] = {"version": move.version, "facts": move.facts}
            for key, fields in deltas.items():
                counters = self._items.setdefault(key, {})
                for name, value in fields.items():
                    counters[name] = counters.get(name, 0) + value
            for key, document in puts.items():
                self._items[key] = {"document": document}
            self.commits += 1

    def read_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {key: dict(self._items[key]) for key in keys if key in self._items}


class DynamoDBCounters:
    """The guard put and every counter ADD in ONE TransactWriteItems: all counted once, or none."""

    def __init__(self, table_name: str, client: Callable[[], Any]) -> None:
        self._table, self._client = table_name, client

    def guards(self, keys: Iterable[str]) -> dict[str, tuple[int, str | None]]:
        """BatchGetItem, consistent: one request per 100 guards (a stream batch holds at most 100 records)."""
        keys, found = list(dict.fromkeys(keys)), {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {self._table: {"Keys": [{"key": {"S": k}} for k in keys[start:start + 100]],
                                                     "ConsistentRead": True}}
            while pending:
                response = self._client().batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self._table, []):
                    found[item["key"]["S"]] = (int(item["version"]["N"]), item.get("facts", {}).get("S"))
                pending = response.get("UnprocessedKeys") or {}
        return found

    def commit(self, moves: list[GuardMove], deltas: dict[str, dict[str, int]], puts: dict[str, str]) -> None:
        if transaction_items(moves, deltas, puts) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"{transaction_items(moves, deltas, puts)} items in one transaction "
                             f"(DynamoDB allows {MAX_TRANSACTION_ITEMS})")
        writes: list[dict[str, Any]] = []
        for move in moves:  # first, so a cancellation reason's index names the guard
            condition = ({"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "key"}}
                         if move.last == 0 else
                         {"ConditionExpression": "#v = :last", "ExpressionAttributeNames": {"#v": "version"},
                          "ExpressionAttributeValues": {":last": {"N": str(move.last)}}})
            guard_item = {"key": {"S": move.key}, "version": {"N": str(move.version)}}
            if move.facts is not None:
                guard_item["facts"] = {"S": move.facts}
            writes.append({"Put": {"TableName": self._table, "Item": guard_item, **condition}})
        for key, fields in sorted(deltas.items()):
            names = sorted(fields)
            writes.append({"Update": {
                "TableName": self._table, "Key": {"key": {"S": key}},
                "UpdateExpression": "ADD " + ", ".join(f"#f{i} :v{i}" for i in range(len(names))),
                "ExpressionAttributeNames": {f"#f{i}": name for i, name in enumerate(names)},
                "ExpressionAttributeValues": {f":v{i}": {"N": str(fields[name])} for i, name in enumerate(names)}}})
        for key, document in sorted(puts.items()):
            writes.append({"Put": {"TableName": self._table,
                                   "Item": {"key": {"S": key}, "document": {"S": document}}}})
        client = self._client()
        try:
            if len(writes) == 1:  # one guard, nothing to count: a conditional put alone
                client.put_item(**writes[0]["Put"])
            else:
                client.transact_write_items(TransactItems=writes)
        except client.exceptions.ConditionalCheckFailedException:
            raise GuardMoved([moves[0].key]) from None
        except client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons") or []
            moved = [move.key for move, reason in zip(moves, reasons) if reason.get("Code") == "ConditionalCheckFailed"]
            if moved:
                raise GuardMoved(moved) from None
            raise

    def read_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """BatchGetItem: one request per 100 keys (a ranking reads one item per region)."""
        keys, found = list(dict.fromkeys(keys)), {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {self._table: {"Keys": [{"key": {"S": k}} for k in keys[start:start + 100]]}}
            while pending:
                response = self._client().batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self._table, []):
                    found[item["key"]["S"]] = ({"document": item["document"]["S"]} if "document" in item else
                                               {n: int(v["N"]) for n, v in item.items() if "N" in v})
                pending = response.get("UnprocessedKeys") or {}
        return found
