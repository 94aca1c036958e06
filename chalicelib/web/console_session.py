"""The staff console's sign-in and session: who is signed in, proven by a short signed cookie.

Two ways in, one session:
- `lapor serve` (stage "local"): a role picker. It mints a staff token exactly as `lapor token` does and reads it
  back through `principal_from_token`, so a picked principal is what a token with those claims would be. On
  any other stage the picker does not exist (404).
- everywhere else: OpenID Connect authorization code + PKCE (S256) against the IdP (Cognito's hosted UI). The
  state and the code verifier wait in a signed, HttpOnly cookie for ten minutes; the callback exchanges the code
  at the token URL (a public client: no secret) and verifies the id_token ONCE with the app's own staff-token
  verifier (`principal_from_token`, chalicelib/auth.py). State and PKCE bind the code to this browser and to
  this sign-in; OIDC's `nonce` is optional in the code flow and is not used.

The session cookie holds the principal (role, institution, unit, province, subject) and its expiry, signed with
HMAC-SHA256 under the token secret with its own purpose string ("konsol-session"), so no other signed value of
the app (CSRF tokens, reporter tokens, cursors) can pass for one. It is HttpOnly, Secure (Chromium keeps Secure
cookies of http://127.0.0.1 and http://localhost, potentially trustworthy origins, so `lapor serve` needs no
exception), scoped to /konsol, and SameSite=Lax: a Strict cookie is not sent on a navigation that a redirect
chain from another site started — the IdP's redirect back to the callback, or a link in a notification — so
staff would land signed out. Lax still keeps it off every cross-site POST; every console form also carries the
signed CSRF token, and GET pages change nothing. Signing out forgets the cookie (and, with an IdP, ends the IdP's
own session); a copied cookie stays valid until it expires (8 hours): there is no server-side session to revoke.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.auth import check_claims, mint_token, principal_from_token
from chalicelib.clock import system_now
from chalicelib.domain.access import Principal
from chalicelib.errors import Unauthenticated
from chalicelib.settings import Settings

SESSION_COOKIE = "lapor_konsol"
LOGIN_COOKIE = "lapor_konsol_masuk"  # state + code verifier of one sign-in under way
SESSION_LIFETIME = timedelta(hours=8)
LOGIN_LIFETIME = timedelta(minutes=10)
CONSOLE_PATH = "/konsol"
CALLBACK_PATH = "/konsol/masuk/kembali"
SIGNED_OUT_PATH = "/konsol/keluar/selesai"
_TOKEN_TIMEOUT_SECONDS = 10
_NEXT = re.compile(r"/konsol(/[A-Za-z0-9/_\-]*)?(\?[A-Za-z0-9=&_\-.:%]*)?")


# ------------------------------------------------------------------------------------------------ signing

def _mac(secret: str, purpose: str, payload: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), purpose.encode("utf-8") + b":" + payload, hashlib.sha256).hexdigest()


def sign(secret: str, purpose: str, values: Mapping[str, Any]) -> str:
    payload = json.dumps(values, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=") + "." + _mac(secret, purpose, payload)


def unsign(secret: str, purpose: str, value: str | None, now: datetime) -> dict[str, Any] | None:
    """The signed values, or None when the cookie is absent, forged, of another purpose or expired."""
    if not value or len(value) > 2000:
        return None
    body, _, mac = value.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(mac, _mac(secret, purpose, payload)):
        return None
    values = json.loads(payload)
    if not isinstance(values, dict) or not isinstance(values.get("exp"), int) or values["exp"] <= now.timestamp():
        return None
    return values


def _cookie(name: str, value: str, *, path: str, max_age: int) -> str:
    return f"{name}={value}; Path={path}; HttpOnly; Secure; SameSite=Lax; Max-Age={max_age}"


# ------------------------------------------------------------------------------------------------ session

def session_cookie(secret: str, base: str, principal: Principal, now: datetime) -> str:
    values = {"role": principal.role, "sub": principal.user_id, "inst": principal.institution_id,
              "unit": principal.unit_id, "prov": principal.region_code,
              "exp": int((now + SESSION_LIFETIME).timestamp())}
    return _cookie(SESSION_COOKIE, sign(secret, "konsol-session", values), path=base + CONSOLE_PATH,
                   max_age=int(SESSION_LIFETIME.total_seconds()))


def forget_session(base: str) -> str:
    return _cookie(SESSION_COOKIE, "", path=base + CONSOLE_PATH, max_age=0)


def principal_of(secret: str, cookies: Mapping[str, str], now: datetime) -> Principal | None:
    values = unsign(secret, "konsol-session", cookies.get(SESSION_COOKIE), now)
    if values is None:
        return None
    return Principal(role=values["role"], user_id=values["sub"], institution_id=values["inst"],
                     unit_id=values["unit"], region_code=values["prov"])


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path only (never another site, never `//host`)."""
    return value if value and _NEXT.fullmatch(value) else CONSOLE_PATH


# ------------------------------------------------------------------------------------------------ local picker

PICKER_FIELDS = ("role", "institution", "unit", "province")


