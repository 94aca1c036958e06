"""Configuration, read from the environment once into a frozen object (DESIGN §4)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Mapping

from infra.tables import TABLES, physical_name


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

    def __post_init__(self) -> None:
        if not self.table_names:
            object.__setattr__(self, "table_names",
                               {logical: physical_name(self.table_prefix, logical) for logical in TABLES})
        if not (self.jwt_secret or self.jwks_url):
            raise SettingsError("set LAPOR_JWT_SECRET (HS256) or LAPOR_JWKS_URL (RS256) to verify staff tokens")
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
        )


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
