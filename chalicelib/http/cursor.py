"""Opaque, signed page cursors: a client can hand one back but cannot forge or redirect one."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.errors import ValidationFailed


def _sign(secret: str, scope: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), scope.encode() + b"\0" + payload, hashlib.sha256).hexdigest()[:32]


def encode_cursor(last_key: dict[str, Any] | None, scope: str, secret: str) -> str | None:
    """`scope` names the query (index and key); a cursor only continues the query it came from."""
    if not last_key:
        return None
    payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(secret, scope, payload)


def decode_cursor(cursor: str | None, scope: str, secret: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    invalid = ValidationFailed("the page cursor is invalid or belongs to another query",
                               "kursor halaman tidak sah atau milik kueri lain", field="cursor")
    body, _, signature = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        raise invalid from None
    if not hmac.compare_digest(signature, _sign(secret, scope, payload)):
        raise invalid
    return json.loads(payload)
