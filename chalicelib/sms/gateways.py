"""Inbound SMS from the gateways' webhooks, each checked for its signature and turned into one `InboundSms`.

- **Twilio** posts a form (`MessageSid`, `AccountSid`, `From`, `To`, `Body`, ...) signed in
  `X-Twilio-Signature` (HMAC-SHA1 over the webhook URL and the sorted parameters), checked with the
  `twilio` package's own `RequestValidator`. It expects TwiML back; an empty `<Response/>` sends nothing
  (replies go out through the outbox, exactly once).
- **Infobip** posts JSON `{"results": [{messageId, from, to, text, receivedAt, ...}], ...}`, one or several
  messages per request, authenticated by the HTTP Basic credentials configured on its forwarding URL
  (the password is our shared secret). It retries until it gets a 2xx.

A wrong or missing signature or secret is refused before anything is read or written.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.clock import iso, parse_instant
from chalicelib.errors import Forbidden, MalformedRequest, Unauthenticated, ValidationFailed
from chalicelib.reference import InvalidPhoneNumber, normalize_phone

MAX_TEXT = 1600  # what a gateway reassembles at most (10 concatenated parts); longer is not an SMS


@dataclass(frozen=True)
class InboundSms:
    gateway: str  # twilio | infobip
    message_id: str  # the gateway's id; a digest of sender + text + gateway time when it gives none
    sender: str  # E.164
    text: str
    received_at: str  # ISO-8601 UTC: the gateway's time, else ours

    @property
    def dedup_key(self) -> str:
        return f"{self.gateway}|{self.message_id}"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.gateway}\n{self.message_id}\n{self.sender}\n{self.text}".encode()).hexdigest()


def e164(number: str) -> str:
    """The sender as +62…, by the same rule as a web reporter's phone (lokal-id); SMS 1708 is an Indonesian
    short code. An address that is not a valid Indonesian number is refused."""
    try:
        return normalize_phone(number.strip())
    except InvalidPhoneNumber as invalid:
        raise ValidationFailed(f"the sender is {invalid}",  # not the number itself: it is personal data
                               f"pengirim bukan nomor telepon Indonesia yang sah: {invalid.reason}",
                               field="from") from None


def inbound(gateway: str, message_id: str | None, sender: str, text: str, gateway_time: str | None,
            now: datetime) -> InboundSms:
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"the message is longer than {MAX_TEXT} characters",
                               f"pesan lebih dari {MAX_TEXT} karakter", field="text")
    phone = e164(sender)
    received_at = iso(parse_instant(gateway_time)) if gateway_time else iso(now)
    if not message_id:  # no id from the gateway: the same message delivered again digests the same
        message_id = "h-" + hashlib.sha256(f"{phone}\n{text}\n{gateway_time or ''}".encode()).hexdigest()[:40]
    return InboundSms(gateway=gateway, message_id=message_id[:100], sender=phone, text=text,
                      received_at=received_at)


# ------------------------------------------------------------------------------------------------ Twilio

def twilio_inbound(form: dict[str, list[str]], *, url: str, signature: str | None, auth_token: str | None,
                   account_sid: str | None, now: datetime) -> InboundSms:
    if not auth_token:
        raise Forbidden("the Twilio webhook is not configured (LAPOR_TWILIO_AUTH_TOKEN)",
                        "webhook Twilio belum dikonfigurasi")
    from twilio.request_validator import RequestValidator  # 80 ms of imports: only on this route

    params = {name: values[0] for name, values in form.items()}
    if not signature or not RequestValidator(auth_token).validate(url, params, signature):
        raise Forbidden("X-Twilio-Signature is missing or does not match", "tanda tangan Twilio tidak sah")
    if account_sid and params.get("AccountSid") != account_sid:
        raise Forbidden("the message is for another Twilio account", "pesan untuk akun Twilio lain")
    for name in ("MessageSid", "From"):
        if not params.get(name):
            raise MalformedRequest(f"the Twilio webhook has no {name}", f"webhook Twilio tanpa {name}")
    return inbound("twilio", params["MessageSid"], params["From"], params.get("Body", ""), None, now)


TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# ------------------------------------------------------------------------------------------------ Infobip

def check_basic_secret(authorization: str | None, secret: str | None, gateway: str) -> None:
    if not secret:
        raise Forbidden(f"the {gateway} webhook is not configured", f"webhook {gateway} belum dikonfigurasi")
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        _, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        password = ""
    if scheme.lower() != "basic" or not hmac.compare_digest(password.encode(), secret.encode()):
        raise Unauthenticated(f"the {gateway} webhook needs its Basic credentials",
                              f"webhook {gateway} memerlukan kredensial Basic")


def infobip_inbound(raw_body: bytes, *, authorization: str | None, secret: str | None,
                    now: datetime) -> list[InboundSms]:
    check_basic_secret(authorization, secret, "Infobip")
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("the Infobip webhook body is not JSON", "isi webhook Infobip bukan JSON") from None
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or not results or len(results) > 100:
        raise MalformedRequest("the Infobip webhook needs 1-100 `results`", "webhook Infobip perlu 1-100 `results`")
    messages = []
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("from"), str) or \
                not isinstance(result.get("text", ""), str):
            raise MalformedRequest("each Infobip result needs `from` and `text`",
                                   "setiap hasil Infobip perlu `from` dan `text`")
        sender = result["from"] if result["from"].startswith("+") else "+" + result["from"]
        messages.append(inbound("infobip", str(result.get("messageId") or ""), sender,
                                result.get("cleanText") or result.get("text") or "",
                                _infobip_time(result.get("receivedAt")), now))
    return messages


def _infobip_time(value: Any) -> str | None:
    """Infobip writes `2019-11-09T16:00:00.000+0000` (no colon in the offset)."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    try:
        return iso(parse_instant(value))
    except ValueError:
        raise MalformedRequest(f"receivedAt {value[:40]!r} is not a time", "receivedAt bukan waktu") from None
