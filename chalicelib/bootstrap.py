"""Builds the adapters once, lazily, on first use — never at import — and lets tests inject their own."""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import boto3

from chalicelib.auth import TokenVerifier, verifier_from_settings
from chalicelib.clock import system_now
from chalicelib.domain.working_days import WorkingDayCalendar, default_calendar
from chalicelib.generations import Generations, LogBounds
from chalicelib.reference import ReferenceData, load_reference
from chalicelib.services.handlers import CommandHandler
from chalicelib.services.notifications import AwsGateway, TwilioSmsGateway
from chalicelib.services.sms import Limits, SmsDesk, SmsNumbers
from chalicelib.settings import Settings, get_settings
from chalicelib.store.base import EventStore
from chalicelib.store.dynamodb import DynamoDBEventStore
from chalicelib.store.sms_contacts import DynamoDBSmsContacts, SmsContacts
from infra.tables import DEADLINES, IDEMPOTENCY, OUTBOX, PERSONAL_DATA, REPORT_VIEWS, STATS, physical_name
from projections.archive import S3Archive
from projections.deadline_index import DeadlineIndex
from projections.outbox import Outbox
from projections.report_view import ReportViews
from projections.runner import ReadModel
from projections.statistics import CounterStore, DynamoDBCounters, Statistics


@dataclass
class Services:
    settings: Settings
    store: EventStore
    reference: ReferenceData
    calendar: WorkingDayCalendar
    verifier: TokenVerifier
    commands: CommandHandler
    clock: Callable[[], datetime]
    dynamodb: Callable[[], Any]  # the shared boto3 client, made on first use
    generations: Generations
    extra_read_models: list[ReadModel] = field(default_factory=list)  # the archive
    counters: Callable[[str], CounterStore] | None = None  # statistics storage by table name (default DynamoDB)
    gateway: Any = None  # where notifications go; built from settings on first use (local: a file)
    _read_models: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read_model_in(self, logical: str, table_name: str) -> Any:
        """A read model object over one table generation (the live one, or one being rebuilt)."""
        if logical == REPORT_VIEWS:
            return ReportViews(table_name, host=self.settings.dynamodb_endpoint, region=self.settings.region,
                               client=self.dynamodb)
        if logical == STATS:
            counters = self.counters(table_name) if self.counters else DynamoDBCounters(table_name, self.dynamodb)
            return Statistics(counters, reference=self.reference, calendar=self.calendar)
        if logical == DEADLINES:
            return DeadlineIndex(table_name, client=self.dynamodb, reference=self.reference, calendar=self.calendar)
        raise KeyError(logical)

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        """One object per key for the life of these services (read models keep per-process state)."""
        with self._lock:
            if key not in self._read_models:
                self._read_models[key] = make()
            return self._read_models[key]

    def _live(self, logical: str) -> Any:
        name = self.generations.table_name(logical)
        return self._once(name, lambda: self.read_model_in(logical, name))

    @property
    def views(self) -> ReportViews:
        return self._live(REPORT_VIEWS)

    @property
    def stats(self) -> Statistics:
        return self._live(STATS)

    @property
    def deadlines(self) -> DeadlineIndex:
        return self._live(DEADLINES)

    @property
    def outbox(self) -> Outbox:
        return self._once("outbox", lambda: Outbox(physical_name(self.settings.table_prefix, OUTBOX),
                                                   client=self.dynamodb, reference=self.reference))

    def notification_gateway(self) -> Any:
        if self.gateway is None:
            settings = self.settings
            if not (settings.email_from and settings.staff_topic_arn):
                raise RuntimeError("set LAPOR_EMAIL_FROM and LAPOR_STAFF_TOPIC_ARN to send notifications")
            sms = None
            if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
                from twilio.rest import Client

                sms = TwilioSmsGateway(Client(settings.twilio_account_sid, settings.twilio_auth_token),
                                       settings.twilio_from)
            self.gateway = AwsGateway(sns=boto3.client("sns", region_name=settings.region),
                                      ses=boto3.client("ses", region_name=settings.region),
                                      email_from=settings.email_from, staff_topic_arn=settings.staff_topic_arn,
                                      sms=sms)
        return self.gateway

    @property
    def sms_contacts(self) -> SmsContacts:
        names = self.settings.table_names
        return self._once("sms_contacts", lambda: DynamoDBSmsContacts(names[PERSONAL_DATA], names[IDEMPOTENCY],
                                                                      self.dynamodb))

    @property
    def sms_numbers(self) -> SmsNumbers:
        return SmsNumbers(self.sms_contacts, self.settings.token_secret)

    @property
    def sms_desk(self) -> SmsDesk:
        settings, contacts, outbox = self.settings, self.sms_contacts, self.outbox  # (_once is not reentrant)
        return self._once("sms_desk", lambda: SmsDesk(
            store=self.store, commands=self.commands, contacts=contacts, outbox=outbox, reference=self.reference,
            secret=settings.token_secret,
            limits=Limits(settings.sms_per_number_per_hour, settings.sms_per_gateway_per_minute)))

    def read_models(self) -> list[ReadModel]:
        """Everything the one stream consumer feeds."""
        return [self.views, self.stats, self.deadlines, self.outbox, self.log_bounds, *self.extra_read_models]

    @property
    def log_bounds(self) -> LogBounds:
        return self._once("log_bounds", lambda: LogBounds(self.generations))

    def __post_init__(self) -> None:
        if self.settings.archive_bucket:  # in AWS the archive is S3; locally `lapor serve` adds the file archive
            self.extra_read_models.append(S3Archive(self.settings.archive_bucket,
                                                    boto3.client("s3", region_name=self.settings.region)))


def build_services(settings: Settings, *, store: EventStore | None = None,
                   clock: Callable[[], datetime] = system_now, refresh_seconds: float = 5.0) -> Services:
    host, region = settings.dynamodb_endpoint, settings.region
    store = store or DynamoDBEventStore(dict(settings.table_names), host=host, region=region)
    reference, calendar = load_reference(), default_calendar()
    verifier = verifier_from_settings(settings)
    dynamodb = functools.cache(lambda: boto3.client("dynamodb", endpoint_url=host, region_name=region))
    return Services(
        settings=settings, store=store, reference=reference, calendar=calendar, verifier=verifier,
        commands=CommandHandler(store, calendar, reference, token_secret=settings.token_secret),
        clock=clock, dynamodb=dynamodb,
        generations=Generations(dynamodb, settings.table_prefix, refresh_seconds=refresh_seconds))


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
