"""The deadline sweep: for every report the due-date index says is due, record what the deadlines oblige.

Runs hourly as a Chalice scheduled function, and by hand as `lapor sweep [--now]`. It issues no command a
person could not see: each reminder, escalation, reprimand and automatic closure is an event from the
`system` actor. Two sweeps at once are safe: each appends conditionally on the version it read; the loser
reloads, decides again from the winner's events and finds nothing left to record.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib import observability
from chalicelib.clock import iso
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.report import Context
from chalicelib.domain.vocabulary import Role
from chalicelib.errors import ConcurrencyConflict
from chalicelib.services.handlers import Request
from events.base import SYSTEM

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
SWEEPER = Principal(role=Role.SYSTEM, user_id=SYSTEM.user_id)  # recorded as the `system` actor


@dataclass
class SweepResult:
    now: str
    due_reports: int = 0
    recorded: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    failed: list[str] = field(default_factory=list)  # reports the sweep could not handle (logged)

    def to_dict(self) -> dict:
        return {"now": self.now, "due_reports": self.due_reports, "recorded": self.recorded,
                "conflicts": self.conflicts, "failed": self.failed}


def sweep(services, now: datetime, *, correlation_id: str | None = None) -> SweepResult:
    """`correlation_id`: the one its events are recorded under (the scheduled run's, which its logs carry)."""
    result = SweepResult(now=iso(now))
    ctx = Context(now=now, calendar=services.calendar, reference=services.reference)
    correlation_id = correlation_id or f"sweep-{uuid.uuid4()}"
    for report_id in services.deadlines.due(iso(now)):
        result.due_reports += 1
        try:
            _sweep_one(services, report_id, ctx, correlation_id, result)
        except Exception:  # noqa: BLE001 — one broken report must not stop the others' reminders
            logger.exception("sweep failed on %s", report_id)
            result.failed.append(report_id)
    for action, recorded in result.recorded.items():
        observability.count(observability.SWEEP_ACTIONS, recorded, action=action)
    observability.count(observability.SWEEP_FAILURES, len(result.failed))  # 0 too: the alarm sees every run
    return result


def _sweep_one(services, report_id: str, ctx: Context, correlation_id: str, result: SweepResult) -> None:
    """Through the same command path as every HTTP command: load, decide (`RecordDueActions`), append."""
    request = Request(now=ctx.now, correlation_id=correlation_id)
    for _ in range(MAX_ATTEMPTS):
        try:
            outcome = services.commands.execute(report_id, c.RecordDueActions(principal=SWEEPER), request,
                                                channel="system")
        except ConcurrencyConflict:
            result.conflicts += 1  # someone acted on the report meanwhile: decide again on fresh state
            continue
        for event_type in outcome["events"]:
            result.recorded[event_type] = result.recorded.get(event_type, 0) + 1
        return
    raise RuntimeError(f"gave up on {report_id} after {MAX_ATTEMPTS} conflicts")
