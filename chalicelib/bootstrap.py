"""Builds the adapters once, lazily, on first use — never at import — and lets tests inject their own."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from chalicelib.auth import HS256Verifier, JwksVerifier, TokenVerifier
from chalicelib.clock import system_now
from chalicelib.handlers import CommandHandler
from chalicelib.reference import ReferenceData, load_reference
from chalicelib.settings import Settings, get_settings
from chalicelib.store.base import EventStore
from chalicelib.store.dynamodb import DynamoDBEventStore
from chalicelib.working_days import WorkingDayCalendar, default_calendar
from projections.report_view import ReportViews
from projections.statistics import Statistics


@dataclass
class Services:
    settings: Settings
    store: EventStore
    views: ReportViews
    stats: Statistics
    reference: ReferenceData
    calendar: WorkingDayCalendar
    verifier: TokenVerifier
    commands: CommandHandler
    clock: Callable[[], datetime]


def build_services(settings: Settings, *, store: EventStore | None = None,
                   clock: Callable[[], datetime] = system_now) -> Services:
    host, region = settings.dynamodb_endpoint, settings.region
    store = store or DynamoDBEventStore(dict(settings.table_names), host=host, region=region)
    reference, calendar = load_reference(), default_calendar()
    verifier: TokenVerifier = (JwksVerifier(settings.jwks_url, settings.jwt_issuer) if settings.jwks_url
                               else HS256Verifier(settings.jwt_secret or "", settings.jwt_issuer))
    return Services(
        settings=settings, store=store,
        views=ReportViews(settings.table_names["report_views"], host=host, region=region),
        stats=Statistics(settings.table_names["stats"], host=host, region=region, reference=reference,
                         calendar=calendar),
        reference=reference, calendar=calendar, verifier=verifier,
        commands=CommandHandler(store, calendar, reference, token_secret=settings.token_secret),
        clock=clock)


_services: Services | None = None


def get_services() -> Services:
    global _services
    if _services is None:
        _services = build_services(get_settings())
    return _services


def use_services(services: Services | None) -> None:
    """Install prepared services (tests, the local server); None forgets them."""
    global _services
    _services = services
