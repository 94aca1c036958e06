"""The SMS 1708 desk: one inbound message in, at most one report or one answer out — however often the
gateway delivers it.

Order matters: (1) a message seen before (its gateway id is an idempotency key written in the same
transaction as the events it caused) is answered as before and changes nothing; (2) a number or gateway
over its rate is throttled; (3) the conversation rules (chalicelib/sms/conversation.py) decide what the
message is. A new report and the answer to a hold go through the same CommandHandler as the HTTP API;
answers that record no event (help, CEK, STOP) are outbox messages keyed by the inbound message, so a
redelivery makes no second answer. Replies about the report itself (the tracking id, each status change)
come from its events, through the outbox, like every other notification.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import iso
from chalicelib.domain import commands as c
from chalicelib.domain.access import ANONYMOUS_PUBLIC, Principal, can_see
from chalicelib.domain.report import ReportState
from chalicelib.domain.vocabulary import Role, Status
from chalicelib.errors import IdempotencyKeyReused
from chalicelib.reference import ReferenceData
from chalicelib.services.handlers import CommandHandler, Request
from chalicelib.sms import conversation as talk
from chalicelib.sms.gateways import InboundSms
from chalicelib.store.base import EventStore
from chalicelib.store.sms_contacts import Contact, SmsContacts

logger = logging.getLogger(__name__)
SCOPE = "sms"  # the idempotency scope of gateway message ids
RECENT_REPORTS = 5  # how many of a number's latest reports a reply may be the answer to


def phone_key(secret: str, phone: str) -> str:
    """A keyed hash of the number: the contact's key, and what logs may name instead of the number."""
    return hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()[:32]


class SmsNumbers:
    """What the sender needs to know about a number: where a contact key leads, and whether it sent STOP."""

    def __init__(self, contacts: SmsContacts, secret: str) -> None:
        self._contacts, self._secret = contacts, secret

    def phone_of(self, contact_key: str) -> str | None:
        contact = self._contacts.get(contact_key)
        return contact.phone if contact else None

    def stopped(self, phone: str) -> bool:
        contact = self._contacts.get(phone_key(self._secret, phone))
        return bool(contact and contact.stopped_at)


@dataclass(frozen=True)
class Limits:
    per_number_per_hour: int = 20
    per_gateway_per_minute: int = 600


@dataclass(frozen=True)
class Outcome:
    kind: str  # report | clarification | status | help | stopped | resumed | throttled | duplicate
    report_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.kind, "report_id": self.report_id}


