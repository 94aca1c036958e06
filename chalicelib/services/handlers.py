"""Command handlers: load the report's stream, let the aggregate decide, append the new events.

This is the only place commands touch storage: one Query to load, one conditional write to append
(a transaction when a command writes several events or an idempotency / personal-data record with them).
Retries carrying the same Idempotency-Key get the first result back and write nothing: a known key is
answered from its stored record (one consistent GetItem) before anything is decided or written; a key
first used by a concurrent request makes our transaction fail as a whole, and we answer from the record
the winner committed. No answer depends on what a cancelled write left behind.
"""
from __future__ import annotations

import hashlib
import secrets
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

from chalicelib import observability
from chalicelib.auth import hash_token, new_salt, reporter_token
from chalicelib.clock import iso
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.institution import RecordInstitutionIndicators, decide_indicators
from chalicelib.domain.institution import stream_id as institution_stream
from chalicelib.domain.report import Context, ReportState, decide, evolve, replay
from chalicelib.domain.working_days import WorkingDayCalendar
from chalicelib.errors import ConcurrencyConflict, IdempotencyKeyReused, LaporError, ReportNotFound
from chalicelib.reference import ReferenceData
from chalicelib.store.base import (
    Append,
    EventStore,
    IdempotencyKeyTaken,
    IdempotencyRecord,
    PersonalRecord,
    chain_events,
)
from events.base import StoredEvent
from events.chain import canonical_json

IDEMPOTENCY_TTL = timedelta(days=7)  # SMS gateways and mobile apps retry for hours, not weeks
_TOKEN_SALT = "_token_salt"
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: tracking IDs are read aloud and typed from SMS


def new_report_id() -> str:
    """A tracking ID a citizen can read over the phone: LAP- and 10 unambiguous characters (50 bits)."""
    return "LAP-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def new_reporter_ref() -> str:
    return "RPT-" + secrets.token_hex(12)


@dataclass(frozen=True)
class Request:
    """Everything about one call that is not the command itself."""

    now: datetime
    correlation_id: str
    idempotency_key: str | None = None
    fingerprint: str = ""  # a digest of the operation and its body
    idempotency_scope: str | None = None  # whose keys these are, when not the caller's (an SMS gateway's)


def fingerprint(operation: str, body: Any) -> str:
    return hashlib.sha256(canonical_json([operation, body]).encode("utf-8")).hexdigest()


def scoped_key(principal: Principal, request: Request) -> str:
    """Keys are per caller, so two callers choosing the same key never see each other's results. Anonymous
    submitters have no identity to scope by: their key is scoped by what they sent, so only a retry of the
    very same request matches. A gateway's message ids are scoped by the gateway (`idempotency_scope`)."""
    key, request_fingerprint = request.idempotency_key, request.fingerprint
    if request.idempotency_scope:
        scope = request.idempotency_scope
    elif principal.is_staff:
        scope = f"staff:{principal.user_id}"
    elif principal.report_token_hash:
        scope = f"reporter:{principal.report_token_hash[:16]}"
    else:
        scope = f"public:{request_fingerprint[:32]}"
    return f"{scope}|{key}"


class _Outcome:
    value = "accepted"


_outcome: ContextVar[_Outcome | None] = ContextVar("lapor_command_outcome", default=None)


@contextmanager
def _counted(command: Any) -> Iterator[None]:
    """Count the command by type and outcome: accepted, replayed (answered from its Idempotency-Key's record)
    or the code of the error that refused it."""
    outcome = _Outcome()
    token = _outcome.set(outcome)
    name = type(command).__name__
    try:
        yield
    except LaporError as refused:
        observability.count(observability.COMMANDS, command=name, outcome=refused.code)
        raise
    except Exception:
        observability.count(observability.COMMANDS, command=name, outcome="error")
        raise
    else:
        observability.count(observability.COMMANDS, command=name, outcome=outcome.value)
    finally:
        _outcome.reset(token)


def _summary(state: ReportState, events: list[StoredEvent]) -> dict[str, Any]:
    return {"report_id": state.report_id, "status": state.status, "version": state.version,
            "events": [event.type for event in events]}


