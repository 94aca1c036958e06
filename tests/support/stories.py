"""Stories told through the real command handler, deterministically: the same commands always write the same
events (ids from counters, a fake clock moved a fixed step before each command)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.working_days import default_calendar
from chalicelib.reference import load_reference
from chalicelib.services.handlers import CommandHandler, Request
from chalicelib.store.base import chain_events
from events import report as e
from events.base import SYSTEM, Actor, DomainEvent, StoredEvent
from tests.support.builders import submit_command
from tests.support.principals import PUBLIC, reporter
from tests.support.settings import T0, TOKEN_SECRET, FakeClock


def history(report_id: str, *events: DomainEvent, start: datetime = T0, step: timedelta = timedelta(hours=1),
            channel: str = "web", actor: Actor = SYSTEM) -> list[StoredEvent]:
    """One report's stored events, hash-chained as the store keeps them: the first at `start`, each next one
    `step` later; the submission by the public on `channel`, every other event by `actor` (for the pure folds
    that do not care who acted)."""
    stored: list[StoredEvent] = []
    for n, event in enumerate(events):
        by = PUBLIC.actor() if isinstance(event, e.ReportSubmitted) else actor
        stored += chain_events(report_id, stored[-1] if stored else None, [event], actor=by,
                               channel=channel if isinstance(event, e.ReportSubmitted) else "web",
                               now=start + n * step, correlation_id=f"corr-{n + 1}", causation_id=None)
    return stored


def deterministic_handler(store: Any, *, ids: str = "LAP-TEST{:06d}",
                          token_secret: str = TOKEN_SECRET) -> CommandHandler:
    """The command handler on `store`, numbering reports `ids.format(1)`, `ids.format(2)`, … and reporter
    references RPT-000…1, RPT-000…2, …"""
    report_numbers, reporter_numbers = itertools.count(1), itertools.count(1)
    return CommandHandler(store, default_calendar(), load_reference(), token_secret=token_secret,
                          new_id=lambda: ids.format(next(report_numbers)),
                          new_ref=lambda: f"RPT-{next(reporter_numbers):024d}")


class Desk:
    """Submits and runs commands as the API would, each `step` after the previous one, with correlation ids
    `correlation.format(1)`, …; keeps the ids submitted and each report's access token."""

    def __init__(self, commands: CommandHandler, clock: FakeClock, *, step: timedelta = timedelta(minutes=7),
                 correlation: str = "req-{:03d}") -> None:
        self.commands, self.clock, self.step, self.correlation = commands, clock, step, correlation
        self.ids: list[str] = []
        self.tokens: dict[str, str] = {}
        self._steps = itertools.count(1)

    def request(self) -> Request:
        self.clock.advance(seconds=self.step.total_seconds())
        return Request(now=self.clock(), correlation_id=self.correlation.format(next(self._steps)))

    def submit(self, personal: dict[str, str | None] | None = None, **fields: Any) -> str:
        """A submission (`submit_command(**fields)`), with the reporter's personal data if given."""
        result = self.commands.submit(submit_command(**fields), self.request(), personal)
        self.ids.append(result["report_id"])
        self.tokens[result["report_id"]] = result["access_token"]
        return result["report_id"]

    def run(self, report_id: str, command: c.Command) -> dict[str, Any]:
        return self.commands.execute(report_id, command, self.request())

    def reporter(self, report_id: str) -> Principal:
        """The reporter of this report, holding the token its submission returned."""
        return reporter(self.tokens[report_id])
