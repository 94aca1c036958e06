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
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Iterable

from chalicelib.clock import parse_instant
from chalicelib.reference import ReferenceData
from chalicelib.working_days import WorkingDayCalendar
from events import report as e
from events.base import StoredEvent
from events.institution import InstitutionIndicatorsRecorded
from events.report import REPORT_EVENTS
from projections.report_view import HANDLING_BUCKETS, OutOfOrder

_REPORT_TYPES = {cls.event_type for cls in REPORT_EVENTS}
NATIONAL = "ID"
BUCKET_FIELDS = tuple(f"b_{bucket}" for bucket in sorted(set(HANDLING_BUCKETS.values())))
# Clocks whose missed deadline makes a report overdue for the institution, and the events that meet them.
_MEETS = {"verification": (e.ReportVerified, e.ReportArchived),
          "follow_up": (e.FollowUpPosted, e.ReportAnswered),
          "resolution": (e.ReportAnswered,)}


@dataclass(frozen=True)
class ReportFacts:
    """What statistics need to know about one report, folded from its events."""

    version: int = 0
    status: str = "new"
    region_code: str = ""
    institution_id: str | None = None
    category_id: str | None = None
    channel: str = ""
    submitted_at: str = ""
    zone: str = "WIB"
    follow_up_days: int | None = None
    overdue_clocks: tuple[str, ...] = ()

    @property
    def overdue(self) -> bool:
        return bool(self.overdue_clocks) and self.status not in ("closed", "archived")


def fold(facts: ReportFacts | None, stored: StoredEvent, reference: ReferenceData,
         calendar: WorkingDayCalendar) -> ReportFacts:
    facts = replace(facts or ReportFacts(), version=stored.version)
    ev = stored.event
    if isinstance(ev, e.ReportSubmitted):
        region = reference.region(ev.region_code)
        facts = replace(facts, status="submitted", region_code=ev.region_code,
                        institution_id=ev.addressed_institution_id, category_id=ev.category_id,
                        channel=stored.channel, submitted_at=stored.occurred_at,
                        zone=region.timezone if region else "WIB")
    elif isinstance(ev, e.ReportVerified):
        facts = replace(facts, status="disposed", institution_id=ev.institution_id, category_id=ev.category_id)
    elif isinstance(ev, e.ReportRedisposed):
        facts = replace(facts, status="disposed", institution_id=ev.institution_id)
    elif isinstance(ev, (e.FollowUpPosted, e.ReportAnswered)) and facts.follow_up_days is None:
        facts = replace(facts, follow_up_days=calendar.working_days_between(
            parse_instant(facts.submitted_at), parse_instant(stored.occurred_at), facts.zone))
    status = {e.ReportPutOnHold: "on_hold", e.ReportClarified: "submitted", e.ReportArchived: "archived",
              e.ReportAssigned: "assigned", e.AssignmentReturned: "disposed", e.ReportReturned: "returned",
              e.FollowUpPosted: "in_progress", e.ReportAnswered: "answered", e.ReportReopened: "in_progress",
              e.ReportClosed: "closed"}.get(type(ev))
    if status:
        facts = replace(facts, status=status)
    if isinstance(ev, e.ReminderSent) and ev.clock in _MEETS and ev.clock not in facts.overdue_clocks:
        facts = replace(facts, overdue_clocks=facts.overdue_clocks + (ev.clock,))
    met = tuple(clock for clock in facts.overdue_clocks if isinstance(ev, _MEETS[clock]))
    if met:
        facts = replace(facts, overdue_clocks=tuple(c for c in facts.overdue_clocks if c not in met))
    return facts


def periods(facts: ReportFacts, calendar: WorkingDayCalendar) -> list[str]:
    """The month, quarter and year of the submission date, in the report's local time."""
    day = calendar.local_date(parse_instant(facts.submitted_at), facts.zone)
    return [f"{day.year}", f"{day.year}-Q{(day.month - 1) // 3 + 1}", f"{day.year}-{day.month:02d}"]


def scopes(facts: ReportFacts) -> list[str]:
    regions = {facts.region_code, facts.region_code.split(".")[0], NATIONAL}
    found = [f"region:{code}" for code in sorted(regions)]
    if facts.institution_id:  # an institution receives a report once it is addressed or disposed to it
        found.append(f"institution:{facts.institution_id}")
    return found


def contribution(facts: ReportFacts | None, calendar: WorkingDayCalendar) -> dict[str, dict[str, int]]:
    if facts is None or facts.status == "new":
        return {}
    if facts.status == "archived":
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
    speed = (round(counters["fu_days_sum"] / counters["fu_count"], 1) if counters.get("fu_count") else None)
    return {
        "received": received, "buckets": buckets, "archived": counters.get("archived", 0),
        "completion_rate": rate(buckets["selesai"]),
        "follow_up_rate": rate(buckets["selesai"] + buckets["dalam_proses"]),
        "follow_up_speed_working_days": speed, "overdue": counters.get("overdue", 0),
        "by_category": {k[4:]: v for k, v in sorted(counters.items()) if k.startswith("cat#") and v},
        "by_channel": {k[3:]: v for k, v in sorted(counters.items()) if k.startswith("ch#") and v},
    }


