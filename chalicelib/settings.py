"""Configuration, read from the environment once into a frozen object (DESIGN §4)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Mapping

from infra.tables import TABLES, physical_name


CLAIM_MAPPINGS = ("flat", "cognito")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    stage: str = "dev"  # only `lapor serve` says "local" (which turns on /dev pages)
    region: str = "ap-southeast-3"  # Jakarta
    dynamodb_endpoint: str | None = None  # None: AWS itself (or moto in-process in tests)
    table_prefix: str = "lapor-local"
    jwt_secret: str | None = None  # HS256 staff tokens (local runs)
    jwt_issuer: str = "lapor-local"
    jwks_url: str | None = None  # RS256 staff tokens from Cognito or another IdP (AWS)
    jwt_audience: str = "lapor-api"  # the tokens' `aud` (for Cognito: the app client id; access tokens' client_id)
    claim_mapping: str = "flat"  # how a token's claims say role and scope: "flat" or "cognito" (chalicelib/auth.py)
    tracing: bool = False  # LAPOR_TRACING=1: Powertools Tracer (X-Ray); off, nothing of it is imported
    token_secret: str = ""  # HMAC key deriving reporters' access tokens
    table_names: Mapping[str, str] = field(default_factory=dict)
    email_from: str | None = None  # SES sender for reporters' e-mail
    staff_topic_arn: str | None = None  # SNS topic staff subscribe to (filtered by role/scope attributes)
    archive_bucket: str | None = None  # S3 bucket of the append-only event archive (AWS)
    public_url: str | None = None  # the API's public base URL, as gateways call it (Twilio signs the URL)
    twilio_auth_token: str | None = None  # checks X-Twilio-Signature; with the next two, sends SMS via Twilio
    twilio_account_sid: str | None = None
    twilio_from: str | None = None  # the number (or the 1708 short code) SMS are sent from
    infobip_secret: str | None = None  # the Basic-auth password of Infobip's forwarding URL
    sms_per_number_per_hour: int = 20  # inbound SMS from one number beyond this are dropped (logged)
    sms_per_gateway_per_minute: int = 600
    photo_bucket: str | None = None  # the private bucket of report photos (LAPOR_PHOTO_BUCKET); None: no photos
    s3_endpoint: str | None = None  # local only: the S3-compatible server of `lapor serve` (unset in AWS)
    # The staff console's sign-in (authorization code + PKCE, a public client without a secret; Cognito's hosted UI)
    oidc_authorize_url: str | None = None
    oidc_token_url: str | None = None
    oidc_logout_url: str | None = None
    oidc_client_id: str | None = None

    def __post_init__(self) -> None:
        if not self.table_names:
            object.__setattr__(self, "table_names",
                               {logical: physical_name(self.table_prefix, logical) for logical in TABLES})
        if not (self.jwt_secret or self.jwks_url):
            raise SettingsError("set LAPOR_JWT_SECRET (HS256) or LAPOR_JWKS_URL (RS256) to verify staff tokens")
        if self.claim_mapping not in CLAIM_MAPPINGS:
            raise SettingsError(f"LAPOR_CLAIM_MAPPING must be one of {', '.join(CLAIM_MAPPINGS)} "
                                f"(got {self.claim_mapping!r})")
        if len(self.token_secret) < 16:
            raise SettingsError("LAPOR_TOKEN_SECRET must be set to at least 16 characters")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            stage=environ.get("LAPOR_STAGE", "dev"),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "ap-southeast-3",
            dynamodb_endpoint=environ.get("DYNAMODB_ENDPOINT") or None,
            table_prefix=environ.get("LAPOR_TABLE_PREFIX", "lapor-local"),
            jwt_secret=environ.get("LAPOR_JWT_SECRET") or None,
            jwt_issuer=environ.get("LAPOR_JWT_ISSUER", "lapor-local"),
            jwks_url=environ.get("LAPOR_JWKS_URL") or None,
            jwt_audience=environ.get("LAPOR_JWT_AUDIENCE") or "lapor-api",
            claim_mapping=environ.get("LAPOR_CLAIM_MAPPING") or "flat",
            tracing=switch(environ, "LAPOR_TRACING"),
            token_secret=environ.get("LAPOR_TOKEN_SECRET", ""),
            email_from=environ.get("LAPOR_EMAIL_FROM") or None,
            staff_topic_arn=environ.get("LAPOR_STAFF_TOPIC_ARN") or None,
            archive_bucket=environ.get("LAPOR_ARCHIVE_BUCKET") or None,
            public_url=(environ.get("LAPOR_PUBLIC_URL") or "").rstrip("/") or None,
            twilio_auth_token=environ.get("LAPOR_TWILIO_AUTH_TOKEN") or None,
            twilio_account_sid=environ.get("LAPOR_TWILIO_ACCOUNT_SID") or None,
            twilio_from=environ.get("LAPOR_TWILIO_FROM") or None,
            infobip_secret=environ.get("LAPOR_INFOBIP_SECRET") or None,
            sms_per_number_per_hour=positive_int(environ, "LAPOR_SMS_PER_NUMBER_PER_HOUR", 20),
            sms_per_gateway_per_minute=positive_int(environ, "LAPOR_SMS_PER_GATEWAY_PER_MINUTE", 600),
            photo_bucket=environ.get("LAPOR_PHOTO_BUCKET") or None,
            s3_endpoint=environ.get("LAPOR_S3_ENDPOINT") or None,
            oidc_authorize_url=environ.get("LAPOR_OIDC_AUTHORIZE_URL") or None,
            oidc_token_url=environ.get("LAPOR_OIDC_TOKEN_URL") or None,
            oidc_logout_url=environ.get("LAPOR_OIDC_LOGOUT_URL") or None,
            oidc_client_id=environ.get("LAPOR_OIDC_CLIENT_ID") or None,
        )


def switch(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "")
    if raw not in ("", "0", "1"):
        raise SettingsError(f"{name} must be 1 (on) or 0 (off), not {raw!r}")
    return raw == "1"


def positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1 (got {raw!r})")
    return int(raw)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env(os.environ)
