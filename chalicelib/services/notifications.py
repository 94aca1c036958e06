"""Delivering outbox messages exactly once each, with retries and a dead-letter state (DOMAIN §7, issue 4).

A sender claims a message with a conditional update (only one sender wins an attempt), resolves the
recipient's address at send time (a reporter's phone or e-mail from the personal-data table; staff through
their institution's topic), hands it to a gateway and records the outcome. A temporary failure is retried
with growing delays; a rejected address, a missing contact or too many failures move the message to the
dead-letter state, where it stays visible and is never resent. A sender that dies mid-send leaves the claim
to expire, so the message is retried rather than lost (delivery to the gateway is at least once).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.clock import iso

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
LEASE = timedelta(minutes=5)


# Gateway answers that say "later", not "never" (SNS says Throttled, SES Throttling; a paused SES account or
# configuration set resumes). Anything else from the gateway is a refusal of this address or message.
TEMPORARY_ERRORS = frozenset({
    "Throttling", "ThrottlingException", "Throttled", "KMSThrottling", "TooManyRequestsException",
    "ServiceUnavailable", "InternalError", "InternalFailure", "AccountSendingPausedException",
    "ConfigurationSetSendingPausedException"})


class Rejected(Exception):
    """The gateway refused the address or the message for good: retrying cannot help."""


class TemporaryFailure(Exception):
    """Throttling, timeouts, outages: try again later."""


@dataclass(frozen=True)
class Delivery:
    channel: str  # sms | email | staff
    address: str  # E.164 phone, e-mail address, or the staff audience "role/institution/unit"
    subject: str
    text: str
    message_id: str


class Gateway(Protocol):
    def send(self, delivery: Delivery) -> str:
        """Deliver; return the gateway's message id. Raise Rejected or TemporaryFailure."""


class FileGateway:
    """Local runs: every delivery appended to a JSON-lines file, and kept for the /dev/outbox page."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def send(self, delivery: Delivery) -> str:
        with self._path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(delivery.__dict__, ensure_ascii=False) + "\n")
        return f"file:{delivery.message_id}"


@dataclass
class TwilioSmsGateway:
    """SMS through Twilio's Messages API (the gateway SMS 1708 arrives by), with the `twilio` package."""

    client: Any  # twilio.rest.Client
    sender: str  # the number or short code messages come from

    def send(self, delivery: Delivery) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            return self.client.messages.create(to=delivery.address, from_=self.sender, body=delivery.text).sid
        except TwilioRestException as error:
            if error.status == 429 or error.status >= 500:
                raise TemporaryFailure(f"Twilio {error.status} {error.code}") from None
            raise Rejected(f"Twilio {error.status} {error.code}: {error.msg}") from None
        except TwilioException as error:  # no answer: the network, a timeout
            raise TemporaryFailure(f"Twilio: {error}") from None


@dataclass
class AwsGateway:
    """SMS through Amazon SNS (or `sms`, e.g. Twilio), e-mail through Amazon SES, staff through an SNS topic
    filtered by audience."""

    sns: Any
    ses: Any
    email_from: str
    staff_topic_arn: str
    sms: Gateway | None = None

    def send(self, delivery: Delivery) -> str:
        from botocore.exceptions import ClientError

        if delivery.channel == "sms" and self.sms is not None:
            return self.sms.send(delivery)
        try:
            if delivery.channel == "sms":
                return self.sns.publish(PhoneNumber=delivery.address, Message=delivery.text)["MessageId"]
            if delivery.channel == "email":
                return self.ses.send_email(
                    Source=self.email_from, Destination={"ToAddresses": [delivery.address]},
                    Message={"Subject": {"Data": delivery.subject, "Charset": "UTF-8"},
                             "Body": {"Text": {"Data": delivery.text, "Charset": "UTF-8"}}})["MessageId"]
            role, _, scope = delivery.address.partition("/")
            return self.sns.publish(TopicArn=self.staff_topic_arn, Subject=delivery.subject[:100],
                                    Message=delivery.text, MessageAttributes={
                                        "role": {"DataType": "String", "StringValue": role},
                                        "scope": {"DataType": "String", "StringValue": scope or "national"}}
                                    )["MessageId"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in TEMPORARY_ERRORS:
                raise TemporaryFailure(code) from None
            raise Rejected(f"{code}: {error.response.get('Error', {}).get('Message', '')}") from None


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0  # claimed by another sender first
    suppressed: int = 0  # to numbers that sent STOP
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "retried": self.retried, "dead": self.dead, "skipped": self.skipped,
                "suppressed": self.suppressed}


