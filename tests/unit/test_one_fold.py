"""Every read model that keeps a status (or who handles a report) agrees with the aggregate's `evolve`,
after every event of every lifecycle path: one transition table, however many read models fold it."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.auth import hash_token
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.report import evolve, replay, state_from_json, state_to_json
from chalicelib.domain.vocabulary import HANDLING_BUCKETS, PUBLIC_BUCKETS, Role
from chalicelib.domain.working_days import default_calendar
from chalicelib.reference import load_reference
from chalicelib.services.handlers import CommandHandler, Request
from chalicelib.services.sweep import SWEEPER
from chalicelib.store.memory import InMemoryEventStore
from projections import outbox, report_view, statistics

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
NATIONAL = Principal(role=Role.ADMIN_NASIONAL, user_id="n")
SAMARINDA = Principal(role=Role.ADMIN_INSTANSI, user_id="s", institution_id="pemkot-samarinda")
BALIKPAPAN = Principal(role=Role.ADMIN_INSTANSI, user_id="b", institution_id="pemkot-balikpapan")
PUPR = Principal(role=Role.ADMIN_PENGHUBUNG, user_id="p", institution_id="pemkot-samarinda", unit_id="dinas-pupr")


def verify(principal: Principal, institution: str) -> c.VerifyReport:
    return c.VerifyReport(principal=principal, institution_id=institution, title=None, category_id=None,
                          report_type=None, requires_inspection=False, anonymous=None, confidential=None)


def answer(final: bool) -> c.PostFollowUp:
    return c.PostFollowUp(principal=PUPR, message="Sudah ditangani." if final else "Sedang ditinjau.", final=final)


# Each path: the steps after the submission (a command, or "sweep" days later to let the deadlines act).
PATHS: dict[str, list[Any]] = {
    "accepted": [verify(NATIONAL, "pemkot-samarinda"), c.AssignReport(principal=SAMARINDA, unit_id="dinas-pupr"),
                 answer(False), answer(True), "reporter:accept"],
    "held, clarified, archived as a duplicate": [
        c.HoldReport(principal=NATIONAL, question="Di RT berapa?"), "reporter:reply",
        c.ArchiveReport(principal=NATIONAL, reason="duplicate", duplicate_of="LAP-2222222222", note=None)],
    "held and never clarified": [c.HoldReport(principal=NATIONAL, question="Di RT berapa?"), "sweep:30"],
    "returned by the unit, then not its authority, re-disposed": [
        verify(NATIONAL, "pemkot-samarinda"), c.AssignReport(principal=SAMARINDA, unit_id="dinas-pupr"),
        c.ReturnReport(principal=PUPR, reason="Bukan urusan PUPR"),
        c.ReturnReport(principal=SAMARINDA, reason="Bukan wewenang pemkot"),
        c.RedisposeReport(principal=NATIONAL, institution_id="pemkot-balikpapan"),
        c.PostFollowUp(principal=BALIKPAPAN, message="Selesai.", final=True), "sweep:30"],
    "objected, reopened, escalated to the Ombudsman": [
        verify(NATIONAL, "pemkot-samarinda"), c.AssignReport(principal=SAMARINDA, unit_id="dinas-pupr"),
        answer(True), "reporter:object", "reporter:escalate"],
    "neglected for 60 days": [verify(NATIONAL, "pemkot-samarinda"), "sweep:70"],
}


def reporter_command(kind: str, principal: Principal) -> c.Command:
    return {"accept": lambda: c.AcceptResolution(principal=principal, rating=4, comment="Terima kasih"),
            "reply": lambda: c.ReplyToReport(principal=principal, message="RT 12, Kel. Gunung Sari"),
            "object": lambda: c.ObjectToResolution(principal=principal, reason="Belum diperbaiki"),
            "escalate": lambda: c.EscalateToOmbudsman(principal=principal, reason="Tidak ditanggapi")}[kind]()


def run_path(steps: list[Any]):
    store, calendar, reference = InMemoryEventStore(), default_calendar(), load_reference()
    handler = CommandHandler(store, calendar, reference, token_secret="0123456789abcdef0123")
    now = T0
    submitted = handler.submit(c.SubmitReport(
        principal=Principal(role=Role.PUBLIC), title="Jalan rusak", body="Lubang besar di depan pasar",
        report_type="complaint", category_id="infrastruktur.jalan-rusak", region_code="64.72",
        addressed_institution_id=None, anonymous=False, confidential=False, channel="web", reporter_ref="RPT-1",
        access_token_hash="", location=None), Request(now=now, correlation_id="c0"))
    report_id = submitted["report_id"]
    reporter = Principal(role=Role.REPORTER, report_token_hash=hash_token(submitted["access_token"]))
    for n, step in enumerate(steps, start=1):
        now += timedelta(hours=3)
        if isinstance(step, str) and step.startswith("sweep:"):  # the deadline sweep, days later
            now += timedelta(days=int(step.split(":")[1]))
            handler.execute(report_id, c.RecordDueActions(principal=SWEEPER), Request(now=now, correlation_id="s"),
                            channel="system")
            continue
        command = reporter_command(step.split(":")[1], reporter) if isinstance(step, str) else step
        handler.execute(report_id, command, Request(now=now, correlation_id=f"c{n}"))
    return store.load(report_id), reference, calendar


@pytest.mark.parametrize("path", list(PATHS))
def test_every_read_model_folds_like_the_aggregate_after_every_event(path):
    """Each read model keeps the aggregate's own state (through its JSON, as it stores it) and derives from it."""
    history, reference, calendar = run_path(PATHS[path])
    assert len(history) > len(PATHS[path])  # the path really ran (and the sweep really acted)
    state, view, facts, outbox_item = None, None, None, None
    for stored in history:
        state = evolve(state or replay(stored.stream_id, []), stored)
        view = report_view.apply(view, stored)
        facts = statistics.facts_from_json(statistics.facts_to_json(
            statistics.fold(facts, stored, reference, calendar)), stored.stream_id)
        kept = evolve(outbox.state_of(outbox_item, stored.stream_id), stored)
        outbox_item = {"version": {"N": str(stored.version)}, "state": {"S": json.dumps(state_to_json(kept))}}
        seen = f"{path}: after v{stored.version} {stored.type}"
        assert state_from_json(view["state"]) == facts.state == outbox.state_of(outbox_item, stored.stream_id) == state, seen
        assert view["status"] == state.status == facts.status, seen
        assert view["bucket"] == PUBLIC_BUCKETS[state.status], seen
        assert HANDLING_BUCKETS.get(view["status"]) == HANDLING_BUCKETS.get(state.status), seen
        assert (view["institution_id"], view["unit_id"]) == (state.institution_id, state.unit_id), seen
        assert (facts.region_code, facts.category_id, facts.channel) == (
            state.region_code, state.category_id, state.channel), seen