class CommandHandler:
    def __init__(self, store: EventStore, calendar: WorkingDayCalendar, reference: ReferenceData, *,
                 token_secret: str, new_id: Callable[[], str] = new_report_id,
                 new_ref: Callable[[], str] = new_reporter_ref) -> None:
        self._store, self._calendar, self._reference = store, calendar, reference
        self._token_secret, self._new_id, self._new_ref = token_secret, new_id, new_ref

    def _context(self, request: Request) -> Context:
        return Context(now=request.now, calendar=self._calendar, reference=self._reference)

    def _record(self, principal: Principal, request: Request, stream_id: str,
                response: dict[str, Any]) -> IdempotencyRecord | None:
        if request.idempotency_key is None:
            return None
        return IdempotencyRecord(key=scoped_key(principal, request),
                                 fingerprint=request.fingerprint, stream_id=stream_id, response=response,
                                 created_at=iso(request.now),
                                 expires_at=int((request.now + IDEMPOTENCY_TTL).timestamp()))

    def _earlier_result(self, principal: Principal, request: Request) -> dict[str, Any] | None:
        if request.idempotency_key is None:
            return None
        record = self._store.get_idempotency(scoped_key(principal, request))
        if record is None:
            return None
        outcome = _outcome.get()
        if outcome is not None:
            outcome.value = "replayed"
        if record.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request",
                "Idempotency-Key ini sudah dipakai untuk permintaan lain")
        response = dict(record.response)
        salt = response.pop(_TOKEN_SALT, None)
        if salt is not None:
            response["access_token"] = reporter_token(self._token_secret, record.stream_id, salt)
        return response

    def submit(self, command: c.SubmitReport, request: Request,
               personal: dict[str, str | None] | None = None) -> dict[str, Any]:
        """Record a new report; returns its tracking ID and the reporter's access token (shown once)."""
        with _counted(command):
            return self._submit(command, request, personal)

    def _submit(self, command: c.SubmitReport, request: Request,
                personal: dict[str, str | None] | None) -> dict[str, Any]:
        earlier = self._earlier_result(command.principal, request)
        if earlier is not None:  # a retry: answered from the stored record, nothing is tried again
            return earlier
        report_id, salt = self._new_id(), new_salt()
        token = reporter_token(self._token_secret, report_id, salt)
        reporter_ref = self._new_ref() if personal else None
        command = replace(command, access_token_hash=hash_token(token), reporter_ref=reporter_ref)
        state = ReportState(report_id=report_id)
        new_events = decide(state, command, self._context(request))
        stored = self._chain(report_id, [], new_events, command.principal, request, command.channel)
        state = replay(report_id, stored)
        response = _summary(state, stored) | {"verification_due": state.verification_due}
        record = self._record(command.principal, request, report_id, response | {_TOKEN_SALT: salt})
        personal_record = (PersonalRecord(reporter_ref=reporter_ref, created_at=iso(request.now), **personal)
                           if reporter_ref else None)
        try:
            self._store.append(Append(report_id, 0, stored, idempotency=record, personal=personal_record))
        except IdempotencyKeyTaken:
            return self._earlier_result(command.principal, request)
        observability.count(observability.REPORTS_SUBMITTED, channel=command.channel)
        return response | {"access_token": token}

    def execute(self, report_id: str, command: c.Command, request: Request, channel: str = "web") -> dict[str, Any]:
        """Run a command on an existing report."""
        with _counted(command):
            return self._execute(report_id, command, request, channel)

    def _execute(self, report_id: str, command: c.Command, request: Request, channel: str) -> dict[str, Any]:
        earlier = self._earlier_result(command.principal, request)
        if earlier is not None:  # a retry: answered from the stored record, nothing is tried again
            return earlier
        history = self._store.load(report_id)
        state = replay(report_id, history)
        try:
            if not history:
                raise ReportNotFound(report_id)
            new_events = decide(state, command, self._context(request))
        except LaporError as refused:
            return self._earlier_or_raise(command.principal, request, refused)
        stored = self._chain(report_id, history, new_events, command.principal, request, channel)
        for event in stored:
            state = evolve(state, event)
        return self._commit(report_id, history, stored, command.principal, request, _summary(state, stored))

    def record_indicators(self, command: RecordInstitutionIndicators, request: Request) -> dict[str, Any]:
        with _counted(command):
            return self._record_indicators(command, request)

    def _record_indicators(self, command: RecordInstitutionIndicators, request: Request) -> dict[str, Any]:
        earlier = self._earlier_result(command.principal, request)
        if earlier is not None:
            return earlier
        stream = institution_stream(command.institution_id)
        history = self._store.load(stream)
        try:
            new_events = decide_indicators(command, self._reference)
        except LaporError as refused:
            return self._earlier_or_raise(command.principal, request, refused)
        stored = self._chain(stream, history, new_events, command.principal, request, "web")
        response = {"institution_id": command.institution_id, "year": command.year, "version": stored[-1].version,
                    "events": [event.type for event in stored]}
        return self._commit(stream, history, stored, command.principal, request, response)

    def _earlier_or_raise(self, principal: Principal, request: Request, refused: LaporError) -> dict[str, Any]:
        """A retry of a command that already succeeded is refused by the new state; answer it as before."""
        earlier = self._earlier_result(principal, request)
        if earlier is None:
            raise refused
        return earlier

    def _chain(self, stream_id: str, history: list[StoredEvent], new_events: list, principal: Principal,
               request: Request, channel: str) -> list[StoredEvent]:
        return chain_events(stream_id, history[-1] if history else None, new_events, actor=principal.actor(),
                            channel=channel, now=request.now, correlation_id=request.correlation_id,
                            causation_id=request.idempotency_key)

    def _commit(self, stream_id: str, history: list[StoredEvent], stored: list[StoredEvent], principal: Principal,
                request: Request, response: dict[str, Any]) -> dict[str, Any]:
        try:
            self._store.append(Append(stream_id, len(history), stored,
                                      idempotency=self._record(principal, request, stream_id, response)))
        except (IdempotencyKeyTaken, ConcurrencyConflict):
            earlier = self._earlier_result(principal, request)
            if earlier is not None:
                return earlier
            raise
        return response

    def load_state(self, report_id: str) -> ReportState:
        return replay(report_id, self._store.load(report_id))
