"""SMS 1708: the gateways' inbound webhooks, one route per gateway format (`receiveSms`).

Each adapter (chalicelib/sms/gateways.py) checks the gateway's signature or secret first — a request that
fails it is refused (401/403) before anything is read or written — then turns the payload into
`InboundSms`es for the desk (chalicelib/services/sms.py). The answer is the one the gateway expects, so it
stops retrying: TwiML for Twilio, a JSON 200 for Infobip. Replies to the citizen go out through the outbox.
"""
from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.errors import NotFound
from chalicelib.http.endpoint import Call, endpoint
from chalicelib.http.errors import JSON_HEADERS
from chalicelib.http.validation import parse_form_body, require_size
from chalicelib.sms.gateways import TWIML_EMPTY, infobip_inbound, twilio_inbound

GATEWAYS = ("twilio", "infobip")
MAX_WEBHOOK_BYTES = 16 * 1024  # an SMS is at most 1,600 characters; anything much larger is not one


@endpoint("POST", "/sms/{gateway}", "receiveSms",
          "SMS 1708 from a gateway: twilio (form-encoded, X-Twilio-Signature) or infobip (JSON, Basic secret)",
          audience="the SMS gateways (signed)", staff_auth=False)
def receive_sms(call: Call) -> Any:
    gateway, settings, desk = call.params["gateway"], call.services.settings, call.services.sms_desk
    if gateway not in GATEWAYS:
        raise NotFound(f"no SMS gateway {gateway[:40]!r} (known: {', '.join(GATEWAYS)})",
                       f"gateway SMS {gateway[:40]!r} tidak dikenal")
    if gateway == "twilio":
        form = parse_form_body(call.raw_body, call.headers.get("content-type"), max_bytes=MAX_WEBHOOK_BYTES)
        sms = twilio_inbound(form, url=webhook_url(call), signature=call.headers.get("x-twilio-signature"),
                             auth_token=settings.twilio_auth_token, account_sid=settings.twilio_account_sid,
                             now=call.now)
        desk.receive(sms, call.now)
        return Response(body=TWIML_EMPTY, status_code=200, headers={"Content-Type": "text/xml; charset=utf-8"})
    messages = infobip_inbound(require_size(call.raw_body, MAX_WEBHOOK_BYTES), authorization=call.headers.get("authorization"),
                               secret=settings.infobip_secret, now=call.now)
    outcomes = [desk.receive(sms, call.now).to_dict() | {"messageId": sms.message_id} for sms in messages]
    return Response(body=json.dumps({"received": outcomes}), status_code=200, headers=JSON_HEADERS)


def webhook_url(call: Call) -> str:
    """The URL the gateway called and signed: the configured public URL, else the one the request names."""
    base = call.services.settings.public_url
    if base:
        return base + "/sms/" + call.params["gateway"]
    scheme = call.headers.get("x-forwarded-proto", "https" if call.headers.get("x-forwarded-for") else "http")
    return f"{scheme}://{call.headers.get('host', '')}{call.path}"
