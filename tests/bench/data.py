"""Real data at volume, fast: the real domain decides a few template reports, then copies re-chain them.

A template is one report taken through the real CommandHandler (on the in-memory store: real `decide`,
real deadlines from the working-day calendar) on a given day. A copy re-wraps the template's domain events,
command by command, in new envelopes with `chain_events` — a new report id, the times shifted by a few
minutes, a fresh SHA-256 hash chain — so every copy is a real, verifiable stream that `read_days` returns
in order. Read-model items for copies are built with the projections' own functions (`apply`, `summary`,
`index_keys`, `fold`, `contribution`, `evolve`) over the template's events, then given the copy's id.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, replace
from typing import Any, Iterable, Iterator

from chalicelib.auth import hash_token
from chalicelib.clock import parse_instant
from chalicelib.domain import commands as c
from chalicelib.domain.access import ANONYMOUS_PUBLIC, Principal
from chalicelib.domain.report import ReportState, replay, state_to_json
from chalicelib.domain.vocabulary import Role
from chalicelib.domain.working_days import WorkingDayCalendar
from chalicelib.reference import ReferenceData
from chalicelib.services.handlers import CommandHandler, Request, new_report_id
from chalicelib.store.base import chain_events
from chalicelib.store.dynamodb import to_item
from chalicelib.store.memory import InMemoryEventStore
from chalicelib.store.models import EventItem
from events.base import Actor, DomainEvent, StoredEvent
from projections.report_view import ReportViewItem, apply, index_keys, summary
from projections.statistics import ReportFacts, contribution, difference, facts_to_json, fold

INSTITUTION_ID, UNIT_ID, REGION_CODE = "pemkot-samarinda", "dinas-pupr", "64.72"
CATEGORY_ID = "infrastruktur.drainase"
TOKEN_SECRET = "bench-token-secret-0123456789abcdef"
FOLLOW_UP = ("Petugas Dinas PUPR sudah meninjau saluran di Jl. Pahlawan; pembersihan sampah dijadwalkan Kamis "
             "pagi bersama kecamatan, dan warga akan diberi kabar melalui ketua RT setempat.")
ANSWER = ("Saluran di Jl. Pahlawan sudah dibersihkan dan dinormalisasi pada hari Kamis; genangan tidak terjadi "
          "lagi pada hujan terakhir. Terima kasih atas laporannya.")
NATIONAL = Principal(role="admin_nasional", user_id="bench-national")
INSTITUTION = Principal(role="admin_instansi", user_id="bench-institution", institution_id=INSTITUTION_ID)
LIAISON = Principal(role="admin_penghubung", user_id="bench-liaison", institution_id=INSTITUTION_ID, unit_id=UNIT_ID)
# Two lives of exactly five events each (the hours after submission at which each command is given).
#   answered: submit, verify, assign, follow-up, final answer
#   closed:   submit, verify, final answer, accept (ResolutionAccepted + ReportClosed in one command)
LIVES = {"answered": (0, 4, 8, 24, 48), "closed": (0, 4, 28, 50)}
COPY_SPREAD = dt.timedelta(hours=6)  # copies of a template start within 6 h of it (same local working day)


@dataclass(frozen=True)
class Group:
    """One command's events in a template: when (offset from the template's start), by whom, what."""

    offset: dt.timedelta
    actor: Actor
    channel: str
    events: tuple[DomainEvent, ...]


@dataclass(frozen=True)
class Template:
    life: str
    start: dt.datetime
    history: tuple[StoredEvent, ...]  # the template's own stream
    groups: tuple[Group, ...]

    def prefix(self, events: int) -> "Template":
        """The template cut after `events` events (whole commands only)."""
        kept, count = [], 0
        for group in self.groups:
            if count >= events:
                break
            kept.append(group)
            count += len(group.events)
        return Template(self.life, self.start, self.history[:count], tuple(kept))

    @property
    def status(self) -> str:
        return replay(self.history[0].stream_id, self.history).status


def make_template(reference: ReferenceData, calendar: WorkingDayCalendar, start: dt.datetime, life: str,
                  *, addressed: bool = True) -> Template:
    """One report through the real CommandHandler and domain, on the in-memory store."""
    store = InMemoryEventStore()
    handler = CommandHandler(store, calendar, reference, token_secret=TOKEN_SECRET, new_id=new_report_id)
    hours = iter(LIVES[life])

    def request() -> Request:
        return Request(now=start + dt.timedelta(hours=next(hours)), correlation_id=str(uuid.uuid4()))

    submitted = handler.submit(c.SubmitReport(
        principal=ANONYMOUS_PUBLIC, title="Drainase tersumbat", body="Saluran air di Jl. Pahlawan tersumbat "
        "sampah, banjir setiap hujan deras; mohon segera dibersihkan.", report_type="complaint",
        category_id=CATEGORY_ID, region_code=REGION_CODE,
        addressed_institution_id=INSTITUTION_ID if addressed else None, anonymous=False, confidential=False,
        channel="web", reporter_ref=None, access_token_hash="", location=None), request())
    report_id = submitted["report_id"]
    reporter = Principal(role=Role.REPORTER, report_token_hash=hash_token(submitted["access_token"]))
    verify = c.VerifyReport(principal=NATIONAL, institution_id=INSTITUTION_ID, title=None, category_id=None,
                            report_type=None, requires_inspection=False, anonymous=None, confidential=None)
    if life == "answered":
        commands = [verify, c.AssignReport(principal=INSTITUTION, unit_id=UNIT_ID),
                    c.PostFollowUp(principal=LIAISON, message=FOLLOW_UP, final=False),
                    c.PostFollowUp(principal=LIAISON, message=ANSWER, final=True)]
    else:
        commands = [verify, c.PostFollowUp(principal=INSTITUTION, message=ANSWER, final=True),
                    c.AcceptResolution(principal=reporter, rating=5, comment="Terima kasih, sudah beres.")]
    for command in commands:
        handler.execute(report_id, command, request())
    history = tuple(store.load(report_id))
    groups: list[Group] = []
    for stored in history:
        offset = parse_instant(stored.occurred_at) - start
        if stored.version > 1 and history[stored.version - 2].correlation_id == stored.correlation_id:
            last = groups[-1]  # the same command's next event
            groups[-1] = Group(last.offset, last.actor, last.channel, last.events + (stored.event,))
        else:
            groups.append(Group(offset, stored.actor, stored.channel, (stored.event,)))
    return Template(life, start, history, tuple(groups))


def copy_events(template: Template, report_id: str, shift: dt.timedelta) -> list[StoredEvent]:
    """The template's events as a new report's real stream: same facts, new id, times + shift, new hash chain."""
    stream: list[StoredEvent] = []
    for group in template.groups:
        stream += chain_events(report_id, stream[-1] if stream else None, group.events, actor=group.actor,
                               channel=group.channel, now=template.start + group.offset + shift,
                               correlation_id=str(uuid.uuid4()), causation_id=None)
    return stream


def day_starts(first: dt.date, days: int) -> list[dt.datetime]:
    """09:00 WITA (01:00 UTC) on `days` consecutive days."""
    return [dt.datetime.combine(first + dt.timedelta(days=n), dt.time(1, 0), tzinfo=dt.timezone.utc)
            for n in range(days)]


def copies(templates: list[Template], reports: int) -> Iterator[tuple[Template, str, dt.timedelta]]:
    """`reports` (template, new id, shift) triples, spread evenly over the templates."""
    per_template = -(-reports // len(templates))
    step = COPY_SPREAD / per_template
    made = 0
    for n in range(per_template):
        for template in templates:
            if made == reports:
                return
            yield template, new_report_id(), step * n
            made += 1


def event_items(model: type[EventItem], streams: Iterable[list[StoredEvent]]) -> list[dict[str, Any]]:
    """Event items exactly as DynamoDBEventStore writes them (pynamodb's own serialization)."""
    return [to_item(model, event).serialize() for stream in streams for event in stream]


# ------------------------------------------------------------------------------------ read-model items

@dataclass(frozen=True)
class ViewTemplate:
    view: dict[str, Any]
    version: int


def view_template(template: Template) -> ViewTemplate:
    view: dict[str, Any] | None = None
    for stored in template.history:
        view = apply(view, stored)
    assert view is not None
    return ViewTemplate(view, template.history[-1].version)


def view_item(model: type[ReportViewItem], template: ViewTemplate, report_id: str) -> dict[str, Any]:
    """The report_views item ReportViews.project would have written for this report, serialized."""
    view = dict(template.view, report_id=report_id)
    return model(report_id, last_version=template.version, view=json.dumps(view),
                 summary=json.dumps(summary(view)), **index_keys(view)).serialize()


@dataclass(frozen=True)
class StatsTemplate:
    facts: ReportFacts
    counters: dict[str, dict[str, int]]  # this report's contribution, by counter key


def stats_template(template: Template, reference: ReferenceData, calendar: WorkingDayCalendar) -> StatsTemplate:
    facts: ReportFacts | None = None
    total: dict[str, dict[str, int]] = {}
    for stored in template.history:
        new = fold(facts, stored, reference, calendar)
        for key, fields in difference(contribution(new, calendar), contribution(facts, calendar)).items():
            counters = total.setdefault(key, {})
            for name, value in fields.items():
                counters[name] = counters.get(name, 0) + value
        facts = new
    assert facts is not None
    return StatsTemplate(facts, total)


def guard_item(template: StatsTemplate, report_id: str) -> dict[str, Any]:
    """The `guard#<report>` item Statistics.project keeps (last applied version and the folded facts)."""
    facts = template.facts
    return {"key": {"S": f"guard#{report_id}"}, "version": {"N": str(facts.version)},
            "facts": {"S": facts_to_json(replace(facts, state=replace(facts.state, report_id=report_id)))}}


def add_counters(totals: dict[str, dict[str, int]], template: StatsTemplate, times: int = 1) -> None:
    for key, fields in template.counters.items():
        counters = totals.setdefault(key, {})
        for name, value in fields.items():
            counters[name] = counters.get(name, 0) + value * times


def counter_items(totals: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [{"key": {"S": key}} | {name: {"N": str(value)} for name, value in fields.items() if value}
            for key, fields in sorted(totals.items())]


def deadline_item(state: ReportState, report_id: str, next_action: str | None) -> dict[str, Any]:
    """The deadlines item DeadlineIndex.project keeps: version, folded state, and the sparse index keys."""
    state = replace(state, report_id=report_id)
    item = {"report_id": {"S": report_id}, "version": {"N": str(state.version)},
            "state": {"S": json.dumps(state_to_json(state))}}
    if next_action:
        item |= {"due_q": {"S": "due"}, "next_action": {"S": f"{next_action}#{report_id}"}}
    return item
