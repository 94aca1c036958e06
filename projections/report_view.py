"""The report view: one item per report with everything `getReport` shows, built from the stream.

`apply` is pure. `ReportViews.project` writes it guarded by the report's last applied version, in the same
conditional write, so a redelivered or replayed event changes nothing (DESIGN §1).
"""
from __future__ import annotations

import copy
import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.store.models import bind
from events import report as e
from events.base import StoredEvent
from events.report import REPORT_EVENTS

BUCKETS = {"submitted": "belum", "on_hold": "belum", "disposed": "belum", "assigned": "belum",
           "returned": "belum", "in_progress": "proses", "answered": "proses", "closed": "selesai",
           "archived": "arsip"}
_REPORT_EVENT_TYPES = {cls.event_type for cls in REPORT_EVENTS}


class OutOfOrder(Exception):
    """An event arrived before its predecessor; failing it makes the stream redeliver both in order."""


def _by(event: StoredEvent) -> dict[str, Any]:
    return event.actor.to_dict()


def apply(view: dict[str, Any] | None, stored: StoredEvent) -> dict[str, Any]:
    """The view after one more event. Never mutates its input."""
    view = copy.deepcopy(view) if view else {}
    ev, at = stored.event, stored.occurred_at
    view.update(version=stored.version, updated_at=at)
    if isinstance(ev, e.ReportSubmitted):
        view.update(report_id=stored.stream_id, status="submitted", title=ev.title, body=ev.body,
                    report_type=ev.report_type, category_id=ev.category_id, region_code=ev.region_code,
                    addressed_institution_id=ev.addressed_institution_id, institution_id=None, unit_id=None,
                    anonymous=ev.anonymous, confidential=ev.confidential, requires_inspection=False,
                    reporter_ref=ev.reporter_ref, access_token_hash=ev.access_token_hash, location=ev.location,
                    channel=stored.channel, submitted_at=at,
                    deadlines={"verification": ev.verification_due}, follow_ups=[], replies=[], returns=[],
                    objections=[], reminders=[], escalations=[], escalated_to_ombudsman=False, neglected=False)
    elif isinstance(ev, e.ReportPutOnHold):
        view.update(status="on_hold", hold={"at": at, "question": ev.question})
    elif isinstance(ev, e.ReportClarified):
        view["status"] = "submitted"
        view["replies"].append({"at": at, "message": ev.message, "clarification": True})
        view["deadlines"]["verification"] = ev.verification_due
    elif isinstance(ev, e.ReporterReplied):
        view["replies"].append({"at": at, "message": ev.message, "clarification": False})
    elif isinstance(ev, e.ReportVerified):
        view.update(status="disposed", verified_at=at, institution_id=ev.institution_id, title=ev.title,
                    category_id=ev.category_id, report_type=ev.report_type,
                    requires_inspection=ev.requires_inspection, anonymous=ev.anonymous, confidential=ev.confidential)
        view["deadlines"].update(follow_up=ev.follow_up_due, resolution=ev.resolution_due)
    elif isinstance(ev, e.ReportArchived):
        view.update(status="archived", archived={"at": at, "reason": ev.reason, "duplicate_of": ev.duplicate_of,
                                                 "note": ev.note})
    elif isinstance(ev, e.ReportAssigned):
        view.update(status="assigned", unit_id=ev.unit_id, assigned_at=at)
    elif isinstance(ev, e.AssignmentReturned):
        view.update(status="disposed", unit_id=None)
        view["returns"].append({"at": at, "by": _by(stored), "unit_id": ev.unit_id, "reason": ev.reason})
    elif isinstance(ev, e.ReportReturned):
        view.update(status="returned", unit_id=None)
        view["returns"].append({"at": at, "by": _by(stored), "institution_id": ev.institution_id,
                                "reason": ev.reason})
    elif isinstance(ev, e.ReportRedisposed):
        view.update(status="disposed", institution_id=ev.institution_id)
    elif isinstance(ev, e.FollowUpPosted):
        view["status"] = "in_progress"
        view.setdefault("first_response_at", at)
        view["follow_ups"].append({"at": at, "by": _by(stored), "message": ev.message, "final": False})
    elif isinstance(ev, e.ReportAnswered):
        view.update(status="answered", answered_at=at)
        view.setdefault("first_response_at", at)
        view["follow_ups"].append({"at": at, "by": _by(stored), "message": ev.message, "final": True})
        view["deadlines"]["reply"] = ev.reply_due
    elif isinstance(ev, e.ResolutionAccepted):
        view["rating"] = {"at": at, "rating": ev.rating, "comment": ev.comment}
    elif isinstance(ev, e.ResolutionObjected):
        view["objections"].append({"at": at, "reason": ev.reason})
    elif isinstance(ev, e.ReportReopened):
        view["status"] = "in_progress"
        view["deadlines"]["follow_up"] = ev.follow_up_due
        view["deadlines"].pop("reply", None)
    elif isinstance(ev, e.ReportClosed):
        view.update(status="closed", closed={"at": at, "reason": ev.reason})
    elif isinstance(ev, e.EscalatedToOmbudsman):
        view.update(escalated_to_ombudsman=True, ombudsman_escalation={"at": at, "grounds": ev.grounds,
                                                                      "reason": ev.reason})
    elif isinstance(ev, e.OmbudsmanFindingRecorded):
        view["ombudsman_finding"] = {"at": at, "finding": ev.finding, "maladministration": ev.maladministration}
    elif isinstance(ev, e.ReminderSent):
        view["reminders"].append({"at": at, "clock": ev.clock, "level": ev.level, "due_at": ev.due_at,
                                  "recipient_role": ev.recipient_role})
    elif isinstance(ev, e.DeadlineEscalated):
        view["escalations"].append({"at": at, "clock": ev.clock, "level": ev.level, "due_at": ev.due_at,
                                    "to_role": ev.to_role})
    elif isinstance(ev, e.ReportNeglected):
        view["neglected"] = True
    view["bucket"] = BUCKETS[view["status"]]
    return view


class ReportViewItem(Model):
    class Meta:
        table_name = "unbound-report-views"

    report_id = UnicodeAttribute(hash_key=True)
    last_version = NumberAttribute()
    view = UnicodeAttribute()  # JSON


class ReportViews:
    """The report_views table: one GetItem per read, one guarded PutItem per event applied."""

    def __init__(self, table_name: str, *, host: str | None, region: str) -> None:
        self._model = bind(ReportViewItem, table_name, host=host, region=region)

    def get(self, report_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        try:
            item = self._model.get(report_id, consistent_read=consistent)
        except self._model.DoesNotExist:
            return None
        return json.loads(item.view)

    def handles(self, stored: StoredEvent) -> bool:
        return stored.type in _REPORT_EVENT_TYPES

    def project(self, stored: StoredEvent) -> bool:
        """Apply one event exactly once; False when it had already been applied (a redelivery)."""
        current = self.get(stored.stream_id, consistent=True)
        last = current["version"] if current else 0
        if stored.version <= last:
            return False
        if stored.version != last + 1:
            raise OutOfOrder(f"{stored.stream_id}: got v{stored.version} while at v{last}")
        view = apply(current, stored)
        item = self._model(stored.stream_id, last_version=stored.version, view=json.dumps(view))
        condition = (self._model.report_id.does_not_exist() if last == 0
                     else self._model.last_version == last)
        try:
            item.save(condition=condition)
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            # A concurrent delivery applied it first; fine if it got at least this far.
            latest = self.get(stored.stream_id, consistent=True)
            if latest is None or latest["version"] < stored.version:
                raise
            return False
        return True
