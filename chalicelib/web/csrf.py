"""CSRF protection for every page form: a signed double-submit token, no server-side session.

The browser holds a random nonce in an HttpOnly, SameSite=Strict cookie; each form carries HMAC(nonce) under
a key derived from the settings' token secret. Another site can neither read the cookie nor compute the MAC,
and (SameSite=Strict) its cross-site POST does not even carry the cookie. Signing the nonce also defeats a
cookie planted by a sibling subdomain: without the secret its MAC cannot be made.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE = "lapor_csrf"
FIELD = "csrf"
_NONCE = re.compile(r"[0-9a-f]{32}")


def new_nonce() -> str:
    return secrets.token_hex(16)


def is_nonce(value: str | None) -> bool:
    return bool(value) and _NONCE.fullmatch(value) is not None


def form_token(secret: str, nonce: str) -> str:
    # "csrf:" separates this use of the secret from the reporter tokens and cursors it also keys.
    return hmac.new(secret.encode("utf-8"), f"csrf:{nonce}".encode("utf-8"), hashlib.sha256).hexdigest()


def is_valid(secret: str, nonce: str | None, submitted: str | None) -> bool:
    if not is_nonce(nonce) or not submitted:
        return False
    return hmac.compare_digest(form_token(secret, nonce), submitted)