def old_statistics_facts(facts: statistics.ReportFacts) -> str:
    """The guard's facts JSON exactly as statistics wrote it before it kept the aggregate's state."""
    return json.dumps({"version": facts.version, "status": facts.status, "region_code": facts.region_code,
                       "institution_id": facts.institution_id, "category_id": facts.category_id,
                       "channel": facts.channel, "submitted_at": facts.submitted_at, "zone": facts.zone,
                       "follow_up_days": facts.follow_up_days, "overdue_clocks": list(facts.overdue_clocks)})


@pytest.mark.parametrize("path", list(PATHS))
def test_statistics_facts_in_the_old_format_go_on_counting_exactly_as_if_folded_from_the_start(path):
    history, reference, calendar = run_path(PATHS[path])
    for cut in range(1, len(history)):
        clean = None
        for stored in history[:cut]:
            clean = statistics.fold(clean, stored, reference, calendar)
        upcast = statistics.facts_from_json(old_statistics_facts(clean), history[0].stream_id)
        for stored in history[cut:]:
            clean = statistics.fold(clean, stored, reference, calendar)
            upcast = statistics.fold(upcast, stored, reference, calendar)
            assert statistics.contribution(upcast, calendar) == statistics.contribution(clean, calendar), (
                f"{path}: cut after v{cut}, at v{stored.version} {stored.type}")


@pytest.mark.parametrize("path", list(PATHS))
def test_an_outbox_item_in_the_old_format_gives_the_same_messages_as_the_aggregates_state(path):
    history, reference, _ = run_path(PATHS[path])
    for cut in range(1, len(history)):
        state = replay(history[0].stream_id, history[:cut])
        old = {"version": {"N": str(cut)}, "facts": {"S": json.dumps({  # as the outbox wrote it before
            "reporter_ref": state.reporter_ref, "channel": state.channel, "title": state.title,
            "institution_id": state.institution_id or state.addressed_institution_id, "unit_id": state.unit_id,
            "zone": "WIB"})}}
        upcast = outbox.state_of(old, history[0].stream_id)
        for stored in history[cut:]:
            state, upcast = evolve(state, stored), evolve(upcast, stored)
            assert outbox.messages_for(stored, upcast, reference) == outbox.messages_for(stored, state, reference), (
                f"{path}: cut after v{cut}, at v{stored.version} {stored.type}")
