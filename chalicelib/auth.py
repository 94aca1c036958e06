"""Who is asking: staff JWT bearer tokens, per-report reporter tokens, and the anonymous public.

Staff tokens carry the role and the institution/unit claims of DOMAIN §5. Locally they are HS256 with a
local secret; in AWS the verifier is swapped for Cognito's JWKS (`JwksVerifier`) by configuration.
A reporter holds a secret token returned once at submission; only its SHA-256 is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, Protocol

import jwt

from chalicelib.domain.access import ANONYMOUS_PUBLIC, Principal
from chalicelib.domain.vocabulary import STAFF_ROLES, Role
from chalicelib.errors import Unauthenticated

TOKEN_AUDIENCE = "lapor-api"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def reporter_token(secret: str, report_id: str, salt: str) -> str:
    """Derive the reporter's token so a retried submission can return the same one without storing it."""
    mac = hmac.new(secret.encode("utf-8"), f"reporter:{report_id}:{salt}".encode("utf-8"), hashlib.sha256)
    return "rpt_" + mac.hexdigest()


class TokenVerifier(Protocol):
    def verify(self, token: str) -> dict[str, Any]: ...


class HS256Verifier:
    """Local and test verifier: a shared secret."""

    def __init__(self, secret: str, issuer: str) -> None:
        self._secret, self._issuer = secret, issuer

    def verify(self, token: str) -> dict[str, Any]:
        return jwt.decode(token, self._secret, algorithms=["HS256"], audience=TOKEN_AUDIENCE,
                          issuer=self._issuer, options={"require": ["exp", "sub", "role"]})


class JwksVerifier:
    """Production verifier: RS256 tokens signed by a key published at a JWKS URL (e.g. Cognito)."""

    def __init__(self, jwks_url: str, issuer: str, audience: str = TOKEN_AUDIENCE, jwk_client: Any = None) -> None:
        self._issuer, self._audience = issuer, audience
        self._client = jwk_client or jwt.PyJWKClient(jwks_url, cache_keys=True)

    def verify(self, token: str) -> dict[str, Any]:
        key = self._client.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=["RS256"], audience=self._audience, issuer=self._issuer,
                          options={"require": ["exp", "sub", "role"]})


def mint_token(secret: str, issuer: str, *, role: str, subject: str, now: datetime,
               institution_id: str | None = None, unit_id: str | None = None,
               region_code: str | None = None, lifetime: timedelta = timedelta(hours=12)) -> str:
    claims: dict[str, Any] = {"sub": subject, "role": role, "iss": issuer, "aud": TOKEN_AUDIENCE,
                              "iat": int(now.timestamp()), "exp": int((now + lifetime).timestamp())}
    for name, value in (("institution", institution_id), ("unit", unit_id), ("region", region_code)):
        if value:
            claims[name] = value
    check_claims(claims)
    return jwt.encode(claims, secret, algorithm="HS256")


def check_claims(claims: dict[str, Any]) -> None:
    role = claims.get("role")
    if role not in STAFF_ROLES:
        raise Unauthenticated(f"unknown role {role!r} in token", f"peran {role!r} tidak dikenal")
    if role in (Role.ADMIN_INSTANSI, Role.ADMIN_PENGHUBUNG) and not claims.get("institution"):
        raise Unauthenticated(f"{role} token needs an institution claim", f"token {role} perlu klaim institution")
    if role == Role.ADMIN_PENGHUBUNG and not claims.get("unit"):
        raise Unauthenticated("admin_penghubung token needs a unit claim", "token admin_penghubung perlu klaim unit")


def principal_from_headers(headers: dict[str, str], verifier: TokenVerifier) -> Principal:
    """Authorization: Bearer <staff JWT>, or X-Report-Token: <reporter token>, or nothing (the public)."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", "Authorization harus 'Bearer <token>'")
        try:
            claims = verifier.verify(token.strip())
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}", "token tidak sah") from None
        check_claims(claims)
        return Principal(role=claims["role"], user_id=str(claims["sub"]), institution_id=claims.get("institution"),
                         unit_id=claims.get("unit"), region_code=claims.get("region"))
    report_token = headers.get("x-report-token")
    if report_token:
        return Principal(role=Role.REPORTER, report_token_hash=hash_token(report_token.strip()))
    return ANONYMOUS_PUBLIC
