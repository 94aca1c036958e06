"""The report view: one item per report with everything `getReport` shows, built from the stream.

`apply` is pure. `ReportViews.project_run` folds a run of one report's events (a stream batch's, or a single one
through `project`) with it and writes the view guarded by the report's last applied version, in the same
conditional write, so a redelivered or replayed event changes nothing (DESIGN §1).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.domain.access import queues_for
from chalicelib.domain.deadlines import next_due
from chalicelib.domain.report import ReportState, evolve, state_from_json, state_to_json
from chalicelib.domain.vocabulary import (
    AWAITING_VERIFICATION,
    HANDLING_BUCKETS,
    PUBLIC_BUCKETS,
    Status,
    province_of,
)
from chalicelib.store.models import bind
from events import report as e
from events.base import StoredEvent
from events.report import REPORT_EVENTS
from infra.tables import PUBLIC_INDEXES, QUEUE_INDEXES
from projections.guard import UNREAD, RunProjection, batch_get, fold_run, settled_by_another

NO_DUE = "9999-12-31T23:59:59.999Z"  # sorts after every real deadline
BUCKETS = PUBLIC_BUCKETS  # the name read models and tests know it by
_REPORT_EVENT_TYPES = {cls.event_type for cls in REPORT_EVENTS}
INDEX_HASH_KEYS = QUEUE_INDEXES | PUBLIC_INDEXES


def _by(event: StoredEvent) -> dict[str, Any]:
    return event.actor.to_dict()


def apply(view: dict[str, Any] | None, stored: StoredEvent) -> dict[str, Any]:
    """The view after one more event. Never mutates its input.

    What the aggregate knows (status, who handles the report, its deadlines, …) comes from the aggregate's own
    `evolve`, whose state the view keeps (never shown); the view adds only what it alone records: the texts and
    histories people read."""
    view = copy.deepcopy(view) if view else {}
    if view and "state" not in view:
        raise ValueError(f"the view of {stored.stream_id} predates the aggregate state it now keeps: "
                         "run `lapor rebuild report_views`")
    state = evolve(state_from_json(view["state"]) if view else ReportState(report_id=stored.stream_id), stored)
    ev, at = stored.event, stored.occurred_at
    view.update(version=stored.version, updated_at=at, head_hash=stored.hash, state=state_to_json(state),
                **_known_to_the_aggregate(state))
    if isinstance(ev, e.ReportSubmitted):
        view.update(report_id=stored.stream_id, body=ev.body, reporter_ref=ev.reporter_ref, location=ev.location,
                    channel=stored.channel, follow_ups=[], replies=[], returns=[], objections=[], reminders=[],
                    escalations=[], photos=[])
    elif isinstance(ev, e.ReportPutOnHold):
        view.update(hold={"at": at, "question": ev.question})
    elif isinstance(ev, e.ReportClarified):
        view["replies"].append({"at": at, "message": ev.message, "clarification": True})
    elif isinstance(ev, e.ReporterReplied):
        view["replies"].append({"at": at, "message": ev.message, "clarification": False})
    elif isinstance(ev, e.ReportVerified):
        view.update(verified_at=at)
        for photo in view.get("photos", []):  # the verifier judged these safe for the public (anonymous reports)
            photo["safe"] = photo["safe"] or photo["attachment_id"] in ev.safe_photo_ids
    elif isinstance(ev, e.PhotoAttached):
        view.setdefault("photos", []).append({
            "attachment_id": ev.attachment_id, "at": at, "content_type": ev.content_type, "size": ev.size,
            "width": ev.width, "height": ev.height, "sha256": ev.sha256, "safe": False})
    elif isinstance(ev, e.ReportArchived):
        view.update(archived={"at": at, "reason": ev.reason, "duplicate_of": ev.duplicate_of, "note": ev.note})
    elif isinstance(ev, e.ReportAssigned):
        view.update(assigned_at=at)
    elif isinstance(ev, e.AssignmentReturned):
        view["returns"].append({"at": at, "by": _by(stored), "unit_id": ev.unit_id, "reason": ev.reason})
    elif isinstance(ev, e.ReportReturned):
        view["returns"].append({"at": at, "by": _by(stored), "institution_id": ev.institution_id,
                                "reason": ev.reason})
    elif isinstance(ev, e.FollowUpPosted):
        view.update(reopened=False)
        view["follow_ups"].append({"at": at, "by": _by(stored), "message": ev.message, "final": False})
    elif isinstance(ev, e.ReportAnswered):
        view.update(answered_at=at)
        view["follow_ups"].append({"at": at, "by": _by(stored), "message": ev.message, "final": True})
    elif isinstance(ev, e.ResolutionAccepted):
        view["rating"] = {"at": at, "rating": ev.rating, "comment": ev.comment}
    elif isinstance(ev, e.ResolutionObjected):
        view["objections"].append({"at": at, "reason": ev.reason})
    elif isinstance(ev, e.ReportReopened):
        view.update(reopened=True)
    elif isinstance(ev, e.ReportClosed):
        view.update(closed={"at": at, "reason": ev.reason})
    elif isinstance(ev, e.EscalatedToOmbudsman):
        view.update(ombudsman_escalation={"at": at, "grounds": ev.grounds, "reason": ev.reason})
    elif isinstance(ev, e.OmbudsmanFindingRecorded):
        view["ombudsman_finding"] = {"at": at, "finding": ev.finding, "maladministration": ev.maladministration}
    elif isinstance(ev, e.ReminderSent):
        view["reminders"].append({"at": at, "clock": ev.clock, "level": ev.level, "due_at": ev.due_at,
                                  "recipient_role": ev.recipient_role})
    elif isinstance(ev, e.DeadlineEscalated):
        view["escalations"].append({"at": at, "clock": ev.clock, "level": ev.level, "due_at": ev.due_at,
                                    "to_role": ev.to_role})
    view["bucket"] = BUCKETS[view["status"]]
    return view


def waiting_on(view: dict[str, Any]) -> str | None:
    """The deadline the report waits on now (chalicelib.domain.deadlines.next_due of the kept state)."""
    return next_due(state_from_json(view["state"]))


def _known_to_the_aggregate(state: ReportState) -> dict[str, Any]:
    """The view's fields that are the aggregate's facts, as `evolve` left them."""
    deadlines = {"verification": state.verification_due, "follow_up": state.follow_up_due,
                 "resolution": state.resolution_due, "reply": state.reply_due}
    known = dict(status=state.status, title=state.title, report_type=state.report_type,
                 category_id=state.category_id, region_code=state.region_code,
                 addressed_institution_id=state.addressed_institution_id, institution_id=state.institution_id,
                 unit_id=state.unit_id, anonymous=state.anonymous, confidential=state.confidential,
                 requires_inspection=state.requires_inspection, access_token_hash=state.access_token_hash,
                 submitted_at=state.submitted_at, escalated_to_ombudsman=state.escalated_to_ombudsman,
                 neglected=state.neglected, deadlines={name: due for name, due in deadlines.items() if due})
    if state.first_response_at:
        known["first_response_at"] = state.first_response_at
    return known


def summary(view: dict[str, Any]) -> dict[str, Any]:
    """What a queue or list row shows: enough to pick a report, nothing about who reported it."""
    return {key: view.get(key) for key in (
        "report_id", "title", "status", "bucket", "report_type", "category_id", "region_code", "institution_id",
        "unit_id", "channel", "submitted_at", "anonymous", "confidential", "escalated_to_ombudsman",
        "neglected")} | {
        "handling_bucket": HANDLING_BUCKETS.get(view["status"]), "next_due": waiting_on(view)}


def index_keys(view: dict[str, Any]) -> dict[str, str | None]:
    """The sparse-index keys of this view (infra.tables QUEUE_INDEXES / PUBLIC_INDEXES); None = not listed."""
    status, report_id = view["status"], view["report_id"]
    bucket = HANDLING_BUCKETS.get(status)
    keys: dict[str, str | None] = {name: None for name in (
        "q_nat", "q_nat_b", "q_inst", "q_inst_b", "q_unit", "q_unit_b", "q_omb",
        "p_all", "p_prov", "p_region", "p_inst", "p_cat", "r_all", "r_prov", "r_region", "r_inst")}
    keys["q_due"] = f"{waiting_on(view) or NO_DUE}#{report_id}"
    keys["p_at"] = f"{view['submitted_at']}#{report_id}"
    if bucket is None:  # archived: in no queue and not public
        return keys
    for queue in queues_for(status=status, institution_id=view["institution_id"],
                            addressed_institution_id=view["addressed_institution_id"], unit_id=view["unit_id"],
                            escalated_to_ombudsman=view["escalated_to_ombudsman"], neglected=view["neglected"]):
        keys[QUEUE_INDEXES[f"queue-{queue.kind}"]] = queue.key
        by_bucket = QUEUE_INDEXES.get(f"queue-{queue.kind}-bucket")  # the Ombudsman's queue has no buckets
        if by_bucket:
            keys[by_bucket] = f"{queue.key}#{bucket}"
    if view["neglected"] and status != Status.CLOSED:
        keys.update(r_all="reprimand", r_prov=province_of(view["region_code"]), r_region=view["region_code"],
                    r_inst=view["institution_id"] if status != Status.RETURNED else None)
    if status not in AWAITING_VERIFICATION and not view["confidential"]:
        keys.update(p_all="public", p_prov=province_of(view["region_code"]), p_region=view["region_code"],
                    p_inst=view["institution_id"], p_cat=view["category_id"])
    return keys


class ReportViewItem(Model):
    class Meta:
        table_name = "unbound-report-views"

    report_id = UnicodeAttribute(hash_key=True)
    last_version = NumberAttribute()
    view = UnicodeAttribute()  # JSON
    summary = UnicodeAttribute()  # JSON, projected into every index
    q_due = UnicodeAttribute()
    p_at = UnicodeAttribute()
    q_nat = UnicodeAttribute(null=True)
    q_nat_b = UnicodeAttribute(null=True)
    q_inst = UnicodeAttribute(null=True)
    q_inst_b = UnicodeAttribute(null=True)
    q_unit = UnicodeAttribute(null=True)
    q_unit_b = UnicodeAttribute(null=True)
    q_omb = UnicodeAttribute(null=True)
    p_all = UnicodeAttribute(null=True)
    p_prov = UnicodeAttribute(null=True)
    p_region = UnicodeAttribute(null=True)
    p_inst = UnicodeAttribute(null=True)
    p_cat = UnicodeAttribute(null=True)
    r_all = UnicodeAttribute(null=True)
    r_prov = UnicodeAttribute(null=True)
    r_region = UnicodeAttribute(null=True)
    r_inst = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    last_key: dict[str, Any] | None  # DynamoDB's LastEvaluatedKey, for the next page


class ReportViews(RunProjection):
    """The report_views table: one GetItem per read; per report and stream batch, one GetItem and one guarded
    PutItem however many of its events the batch holds."""

    def __init__(self, table_name: str, *, host: str | None, region: str, client: Callable[[], Any]) -> None:
        self._model = bind(ReportViewItem, table_name, host=host, region=region)
        self._table_name, self._client = table_name, client

    def get(self, report_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        try:
            item = self._model.get(report_id, consistent_read=consistent)
        except self._model.DoesNotExist:
            return None
        return json.loads(item.view)

    def handles(self, stored: StoredEvent) -> bool:
        return stored.type in _REPORT_EVENT_TYPES

    def read_many(self, report_ids: list[str]) -> dict[str, Any]:
        """Views by report id, one consistent BatchGetItem per 100 reports (a stream batch's reports)."""
        items = batch_get(self._client(), self._table_name, "report_id", report_ids, {"#v": "view"})
        return {report_id: json.loads(item["view"]["S"]) for report_id, item in items.items()}

    def project_run(self, events: Sequence[StoredEvent], stored: Any = UNREAD) -> int:
        """Apply a run of one report's events (version order) exactly once: one consistent read of the view,
        the same `apply` event by event in memory, one write conditioned on the version the fold started from.
        Returns how many were applied now (0: a redelivery); PartlyApplied when the run stopped part-way."""
        report_id = events[0].stream_id
        current = self.get(report_id, consistent=True) if stored is UNREAD else stored
        folded = fold_run(events, current["version"] if current else 0, current, apply)
        if folded.version > folded.last:
            view, last = folded.value, folded.last
            item = self._model(report_id, last_version=folded.version, view=json.dumps(view),
                               summary=json.dumps(summary(view)), **index_keys(view))
            condition = (self._model.report_id.does_not_exist() if last == 0
                         else self._model.last_version == last)
            try:
                item.save(condition=condition)
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise folded.unwritten(exc) from exc
                # A concurrent delivery wrote first; fine if it got at least as far as this run.
                latest = self.get(report_id, consistent=True)
                return settled_by_another(events, latest["version"] if latest else 0, exc)
        return folded.finish()

    def page(self, index: str, hash_value: str, *, limit: int, newest_first: bool = False,
             before: str | None = None, start_key: dict[str, Any] | None = None) -> Page:
        """One page of one sparse index: one Query, whatever the size of the system."""
        hash_attribute = INDEX_HASH_KEYS[index]
        range_attribute = "p_at" if index in PUBLIC_INDEXES else "q_due"  # public and reprimand lists: newest first
        condition, values = "#h = :h", {":h": {"S": hash_value}}
        if before is not None:
            condition += " AND #r < :r"
            values[":r"] = {"S": before}
        request: dict[str, Any] = {
            "TableName": self._table_name, "IndexName": index, "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#h": hash_attribute} | ({"#r": range_attribute} if before else {}),
            "ExpressionAttributeValues": values, "Limit": limit, "ScanIndexForward": not newest_first}
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = self._client().query(**request)
        rows = [json.loads(item["summary"]["S"]) for item in response.get("Items", [])]
        return Page(rows=rows, last_key=response.get("LastEvaluatedKey"))