def _number(value: dict[str, str]) -> int:
    return int(value["N"])


class Statistics:
    """The stats table: counters `<scope>#<period>`, guards `report#<id>`, indicators `indicators#<inst>#<year>`."""

    def __init__(self, table_name: str, *, client: Callable[[], Any], reference: ReferenceData,
                 calendar: WorkingDayCalendar) -> None:
        self._table, self._client = table_name, client
        self._reference, self._calendar = reference, calendar

    def handles(self, stored: StoredEvent) -> bool:
        return stored.type in _REPORT_TYPES or stored.type == InstitutionIndicatorsRecorded.event_type

    def _guard(self, key: str) -> dict[str, Any] | None:
        item = self._client().get_item(TableName=self._table, Key={"key": {"S": key}}, ConsistentRead=True)
        return item.get("Item")

    def project(self, stored: StoredEvent) -> bool:
        guard_key = f"guard#{stored.stream_id}"
        guard = self._guard(guard_key)
        last = _number(guard["version"]) if guard else 0
        if stored.version <= last:
            return False
        if stored.version != last + 1:
            raise OutOfOrder(f"{stored.stream_id}: got v{stored.version} while at v{last}")
        writes = self._writes(stored, guard)
        condition = ({"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": "key"}}
                     if guard is None else
                     {"ConditionExpression": "#v = :last", "ExpressionAttributeNames": {"#v": "version"},
                      "ExpressionAttributeValues": {":last": {"N": str(last)}}})
        put_guard = {"Put": {"TableName": self._table, **condition, "Item": {
            "key": {"S": guard_key}, "version": {"N": str(stored.version)}, **writes["guard"]}}}
        try:
            self._client().transact_write_items(TransactItems=[put_guard] + writes["updates"])
        except self._client().exceptions.TransactionCanceledException:
            latest = self._guard(guard_key)
            if latest is None or _number(latest["version"]) < stored.version:
                raise
            return False  # a concurrent delivery counted it first
        return True

    def _writes(self, stored: StoredEvent, guard: dict[str, Any] | None) -> dict[str, Any]:
        event = stored.event
        if isinstance(event, InstitutionIndicatorsRecorded):
            indicators = {"institution_id": event.institution_id, "year": event.year, "has_sk": event.has_sk,
                          "has_renaksi": event.has_renaksi, "follow_up_quality": event.follow_up_quality,
                          "recorded_at": stored.occurred_at, "recorded_by": stored.actor.to_dict()}
            put = {"Put": {"TableName": self._table, "Item": {
                "key": {"S": f"indicators#{event.institution_id}#{event.year}"},
                "indicators": {"S": json.dumps(indicators)}}}}
            return {"guard": {}, "updates": [put]}
        old = ReportFacts(**json.loads(guard["facts"]["S"])) if guard else None
        new = fold(old, stored, self._reference, self._calendar)
        delta = difference(contribution(new, self._calendar), contribution(old, self._calendar))
        updates = []
        for key, fields in sorted(delta.items()):
            names = {f"#f{i}": name for i, name in enumerate(sorted(fields))}
            values = {f":v{i}": {"N": str(fields[name])} for i, name in enumerate(sorted(fields))}
            updates.append({"Update": {
                "TableName": self._table, "Key": {"key": {"S": key}},
                "UpdateExpression": "ADD " + ", ".join(f"#f{i} :v{i}" for i in range(len(fields))),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}})
        facts = asdict(new) | {"overdue_clocks": list(new.overdue_clocks)}
        return {"guard": {"facts": {"S": json.dumps(facts)}}, "updates": updates}

    # ------------------------------------------------------------------------------------------ reads

    @staticmethod
    def _counters(item: dict[str, Any]) -> dict[str, int]:
        return {name: _number(value) for name, value in item.items() if "N" in value}

    def read(self, scope: str, period: str) -> dict[str, int] | None:
        """One GetItem, however many reports exist."""
        item = self._client().get_item(TableName=self._table, Key={"key": {"S": f"{scope}#{period}"}}).get("Item")
        return self._counters(item) if item else None

    def read_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Items by key with BatchGetItem: one request per 100 keys (rankings read one item per region)."""
        keys, found = list(dict.fromkeys(keys)), {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {self._table: {"Keys": [{"key": {"S": k}} for k in keys[start:start + 100]]}}
            while pending:
                response = self._client().batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self._table, []):
                    found[item["key"]["S"]] = item
                pending = response.get("UnprocessedKeys") or {}
        return found

    def counters_of(self, item: dict[str, Any] | None) -> dict[str, int] | None:
        return self._counters(item) if item else None

    @staticmethod
    def indicators_of(item: dict[str, Any] | None) -> dict[str, Any] | None:
        return json.loads(item["indicators"]["S"]) if item else None