class Suppressed(Exception):
    """Not to be sent at all: the number asked for no more SMS (STOP)."""


def _destination(message: dict[str, Any], store: Any, numbers: Any) -> tuple[str, str]:
    """(channel, address). A reporter is reached the way they came (SMS for SMS reporters, else e-mail),
    or by the other contact they left when that one is missing; a number that wrote to SMS 1708 by SMS."""
    recipient = message["recipient"]
    if recipient["kind"] == "staff":
        return "staff", "/".join(filter(None, (recipient.get("role"), recipient.get("institution_id"),
                                               recipient.get("unit_id"))))
    if recipient["kind"] == "sms":
        phone = numbers.phone_of(recipient["contact"]) if numbers else None
        if not phone:
            raise Rejected("no contact: the number's details were removed by an erasure")
        return "sms", phone
    person = store.get_personal(recipient["reporter_ref"])
    if person is None or person.erased_at:
        raise Rejected("no contact: the reporter's details were removed by an erasure, or never given")
    contacts = [("sms", person.phone), ("email", person.email)]
    if message["channel"] != "sms":
        contacts.reverse()
    for channel, address in contacts:
        if address:
            return channel, address
    raise Rejected("the reporter left neither a phone number nor an e-mail address")


def send_due(outbox: Any, store: Any, gateway: Gateway, now: datetime, limit: int = 100,
             numbers: Any = None) -> SendResult:
    """`numbers` (chalicelib.services.sms.SmsNumbers) reaches numbers that wrote to SMS 1708 and knows
    which sent STOP; without it, SMS go to reporters' numbers as they left them."""
    result = SendResult()
    for message in outbox.due(iso(now), limit=limit):
        message_id, attempts = message["message_id"], message["attempts"]
        if not outbox.claim(message_id, attempts, iso(now), iso(now + LEASE)):
            result.skipped += 1
            continue
        try:
            channel, address = _destination(message, store, numbers)
            if channel == "sms" and numbers and not message.get("despite_stop") and numbers.stopped(address):
                raise Suppressed("the number sent STOP")
            delivery = Delivery(channel=channel, address=address, subject=f"LAPOR! {message['report_id']}",
                                text=message["text"], message_id=message_id)
            gateway_id = gateway.send(delivery)
        except Suppressed as suppressed:
            outbox.mark_suppressed(message_id, attempts + 1, str(suppressed))
            result.suppressed += 1
            continue
        except Rejected as rejected:
            outbox.mark_failed(message_id, attempts + 1, f"rejected: {rejected}", retry_at=None)
            result.dead += 1
            continue
        except Exception as failure:  # noqa: BLE001 — any other failure is worth another try
            attempt = attempts + 1
            retry_at = None if attempt >= MAX_ATTEMPTS else iso(now + BACKOFF[min(attempt, len(BACKOFF)) - 1])
            outbox.mark_failed(message_id, attempt, f"attempt {attempt}: {type(failure).__name__}: {failure}", retry_at)
            if retry_at is None:
                result.dead += 1
            else:
                result.retried += 1
            continue
        outbox.mark_sent(message_id, attempts + 1, iso(now), gateway_id)
        result.sent += 1
    # Every run, zeros too: the dead-letter alarm then has a data point each minute.
    observability.count(observability.OUTBOX_SENT, result.sent)
    observability.count(observability.OUTBOX_FAILED, result.retried)
    observability.count(observability.OUTBOX_DEAD_LETTERS, result.dead)
    return result