def picked_principal(settings: Settings, form: Mapping[str, str], reference: Any, verifier: Any) -> Principal:
    """The principal a staff token with the picked claims would be (`lapor token`'s path, read back by
    `principal_from_token`). Raises PickerRefused with {field: problem code} for a choice that is not one."""
    role, institution_id = form.get("role", ""), form.get("institution", "").strip() or None
    unit_id, province = form.get("unit", "").strip() or None, form.get("province", "").strip() or None
    problems: dict[str, str] = {}
    institution = reference.institution(institution_id) if institution_id else None
    if institution_id and institution is None:
        problems["institution"] = "unknown"
    if unit_id and (institution is None or institution.unit(unit_id) is None):
        problems["unit"] = "not_in_institution" if institution else "unknown"
    region = reference.region(province) if province else None
    if province and (region is None or region.level != "province"):
        problems["province"] = "unknown"
    claims = {"role": role, "institution": institution_id, "unit": unit_id, "region": province}
    problems |= {name: "required" for name in _needed_claims(claims)}
    if problems:
        raise PickerRefused(problems)
    subject = "lokal-" + "-".join(filter(None, (role, institution_id, unit_id, province)))
    # Minted by the wall clock, which PyJWT judges its expiry by: it lives only until it is read back, here.
    token = mint_token(settings.jwt_secret or "", settings.jwt_issuer, role=role, subject=subject, now=system_now(),
                       institution_id=institution_id, unit_id=unit_id, region_code=province,
                       lifetime=timedelta(minutes=5), audience=settings.jwt_audience)
    return principal_from_token(token, verifier)


def _needed_claims(claims: dict[str, str | None]) -> list[str]:
    """Which claims the app's own rule (`check_claims`) still wants for this role: for each missing one, whether
    the claims pass with every missing one filled in but it. An unknown role is a problem of the role field."""
    def passes(values: dict[str, str | None]) -> bool:
        try:
            check_claims({name: value for name, value in values.items() if value})
        except Unauthenticated:
            return False
        return True

    if passes(claims):
        return []
    missing = [name for name in ("institution", "unit") if not claims[name]]
    filled = claims | {name: "x" for name in missing}
    if not passes(filled):
        return ["role"]
    return [name for name in missing if not passes(filled | {name: None})]


class PickerRefused(Exception):
    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


# ------------------------------------------------------------------------------------------------ OIDC + PKCE

@dataclass(frozen=True)
class Login:
    """One sign-in under way: what the callback must find again in the browser's cookie."""

    state: str
    verifier: str
    next: str

    @classmethod
    def new(cls, next_path: str) -> Login:
        return cls(state=secrets.token_urlsafe(24), verifier=secrets.token_urlsafe(48), next=next_path)

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def cookie(self, secret: str, base: str, now: datetime) -> str:
        values = {"state": self.state, "verifier": self.verifier, "next": self.next,
                  "exp": int((now + LOGIN_LIFETIME).timestamp())}
        return _cookie(LOGIN_COOKIE, sign(secret, "konsol-login", values), path=base + CALLBACK_PATH,
                       max_age=int(LOGIN_LIFETIME.total_seconds()))

    @classmethod
    def of(cls, secret: str, cookies: Mapping[str, str], now: datetime) -> Login | None:
        values = unsign(secret, "konsol-login", cookies.get(LOGIN_COOKIE), now)
        return cls(values["state"], values["verifier"], values["next"]) if values else None


def forget_login(base: str) -> str:
    return _cookie(LOGIN_COOKIE, "", path=base + CALLBACK_PATH, max_age=0)


def oidc_configured(settings: Settings) -> bool:
    return bool(settings.oidc_authorize_url and settings.oidc_token_url and settings.oidc_client_id)


def authorize_url(settings: Settings, login: Login, redirect_uri: str) -> str:
    query = urllib.parse.urlencode({"response_type": "code", "client_id": settings.oidc_client_id,
                                    "redirect_uri": redirect_uri, "scope": "openid", "state": login.state,
                                    "code_challenge": login.challenge, "code_challenge_method": "S256"})
    separator = "&" if "?" in (settings.oidc_authorize_url or "") else "?"
    return f"{settings.oidc_authorize_url}{separator}{query}"


def logout_url(settings: Settings, return_uri: str) -> str | None:
    """Cognito's /logout takes the client id and where to send the browser back (a registered sign-out URL)."""
    if not settings.oidc_logout_url:
        return None
    query = urllib.parse.urlencode({"client_id": settings.oidc_client_id, "logout_uri": return_uri})
    separator = "&" if "?" in settings.oidc_logout_url else "?"
    return f"{settings.oidc_logout_url}{separator}{query}"


class SignInFailed(Exception):
    """The IdP refused, or answered something that is not a usable id_token. Never carries the code."""


def exchange_code(settings: Settings, code: str, login: Login, redirect_uri: str) -> str:
    """The id_token for this code: an HTTP POST form to the token URL with the PKCE verifier."""
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "client_id": settings.oidc_client_id,
                                   "code": code, "redirect_uri": redirect_uri,
                                   "code_verifier": login.verifier}).encode("ascii")
    request = urllib.request.Request(settings.oidc_token_url or "", data=form, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_TOKEN_TIMEOUT_SECONDS) as response:
            answer = json.loads(response.read(1_000_000))
    except urllib.error.HTTPError as error:
        raise SignInFailed(f"the token endpoint answered {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        raise SignInFailed(f"the token endpoint could not be read: {type(error).__name__}") from None
    id_token = answer.get("id_token") if isinstance(answer, dict) else None
    if not isinstance(id_token, str) or not id_token:
        raise SignInFailed("the token endpoint gave no id_token")
    return id_token


def principal_from_id_token(id_token: str, verifier: Any) -> Principal:
    """The id_token verified once, by the app's own staff-token verifier and claim rules."""
    try:
        return principal_from_token(id_token, verifier)
    except Unauthenticated:
        raise SignInFailed("the id_token was refused by the staff-token verifier") from None


def public_base(settings: Settings, headers: Mapping[str, str]) -> str:
    """The origin the browser sees: LAPOR_PUBLIC_URL, else this request's own Host (the IdP accepts only the
    callback URLs registered with it, so a forged Host cannot receive a code)."""
    if settings.public_url:
        return settings.public_url
    scheme = headers.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
    return f"{scheme}://{headers.get('host', '127.0.0.1')}"
