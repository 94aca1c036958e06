"""Statistics per region, institution and period (DOMAIN §8), kept exactly once.

Each report contributes +1s to a few counters: received and its bucket (or archived), its category and
channel, its follow-up speed, whether it is overdue — in every scope it belongs to (kabupaten/kota, its
province, the nation, its institution) and every period of its submission date (month, quarter, year).
On each event the projector folds the report's facts, diffs the old and new contributions and applies
the difference with atomic ADDs, in ONE transaction with a guard item holding the report's last applied
version — so a redelivered event is refused by the guard and nothing is counted twice.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Protocol

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
from projections.guard import next_in_line

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
    """The report's guard is no longer at the version this write expected: someone applied it first."""


class CounterStore(Protocol):
    """Where statistics live. Two twins keep the same promises: DynamoDBCounters and InMemoryCounters."""

    def guard(self, key: str) -> tuple[int, str | None] | None:
        """(last applied version, facts JSON) of a guard, read consistently."""

    def commit(self, guard_key: str, last: int, version: int, facts: str | None,
               deltas: dict[str, dict[str, int]], puts: dict[str, str]) -> None:
        """Atomically: move the guard from `last` to `version` (raise GuardMoved if it is not at `last`),
        ADD every delta, put every JSON document in `puts`."""

    def read_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Items by key: counters as {name: int}, documents as {"document": str}."""


class Statistics:
    """Counters `<scope>#<period>`, guards `guard#<stream>`, indicators `indicators#<inst>#<year>`."""

    def __init__(self, counters: CounterStore, *, reference: ReferenceData, calendar: WorkingDayCalendar) -> None:
        self._counters, self._reference, self._calendar = counters, reference, calendar

    def handles(self, stored: StoredEvent) -> bool:
        return stored.type in _REPORT_TYPES or stored.type == InstitutionIndicatorsRecorded.event_type

    def project(self, stored: StoredEvent) -> bool:
        guard_key = f"guard#{stored.stream_id}"
        guard = self._counters.guard(guard_key)
        last = guard[0] if guard else 0
        if not next_in_line(stored, last):
            return False
        event = stored.event
        facts, deltas, puts = None, {}, {}
        if isinstance(event, InstitutionIndicatorsRecorded):
            puts[f"indicators#{event.institution_id}#{event.year}"] = json.dumps({
                "institution_id": event.institution_id, "year": event.year, "has_sk": event.has_sk,
                "has_renaksi": event.has_renaksi, "follow_up_quality": event.follow_up_quality,
                "recorded_at": stored.occurred_at, "recorded_by": stored.actor.to_dict()})
        else:
            old = facts_from_json(guard[1], stored.stream_id) if guard and guard[1] else None
            new = fold(old, stored, self._reference, self._calendar)
            deltas = difference(contribution(new, self._calendar), contribution(old, self._calendar))
            facts = facts_to_json(new)
        try:
            self._counters.commit(guard_key, last, stored.version, facts, deltas, puts)
        except GuardMoved:
            latest = self._counters.guard(guard_key)
            if latest is None or latest[0] < stored.version:
                raise
            return False  # a concurrent delivery counted it first
        return True

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

    def guard(self, key: str) -> tuple[int, str | None] | None:
        item = self._items.get(key)
        return (item["version"], item.get("facts")) if item else None

    def commit(self, guard_key: str, last: int, version: int, facts: str | None,
               deltas: dict[str, dict[str, int]], puts: dict[str, str]) -> None:
        with self._lock:
            current = self._items.get(guard_key, {}).get("version", 0)
            if current != last:
                raise GuardMoved(guard_key)
            self._items[guard_key] = {"version": version, "facts": facts}
            for key, fields in deltas.items():
                counters = self._items.setdefault(key, {})
                for name, value in fields.items():
                    counters[name] = counters.get(name, 0) + value
            for key, document in puts.items():
                self._items[key] = {"document": document}

    def read_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {key: dict(self._items[key]) for key in keys if key in self._items}


class DynamoDBCounters:
    """The guard put and every counter ADD in ONE TransactWriteItems: all counted once, or none."""

    def __init__(self, table_name: str, client: Callable[[], Any]) -> None:
        self._table, self._client = table_name, client

    def guard(self, key: str) -> tuple[int, str | None] | None:
        item = self._client().get_item(TableName=self._table, Key={"key": {"S": key}}, ConsistentRead=True).get("Item")
        return (int(item["version"]["N"]), item.get("facts", {}).get("S")) if item else None

    def commit(self, guard_key: str, last: int, version: int, facts: str | None,
               deltas: dict[str, dict[str, int]], puts: dict[str, str]) -> None:
        condition = ({"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "key"}}
                     if last == 0 else
                     {"ConditionExpression": "#v = :last", "ExpressionAttributeNames": {"#v": "version"},
                      "ExpressionAttributeValues": {":last": {"N": str(last)}}})
        guard_item = {"key": {"S": guard_key}, "version": {"N": str(version)}}
        if facts is not None:
            guard_item["facts"] = {"S": facts}
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self._table, "Item": guard_item, **condition}}]
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
            if len(writes) == 1:  # nothing to count: a conditional put of the guard alone
                client.put_item(**writes[0]["Put"])
            else:
                client.transact_write_items(TransactItems=writes)
        except (client.exceptions.TransactionCanceledException,
                client.exceptions.ConditionalCheckFailedException) as exc:
            reasons = getattr(exc, "response", {}).get("CancellationReasons", [{"Code": "ConditionalCheckFailed"}])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise GuardMoved(guard_key) from None
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