class SmsDesk:
    def __init__(self, *, store: EventStore, commands: CommandHandler, contacts: SmsContacts, outbox: Any,
                 reference: ReferenceData, secret: str, limits: Limits = Limits()) -> None:
        self._store, self._commands, self._contacts, self._outbox = store, commands, contacts, outbox
        self._reference, self._secret, self._limits = reference, secret, limits

    def receive(self, sms: InboundSms, now: datetime) -> Outcome:
        key = phone_key(self._secret, sms.sender)
        earlier = self._store.get_idempotency(f"{SCOPE}|{sms.dedup_key}")
        if earlier is not None:
            if earlier.fingerprint != sms.fingerprint:
                raise IdempotencyKeyReused(f"{sms.gateway} message {sms.message_id} was already received with "
                                           "another sender or text", "id pesan ini sudah dipakai pesan lain")
            if earlier.response.get("events") == ["ReportSubmitted"]:  # the first delivery may have died here
                self._contacts.link(key, sms.sender, earlier.stream_id, earlier.created_at)
            return Outcome("duplicate", earlier.stream_id)
        if self._throttled(key, sms, now):
            return Outcome("throttled")
        intent = talk.classify(sms.text)
        request = Request(now=now, correlation_id=f"sms-{sms.gateway}-{sms.message_id}"[:128],
                          idempotency_key=sms.dedup_key, fingerprint=sms.fingerprint, idempotency_scope=SCOPE)
        if isinstance(intent, talk.Text):
            contact = self._contacts.get(key)
            held = self._report_on_hold(contact)
            if held is not None:
                return self._clarify(held, intent, request)
            return self._report(key, sms, intent, request)
        self._contacts.touch(key, sms.sender, iso(now))
        if isinstance(intent, talk.Stop):
            self._contacts.stop(key, sms.sender, iso(now))
            return self._answer("stopped", sms, key, talk.STOPPED, now, despite_stop=True)
        if isinstance(intent, talk.Resume):
            self._contacts.resume(key)
            return self._answer("resumed", sms, key, talk.RESUMED, now)
        if isinstance(intent, talk.CheckStatus):
            return self._answer("status", sms, key, self._status(intent.report_id, self._contacts.get(key)), now,
                                report_id=intent.report_id)
        return self._answer("help", sms, key, talk.HELP_CHECK if intent.about_check else talk.HELP, now)

    # ------------------------------------------------------------------------------------------------

    def _throttled(self, key: str, sms: InboundSms, now: datetime) -> bool:
        hour, minute = int(now.timestamp()) // 3600, int(now.timestamp()) // 60
        per_number = self._contacts.count(f"rate|sms|{key}|{hour}", expires_at=(hour + 2) * 3600)
        per_gateway = self._contacts.count(f"rate|gateway|{sms.gateway}|{minute}", expires_at=(minute + 5) * 60)
        if per_number > self._limits.per_number_per_hour:
            logger.warning("sms throttled: number %s… sent %d messages this hour (limit %d); %s message %s "
                           "dropped, no report", key[:8], per_number, self._limits.per_number_per_hour,
                           sms.gateway, sms.message_id)
            return True
        if per_gateway > self._limits.per_gateway_per_minute:
            logger.warning("sms throttled: gateway %s sent %d messages this minute (limit %d); message %s dropped",
                           sms.gateway, per_gateway, self._limits.per_gateway_per_minute, sms.message_id)
            return True
        return False

    def _report_on_hold(self, contact: Contact | None) -> ReportState | None:
        for report_id in (contact.reports[:RECENT_REPORTS] if contact else ()):
            state = self._commands.load_state(report_id)
            if state.status == Status.ON_HOLD:
                return state
        return None

    def _clarify(self, held: ReportState, text: talk.Text, request: Request) -> Outcome:
        # The number is the SMS reporter's identity (DOMAIN §3): a message from the number that filed the
        # report acts as its reporter, as the report token does on the web.
        reporter = Principal(role=Role.REPORTER, report_token_hash=held.access_token_hash)
        self._commands.execute(held.report_id, c.ReplyToReport(principal=reporter, message=text.body), request,
                               channel="sms")
        return Outcome("clarification", held.report_id)

    def _report(self, key: str, sms: InboundSms, text: talk.Text, request: Request) -> Outcome:
        result = self._commands.submit(c.SubmitReport(
            principal=ANONYMOUS_PUBLIC, title=None, body=text.body, report_type="complaint", category_id=None,
            region_code="", addressed_institution_id=None, anonymous=text.anonymous, confidential=text.confidential,
            channel="sms", channel_detail=sms.gateway, reporter_ref=None, access_token_hash="", location=None),
            request, personal={"phone": sms.sender})
        self._contacts.link(key, sms.sender, result["report_id"], iso(request.now))
        return Outcome("report", result["report_id"])

    def _status(self, report_id: str, contact: Contact | None) -> str:
        state = self._commands.load_state(report_id)
        own = contact is not None and report_id in contact.reports
        if state.status == Status.NEW or not (own or can_see(ANONYMOUS_PUBLIC, state.exposure)):
            return talk.NOT_FOUND.format(report_id=report_id)  # never says whether a hidden report exists
        institution = self._reference.institution(state.institution_id or state.addressed_institution_id or "")
        return talk.status_text(report_id, state.status, institution.name if institution else None)

    def _answer(self, kind: str, sms: InboundSms, key: str, text: str, now: datetime, *,
                report_id: str | None = None, despite_stop: bool = False) -> Outcome:
        self._outbox.reply(f"sms-in#{sms.dedup_key}", report_id=report_id or "-", contact=key, text=text,
                           created_at=iso(now), despite_stop=despite_stop)
        return Outcome(kind, report_id)
