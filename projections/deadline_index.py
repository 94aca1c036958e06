"""The due-date index (DOMAIN §7): which reports the deadline sweep must look at, by when.

One item per report holds its folded state and, while anything is pending, `next_action` — the earliest
instant a reminder, escalation, reprimand or automatic closure falls due — under a sparse index. The
sweep reads the index up to `now`: its cost grows with what is due, never with the number of reports.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Sequence

from chalicelib.clock import parse_instant
from chalicelib.domain.deadlines import next_action_at
from chalicelib.domain.report import Context, ReportState, evolve, state_from_json, state_to_json
from chalicelib.domain.working_days import WorkingDayCalendar
from chalicelib.reference import ReferenceData
from events.base import StoredEvent
from events.report import REPORT_EVENTS
from projections.guard import UNREAD, RunProjection, batch_get, fold_run, settled_by_another

INDEX, DUE = "by-next-action", "due"
_REPORT_TYPES = {cls.event_type for cls in REPORT_EVENTS}


class DeadlineIndex(RunProjection):
    def __init__(self, table_name: str, *, client: Callable[[], Any], reference: ReferenceData,
                 calendar: WorkingDayCalendar) -> None:
        self._table, self._client = table_name, client
        self._reference, self._calendar = reference, calendar

    def handles(self, stored: StoredEvent) -> bool:
        return stored.type in _REPORT_TYPES

    def read_many(self, report_ids: list[str]) -> dict[str, Any]:
        return batch_get(self._client(), self._table, "report_id", report_ids, {"#v": "version", "#s": "state"})

    def project_run(self, events: Sequence[StoredEvent], stored: Any = UNREAD) -> int:
        """A run of one report's events: one consistent GetItem, `evolve` over them in memory, one PutItem
        conditioned on the version read (PartlyApplied when the run stopped part-way)."""
        client, report_id = self._client(), events[0].stream_id
        item = (client.get_item(TableName=self._table, Key={"report_id": {"S": report_id}},
                                ConsistentRead=True).get("Item") if stored is UNREAD else stored)
        last = int(item["version"]["N"]) if item else 0
        state = state_from_json(json.loads(item["state"]["S"])) if item else ReportState(report_id=report_id)
        folded = fold_run(events, last, state, evolve)
        if folded.version > last:
            state, occurred_at = folded.value, folded.new[-1].occurred_at
            ctx = Context(now=parse_instant(occurred_at), calendar=self._calendar, reference=self._reference)
            new_item = {"report_id": {"S": report_id}, "version": {"N": str(folded.version)},
                        "state": {"S": json.dumps(state_to_json(state))}}
            next_action = next_action_at(state, ctx)
            if next_action:
                new_item |= {"due_q": {"S": DUE}, "next_action": {"S": f"{next_action}#{report_id}"}}
            condition = ({"ConditionExpression": "attribute_not_exists(report_id)"} if last == 0 else
                         {"ConditionExpression": "version = :last",
                          "ExpressionAttributeValues": {":last": {"N": str(last)}}})
            try:
                client.put_item(TableName=self._table, Item=new_item, **condition)
            except client.exceptions.ConditionalCheckFailedException as exc:
                latest = client.get_item(TableName=self._table, Key={"report_id": {"S": report_id}},
                                         ConsistentRead=True).get("Item")
                return settled_by_another(events, int(latest["version"]["N"]) if latest else 0, exc)
            except Exception as exc:
                raise folded.unwritten(exc) from exc
        return folded.finish()

    def due(self, now: str) -> list[str]:
        """Report ids with an action due at or before `now`, earliest first, every page."""
        ids, start = [], None
        while True:
            request: dict[str, Any] = {
                "TableName": self._table, "IndexName": INDEX,
                "KeyConditionExpression": "due_q = :due AND next_action <= :now",
                "ExpressionAttributeValues": {":due": {"S": DUE}, ":now": {"S": now + "\uffff"}},
                "ProjectionExpression": "report_id"}
            if start:
                request["ExclusiveStartKey"] = start
            response = self._client().query(**request)
            ids += [item["report_id"]["S"] for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if not start:
                return ids
