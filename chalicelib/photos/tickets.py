"""Landing tickets: how S3's redirect after an upload proves which report the upload is for.

A page's upload form posts straight to the bucket, which then redirects the browser to our landing route. In
AWS the bucket is another site, so the browser does not send the reporter's SameSite=Strict, path-scoped token
cookie on that redirect. The landing URL therefore carries its own ticket: the report id, the upload id and an
expiry, under an HMAC with a key derived from the token secret for this one purpose. It grants exactly one
thing — attach that upload to that report, until it expires — and only pages that hold the reporter's token
(the receipt, the reporter's own Lacak page) mint one. Nothing is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from chalicelib.errors import ValidationFailed

TICKET_SECONDS = 2 * 3600  # the upload form works 30 min; a reload of the landing page later still answers
_SHAPE = re.compile(r"(LAP-[2-9A-HJ-NP-Z]{10})\.([0-9a-f]{32})\.([0-9]{10})\.([0-9a-f]{32})")


@dataclass(frozen=True)
class Ticket:
    report_id: str
    upload_id: str
    expires: int  # Unix seconds


def _mac(secret: str, report_id: str, upload_id: str, expires: int) -> str:
    key = hmac.new(secret.encode("utf-8"), b"lapor-photo-landing-ticket", hashlib.sha256).digest()
    message = f"{report_id}.{upload_id}.{expires}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def issue(secret: str, report_id: str, upload_id: str, now: datetime) -> str:
    expires = int(now.timestamp()) + TICKET_SECONDS
    return f"{report_id}.{upload_id}.{expires}.{_mac(secret, report_id, upload_id, expires)}"


def check(secret: str, raw: str | None, report_id: str, now: datetime) -> Ticket:
    """The ticket, if it is ours, for this report and not expired; else 422 (nothing is attached)."""
    found = _SHAPE.fullmatch(raw or "")
    if found is None or found.group(1) != report_id or not hmac.compare_digest(
            found.group(4), _mac(secret, found.group(1), found.group(2), int(found.group(3)))):
        raise ValidationFailed("this upload link is not valid", "tautan unggahan ini tidak sah", field="tiket")
    ticket = Ticket(report_id=found.group(1), upload_id=found.group(2), expires=int(found.group(3)))
    if now.timestamp() > ticket.expires:
        raise ValidationFailed("this upload link has expired", "tautan unggahan ini sudah kedaluwarsa",
                               field="tiket", expired=True)
    return ticket
