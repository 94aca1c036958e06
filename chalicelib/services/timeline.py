"""The Ombudsman's audit timeline of one report (DOMAIN §9), rebuilt from its events up to any instant.

Each step says what happened, who took it (role, institution, unit, user), when, and how many working
days it took since the previous step; returns, reopenings, escalations, reminders and missed deadlines are
flagged. Pure: the caller passes the events, the calendar, the reference data and the instant.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from chalicelib.clock import iso, parse_instant
from chalicelib.domain.deadlines import deadlines_met, handling_zone, running_clocks
from chalicelib.domain.report import ReportState, evolve
from chalicelib.domain.working_days import WorkingDayCalendar
from chalicelib.reference import ReferenceData
from events import report as e
from events.base import StoredEvent

_FLAGS = {e.ReportReturned: "returned", e.AssignmentReturned: "returned", e.ReportReopened: "reopened",
          e.EscalatedToOmbudsman: "escalated", e.DeadlineEscalated: "escalated", e.ReminderSent: "reminder",
          e.ReportNeglected: "neglected", e.ResolutionObjected: "objection"}


def build_timeline(report_id: str, events: Iterable[StoredEvent], *, calendar: WorkingDayCalendar,
                   reference: ReferenceData, as_of: datetime) -> dict[str, Any]:
    state = ReportState(report_id=report_id)
    steps: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    previous_at: datetime | None = None
    for stored in events:
        at = parse_instant(stored.occurred_at)
        if at > as_of:
            break
        event, zone = stored.event, handling_zone(state, reference)
        flags = [_FLAGS[type(event)]] if type(event) in _FLAGS else []
        for clock, due in deadlines_met(state, event):
            if due and at > parse_instant(due):
                flags.append(f"missed_{clock}_deadline")
                missed.append({"clock": clock, "due": due, "met_at": stored.occurred_at, "version": stored.version})
        steps.append({
            "version": stored.version, "type": stored.type, "at": stored.occurred_at,
            "by": stored.actor.to_dict(), "channel": stored.channel,
            "working_days_since_previous": (calendar.working_days_between(previous_at, at, zone)
                                            if previous_at else 0),
            "flags": flags,
        })
        previous_at = at
        state = evolve(state, stored)
    if not steps:
        return {"report_id": report_id, "as_of": iso(as_of), "steps": [], "status": None}
    for clock in running_clocks(state):  # still running for the institution (not the reporter's reply window)
        if as_of > parse_instant(clock.due):
            missed.append({"clock": clock.name, "due": clock.due, "met_at": None, "version": None})
    return {
        "report_id": report_id, "as_of": iso(as_of), "status": state.status,
        "institution_id": state.institution_id, "unit_id": state.unit_id,
        "escalated_to_ombudsman": state.escalated_to_ombudsman,
        "deadlines": {"verification": state.verification_due, "follow_up": state.follow_up_due,
                      "resolution": state.resolution_due, "reply": state.reply_due},
        "total_working_days": calendar.working_days_between(parse_instant(steps[0]["at"]), as_of,
                                                            handling_zone(state, reference)),
        "returns": sum("returned" in s["flags"] for s in steps),
        "reopenings": sum("reopened" in s["flags"] for s in steps),
        "escalations": sum("escalated" in s["flags"] for s in steps),
        "missed_deadlines": missed,
        "steps": steps,
    }
