"""Notifications (DOMAIN §7, issue 4): the outbox projection, the sender, the AWS gateway on moto, /dev/outbox.

The outbox is a read model: one message per (event, recipient), created with a create-only put, so a
redelivered event never makes a second message. The sender claims a message before sending (one sender
wins each attempt), resolves the reporter's address at send time, retries temporary failures with the
BACKOFF delays and moves rejected addresses, missing contacts and MAX_ATTEMPTS failures to `dead`.

The story: a citizen reports on Friday 20 November 2026 at 10:00 WIB; every deadline falls in an ordinary
week (no holidays), so texts can be checked word for word.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from chalice.test import Client

from chalicelib.bootstrap import build_services, use_services
from chalicelib.clock import iso
from chalicelib.services.notifications import (
    BACKOFF,
    MAX_ATTEMPTS,
    AwsGateway,
    Delivery,
    Rejected,
    TemporaryFailure,
    send_due,
)
from chalicelib.services.sweep import sweep
from chalicelib.store.base import Append, PersonalRecord, chain_events
from events import report as e
from events.base import Actor
from projections.outbox import Outbox
from tests.support.api import Api, body_of, submit_report
from tests.support.builders import DRAINASE, SITI
from tests.support.settings import test_settings
from tests.support.tokens import ADMIN_SAMARINDA, NASIONAL

UTC = timezone.utc
FRI_20_NOV = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 WIB
FOLLOW_UP_DUE = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # + 5 WD: Fri 27 Nov 17:00 WITA
ESCALATION_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # + 2 WD: Tue 1 Dec 17:00 WITA

REPORT = {"title": "Drainase tersumbat", "body": "Saluran air di Jl. Pahlawan tersumbat sampah, banjir tiap hujan.",
          "type": "complaint", "region_code": "64.72", "category_id": DRAINASE}
EMAIL = SITI["email"]


# ---------------------------------------------------------------------------------------------- helpers

class RecordingGateway:
    """Records deliveries; `failures` is a list of exceptions raised by the next sends, in order."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.deliveries: list[Delivery] = []
        self.attempts = 0
        self._lock = threading.Lock()

    def send(self, delivery: Delivery) -> str:
        with self._lock:
            self.attempts += 1
            if self.failures:
                raise self.failures.pop(0)
            self.deliveries.append(delivery)
            return f"gw-{len(self.deliveries)}"


class AlwaysFailing:
    def __init__(self, error: Exception) -> None:
        self.error, self.attempts = error, 0

    def send(self, delivery: Delivery) -> str:
        self.attempts += 1
        raise self.error


def submit(api: Api, reporter: dict[str, str] | None = None, **overrides: Any) -> tuple[str, str]:
    return submit_report(api, REPORT | ({} if reporter is None else {"reporter": reporter}), **overrides)


def act(api: Api, report_id: str, action: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    return body_of(api.post(f"/reports/{report_id}/{action}", body, token=token), 200)


def messages(services, report_id: str | None = None) -> list[dict[str, Any]]:
    found = services.outbox.recent(limit=100)
    return sorted((m for m in found if report_id is None or m["report_id"] == report_id),
                  key=lambda m: m["message_id"])


def one(found: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    matching = [m for m in found if m["event_type"] == event_type]
    assert len(matching) == 1, [m["message_id"] for m in found]
    return matching[0]


@pytest.fixture
def story(services, api, pump, clock):
    """A report with the reporter's e-mail, verified to Samarinda and assigned to Dinas PUPR, projected."""
    clock.now = FRI_20_NOV
    report_id, token = submit(api, {"name": "Siti Rahmawati", "email": EMAIL})
    act(api, report_id, "verification", {"institution_id": "pemkot-samarinda"}, NASIONAL)
    act(api, report_id, "assignment", {"unit_id": "dinas-pupr"}, ADMIN_SAMARINDA)
    pump.drain()
    return report_id


# ---------------------------------------------------------------------------------------------- projection

def test_texts_are_bahasa_indonesia_with_the_tracking_id_and_the_local_deadline(services, story):
    found = messages(services, story)
    submitted = one(found, "ReportSubmitted")
    assert submitted["recipient"] == {"kind": "reporter", "reporter_ref": submitted["recipient"]["reporter_ref"]}
    assert submitted["recipient"]["reporter_ref"].startswith("RPT-")
    assert EMAIL not in json.dumps(found)  # the address is looked up when sending, never stored in the outbox
    assert submitted["channel"] == "email"
    assert submitted["text"] == (f"LAPOR! Laporan Anda diterima. Nomor pelacakan: {story}. Laporan akan "
                                 "diverifikasi paling lambat Rabu 25-11-2026 17:00 WIB.")

    verified = [m for m in found if m["event_type"] == "ReportVerified"]
    assert {m["recipient"]["kind"] for m in verified} == {"reporter", "staff"}
    to_reporter = next(m for m in verified if m["recipient"]["kind"] == "reporter")
    assert to_reporter["text"] == (f"LAPOR! Laporan {story} telah diverifikasi dan diteruskan ke Pemerintah Kota "
                                   "Samarinda. Tindak lanjut pertama paling lambat Jumat 27-11-2026 17:00 WITA.")
    to_admin = next(m for m in verified if m["recipient"]["kind"] == "staff")
    assert to_admin["recipient"] == {"kind": "staff", "role": "admin_instansi", "institution_id": "pemkot-samarinda"}
    assert to_admin["channel"] == "staff"
    assert story in to_admin["text"] and "\"Drainase tersumbat\"" in to_admin["text"]
    assert "penyelesaian Kamis 10-12-2026 17:00 WITA" in to_admin["text"]


def test_staff_hear_of_assignment_reminder_and_escalation(services, story, pump):
    assigned = one(messages(services, story), "ReportAssigned")
    assert assigned["recipient"] == {"kind": "staff", "role": "admin_penghubung", "institution_id": "pemkot-samarinda",
                                     "unit_id": "dinas-pupr"}
    assert assigned["text"] == (f"LAPOR! Laporan {story} \"Drainase tersumbat\" ditugaskan ke unit Anda. Mohon "
                                "segera ditindaklanjuti.")

    assert sweep(services, FOLLOW_UP_DUE).recorded == {"ReminderSent": 1}
    assert sweep(services, ESCALATION_AT).recorded == {"DeadlineEscalated": 1}
    pump.drain()
    found = messages(services, story)
    reminder, escalation = one(found, "ReminderSent"), one(found, "DeadlineEscalated")
    assert reminder["recipient"] == assigned["recipient"] and reminder["channel"] == "staff"
    assert reminder["text"] == (f"LAPOR! PENGINGAT: batas waktu tindak lanjut pertama laporan {story} telah lewat "
                                "(Jumat 27-11-2026 17:00 WITA). Mohon segera ditindaklanjuti.")
    assert escalation["recipient"] == {"kind": "staff", "role": "admin_instansi", "institution_id": "pemkot-samarinda"}
    assert escalation["text"] == (f"LAPOR! ESKALASI tingkat 2: batas waktu tindak lanjut pertama laporan {story} "
                                  "terlewati sejak Jumat 27-11-2026 17:00 WITA dan belum ditangani.")
    # Nothing goes to the reporter about the institution's internal reminders.
    assert all(m["recipient"]["kind"] == "staff" for m in (reminder, escalation))


def test_each_staff_scope_lists_its_own_messages_newest_first_and_reporters_messages_are_in_no_scope(services,
                                                                                                        story):
    every = {m["message_id"]: m for m in messages(services, story)}
    listed = {scope: services.outbox.addressed_to(scope)[0] for scope in
              ("admin_nasional", "admin_instansi/pemkot-samarinda", "admin_penghubung/pemkot-samarinda/dinas-pupr")}

    staff = {i for i, m in every.items() if m["recipient"]["kind"] == "staff"}
    assert {m["message_id"] for page in listed.values() for m in page} == staff and staff
    for scope, page in listed.items():
        assert all("/".join(filter(None, (m["recipient"]["role"], m["recipient"].get("institution_id"),
                                          m["recipient"].get("unit_id")))) == scope for m in page)
        assert [m["created"] for m in page] == sorted((m["created"] for m in page), reverse=True)
    assert services.outbox.addressed_to("reporter")[0] == []


def test_redelivered_events_create_each_message_once(services, story):
    before = messages(services, story)
    assert Counter(m["event_type"] for m in before) == {"ReportSubmitted": 1, "ReportVerified": 2, "ReportAssigned": 1}
    for stored in services.store.load(story):  # the stream delivers the whole report again
        assert services.outbox.project(stored) is False
    assert messages(services, story) == before


def test_a_delivery_that_failed_after_creating_its_messages_creates_none_twice_when_redelivered(services, api, clock):
    """The crash case the create-only put exists for: messages written, the facts guard not yet."""
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"email": EMAIL})
    act(api, report_id, "verification", {"institution_id": "pemkot-samarinda"}, NASIONAL)
    events = services.store.load(report_id)
    real = services.dynamodb()

    class CrashOnFactsOnce:
        crashed = False

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def put_item(self, **kwargs: Any) -> Any:
            if kwargs["Item"]["message_id"]["S"].startswith("report#") and not CrashOnFactsOnce.crashed \
                    and kwargs["Item"]["version"]["N"] == "2":
                CrashOnFactsOnce.crashed = True
                raise RuntimeError("Lambda timed out")
            return real.put_item(**kwargs)

    table = services.outbox._table
    flaky = Outbox(table, client=lambda: CrashOnFactsOnce(), reference=services.reference)
    assert flaky.project(events[0]) is True
    with pytest.raises(RuntimeError):
        flaky.project(events[1])
    # The stream retries the batch from the failed record, and then (at least once) everything again.
    for stored in events[1:] + events:
        flaky.project(stored)
    found = messages(services, report_id)
    assert Counter(m["event_type"] for m in found) == {"ReportSubmitted": 1, "ReportVerified": 2}
    assert len({m["message_id"] for m in found}) == 3


# ---------------------------------------------------------------------------------------------- sender

def test_the_sender_sends_each_message_once_to_the_address_looked_up_at_send_time(services, story, clock):
    gateway = RecordingGateway()
    result = send_due(services.outbox, services.store, gateway, clock.now)
    assert (result.sent, result.retried, result.dead, result.skipped) == (4, 0, 0, 0)
    by_channel = Counter(d.channel for d in gateway.deliveries)
    assert by_channel == {"email": 2, "staff": 2}
    assert {d.address for d in gateway.deliveries if d.channel == "email"} == {EMAIL}
    assert {d.address for d in gateway.deliveries if d.channel == "staff"} == {
        "admin_instansi/pemkot-samarinda", "admin_penghubung/pemkot-samarinda/dinas-pupr"}
    assert all(d.subject == f"LAPOR! {story}" for d in gateway.deliveries)
    assert send_due(services.outbox, services.store, gateway, clock.now + timedelta(hours=3)).to_dict() == {
        "sent": 0, "retried": 0, "dead": 0, "skipped": 0, "suppressed": 0}
    assert len(gateway.deliveries) == 4
    for message in messages(services, story):
        assert message["status"] == "sent" and message["attempts"] == 1 and message["gateway_id"].startswith("gw-")


def test_two_senders_racing_on_the_same_due_messages_send_each_once(services, story, clock):
    table = services.outbox._table
    both_read = threading.Barrier(2, timeout=30)

    class ReadThenWait(Outbox):
        def due(self, now: str, limit: int = 100):
            found = super().due(now, limit)
            both_read.wait()  # both senders hold the same due list before either claims
            return found

    gateway = RecordingGateway()
    results, errors = [], []

    def run() -> None:
        try:
            outbox = ReadThenWait(table, client=services.dynamodb, reference=services.reference)
            results.append(send_due(outbox, services.store, gateway, clock.now))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(r.sent for r in results) == 4 and sum(r.skipped for r in results) == 4
    assert len(gateway.deliveries) == 4
    assert len({d.message_id for d in gateway.deliveries}) == 4


def test_one_claim_wins_an_attempt(services, story, clock):
    message = one(messages(services, story), "ReportSubmitted")
    now, lease = iso(clock.now), iso(clock.now + timedelta(minutes=5))
    assert services.outbox.claim(message["message_id"], 0, now, lease) is True
    assert services.outbox.claim(message["message_id"], 0, now, lease) is False
    assert services.outbox.get(message["message_id"])["status"] == "sending"


def test_a_temporary_failure_is_retried_after_the_backoff_and_not_before(services, api, pump, clock):
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"email": EMAIL})
    pump.drain()
    message_id = one(messages(services, report_id), "ReportSubmitted")["message_id"]
    gateway = RecordingGateway(TemporaryFailure("Throttling"))
    now = FRI_20_NOV
    assert send_due(services.outbox, services.store, gateway, now).retried == 1
    failed = services.outbox.get(message_id)
    assert (failed["status"], failed["attempts"]) == ("pending", 1)
    assert failed["next_attempt"].startswith(iso(now + BACKOFF[0]))
    assert "attempt 1: TemporaryFailure: Throttling" in failed["last_error"]

    early = send_due(services.outbox, services.store, gateway, now + BACKOFF[0] - timedelta(seconds=1))
    assert early.to_dict() == {"sent": 0, "retried": 0, "dead": 0, "skipped": 0, "suppressed": 0} and gateway.attempts == 1
    assert send_due(services.outbox, services.store, gateway, now + BACKOFF[0]).sent == 1
    assert gateway.attempts == 2 and [d.message_id for d in gateway.deliveries] == [message_id]
    sent = services.outbox.get(message_id)
    assert (sent["status"], sent["attempts"]) == ("sent", 2)


def test_a_message_that_keeps_failing_goes_dead_after_max_attempts_and_is_never_resent(services, api, pump, clock):
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"email": EMAIL})
    pump.drain()
    message_id = one(messages(services, report_id), "ReportSubmitted")["message_id"]
    gateway = AlwaysFailing(TimeoutError("SES did not answer"))
    now = FRI_20_NOV
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = send_due(services.outbox, services.store, gateway, now)
        assert gateway.attempts == attempt
        state = services.outbox.get(message_id)
        assert state["attempts"] == attempt
        if attempt < MAX_ATTEMPTS:
            assert result.retried == 1 and state["status"] == "pending"
            delay = BACKOFF[attempt - 1]
            assert state["next_attempt"].startswith(iso(now + delay))
            assert send_due(services.outbox, services.store, gateway, now + delay - timedelta(seconds=1)).to_dict() \
                == {"sent": 0, "retried": 0, "dead": 0, "skipped": 0, "suppressed": 0}
            now += delay
        else:
            assert result.dead == 1 and state["status"] == "dead"
            assert f"attempt {MAX_ATTEMPTS}: TimeoutError: SES did not answer" in state["last_error"]
    for later in (now + timedelta(hours=3), now + timedelta(days=30)):
        send_due(services.outbox, services.store, gateway, later)
    assert gateway.attempts == MAX_ATTEMPTS


def test_a_rejected_address_goes_dead_at_once_and_is_never_resent(services, api, pump, clock):
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"email": EMAIL})
    pump.drain()
    message_id = one(messages(services, report_id), "ReportSubmitted")["message_id"]
    gateway = AlwaysFailing(Rejected("MessageRejected: address blacklisted"))
    assert send_due(services.outbox, services.store, gateway, FRI_20_NOV).dead == 1
    dead = services.outbox.get(message_id)
    assert (dead["status"], dead["attempts"]) == ("dead", 1)
    assert dead["last_error"] == "rejected: MessageRejected: address blacklisted"
    for later in (timedelta(minutes=1), timedelta(hours=3), timedelta(days=7)):
        send_due(services.outbox, services.store, gateway, FRI_20_NOV + later)
    assert gateway.attempts == 1


def test_a_web_reporter_who_left_only_a_phone_number_is_reached_by_sms(services, api, pump, clock):
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"name": "Budi", "phone": "0812-3456-7890"})  # web report, phone only
    pump.drain()
    gateway = RecordingGateway()
    assert send_due(services.outbox, services.store, gateway, FRI_20_NOV).sent == 1
    assert [(d.channel, d.address) for d in gateway.deliveries] == [("sms", "+6281234567890")]


def test_a_reporter_who_left_no_contact_goes_dead_with_a_clear_error(services, api, pump, clock):
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"name": "Budi"})  # a name, but nothing to reach them by
    pump.drain()
    message_id = one(messages(services, report_id), "ReportSubmitted")["message_id"]
    gateway = RecordingGateway()
    assert send_due(services.outbox, services.store, gateway, FRI_20_NOV).dead == 1
    dead = services.outbox.get(message_id)
    assert dead["status"] == "dead" and "neither a phone number nor an e-mail" in dead["last_error"]
    assert gateway.attempts == 0


def test_an_erased_reporter_is_no_longer_notified_and_the_message_goes_dead(services, api, pump, clock):
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"name": "Siti", "email": EMAIL})
    pump.drain()
    first = one(messages(services, report_id), "ReportSubmitted")
    gateway = RecordingGateway()
    assert send_due(services.outbox, services.store, gateway, FRI_20_NOV).sent == 1

    reporter_ref = first["recipient"]["reporter_ref"]
    response = api.post(f"/reporters/{reporter_ref}/erasure", {}, token=NASIONAL)
    assert response.status_code == 200, response.body
    act(api, report_id, "verification", {"institution_id": "pemkot-samarinda"}, NASIONAL)
    pump.drain()
    result = send_due(services.outbox, services.store, gateway, FRI_20_NOV + timedelta(minutes=1))
    assert (result.sent, result.dead) == (1, 1)  # the admin still hears; the erased reporter cannot
    verified = [m for m in messages(services, report_id) if m["event_type"] == "ReportVerified"]
    to_reporter = next(m for m in verified if m["recipient"]["kind"] == "reporter")
    assert to_reporter["status"] == "dead" and "erasure" in to_reporter["last_error"]
    assert [d.address for d in gateway.deliveries] == [EMAIL, "admin_instansi/pemkot-samarinda"]


# ---------------------------------------------------------------------------------------------- AWS (moto)

def _moto_sent_sms() -> dict[str, tuple[str, str]]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return dict(sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-3"].sms_messages)


def _moto_sent_email() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-3"].sent_messages)


def _aws_gateway(sender: str = "lapor@lapor.go.id") -> AwsGateway:
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="lapor-staff")["TopicArn"]
    return AwsGateway(sns=sns, ses=boto3.client("ses"), email_from=sender, staff_topic_arn=topic)


def _sms_report(services, phone: str | None) -> str:
    """An SMS report (no HTTP route takes SMS yet): its first event written as the SMS channel would."""
    report_id, reporter_ref = "LAP-SMS2345678", "RPT-sms-reporter"
    stored = chain_events(report_id, None, [e.ReportSubmitted(
        title=None, body="Lampu jalan mati di Jl. Juanda", report_type="complaint", category_id=None,
        region_code="64.72", addressed_institution_id=None, anonymous=False, confidential=False,
        reporter_ref=reporter_ref, access_token_hash="x", location=None,
        verification_due="2026-11-25T10:00:00.000Z")], actor=Actor(role="public"), channel="sms", now=FRI_20_NOV,
        correlation_id="sms-1", causation_id=None)
    services.store.append(Append(report_id, 0, stored, personal=PersonalRecord(reporter_ref=reporter_ref,
                                                                               phone=phone)))
    assert services.outbox.project(stored[0]) is True
    return report_id


def test_aws_gateway_sends_an_sms_through_sns(services):
    report_id = _sms_report(services, "+6281234567890")
    message = one(messages(services, report_id), "ReportSubmitted")
    assert message["channel"] == "sms"
    result = send_due(services.outbox, services.store, _aws_gateway(), FRI_20_NOV)
    assert result.sent == 1
    sent = services.outbox.get(message["message_id"])
    assert sent["status"] == "sent"
    assert _moto_sent_sms()[sent["gateway_id"]] == ("+6281234567890", message["text"])


def test_aws_gateway_sms_to_a_malformed_number_is_rejected_and_dead(services):
    report_id = _sms_report(services, "0812-3456")  # moto, like SNS, refuses what is not E.164
    result = send_due(services.outbox, services.store, _aws_gateway(), FRI_20_NOV)
    assert result.dead == 1
    dead = one(messages(services, report_id), "ReportSubmitted")
    assert dead["status"] == "dead" and dead["last_error"].startswith("rejected: InvalidParameter")
    assert _moto_sent_sms() == {}


def test_aws_gateway_email_from_an_unverified_ses_identity_is_rejected_to_the_dead_letter(services, api, pump, clock):
    clock.now = FRI_20_NOV
    report_id, _ = submit(api, {"email": EMAIL})
    pump.drain()
    message_id = one(messages(services, report_id), "ReportSubmitted")["message_id"]
    gateway = _aws_gateway()
    assert send_due(services.outbox, services.store, gateway, FRI_20_NOV).dead == 1
    dead = services.outbox.get(message_id)
    assert dead["status"] == "dead"
    assert dead["last_error"] == "rejected: MessageRejected: Email address not verified lapor@lapor.go.id"
    assert _moto_sent_email() == []
    send_due(services.outbox, services.store, gateway, FRI_20_NOV + timedelta(days=1))
    assert services.outbox.get(message_id)["status"] == "dead"  # never resent, even once verified later


def test_aws_gateway_email_from_a_verified_identity_and_staff_topic_messages_are_sent(services, story, clock):
    boto3.client("ses").verify_email_identity(EmailAddress="lapor@lapor.go.id")
    result = send_due(services.outbox, services.store, _aws_gateway(), clock.now)
    assert (result.sent, result.dead) == (4, 0)
    sent = _moto_sent_email()
    assert len(sent) == 2 and all(m.destinations == {"ToAddresses": [EMAIL]} for m in sent)
    assert all(story in m.subject for m in sent)
    for message in messages(services, story):
        assert message["status"] == "sent", message


def test_aws_gateway_maps_throttling_to_a_temporary_failure_and_other_errors_to_rejected():
    class Throttled:
        def __init__(self, code: str) -> None:
            self.code = code

        def send_email(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": self.code, "Message": "slow down"}}, "SendEmail")

    delivery = Delivery(channel="email", address=EMAIL, subject="LAPOR! LAP-X", text="t", message_id="m")
    for code in ("Throttling", "ServiceUnavailable"):
        with pytest.raises(TemporaryFailure):
            AwsGateway(sns=None, ses=Throttled(code), email_from="a@b.id", staff_topic_arn="arn").send(delivery)
    with pytest.raises(TemporaryFailure, match="AccountSendingPausedException"):  # a pause ends; retry
        AwsGateway(sns=None, ses=Throttled("AccountSendingPausedException"), email_from="a@b.id",
                   staff_topic_arn="arn").send(delivery)
    with pytest.raises(Rejected, match="MessageRejected"):
        AwsGateway(sns=None, ses=Throttled("MessageRejected"), email_from="a@b.id",
                   staff_topic_arn="arn").send(delivery)


def test_a_throttled_sns_publish_is_retried_later_not_dead_lettered(services):
    class ThrottledSns:
        def publish(self, **_: Any) -> Any:  # what SNS answers over its rate limit, after botocore's own retries
            raise ClientError({"Error": {"Code": "Throttled", "Message": "Rate exceeded"},
                               "ResponseMetadata": {"HTTPStatusCode": 429}}, "Publish")

    report_id = _sms_report(services, "+6281234567890")
    gateway = AwsGateway(sns=ThrottledSns(), ses=None, email_from="lapor@lapor.go.id", staff_topic_arn="arn")
    result = send_due(services.outbox, services.store, gateway, FRI_20_NOV)
    message = one(messages(services, report_id), "ReportSubmitted")
    assert (result.retried, result.dead) == (1, 0)
    assert message["status"] == "pending"


# ---------------------------------------------------------------------------------------------- /dev/outbox

def test_dev_outbox_is_not_found_outside_a_local_run(api, story):
    response = api.get("/dev/outbox")
    assert response.status_code == 404
    assert "text/html" not in response.headers.get("Content-Type", "")


def test_dev_outbox_lists_the_messages_on_a_local_run(services, story, clock):
    import app as app_module

    local = build_services(test_settings(stage="local"), clock=clock)
    use_services(local)
    try:
        send_due(local.outbox, local.store, AlwaysFailing(Rejected("bad <address>")), clock.now, limit=1)
        with Client(app_module.app) as client:
            response = client.http.get("/dev/outbox")
    finally:
        use_services(services)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode("utf-8")
    assert page.startswith("<!doctype html>") and "Kotak keluar" in page
    assert page.count(story) >= 4
    assert "admin_penghubung / pemkot-samarinda / dinas-pupr" in page and "pelapor (reporter)" in page
    assert "Rabu 25-11-2026 17:00 WIB" in page
    assert "dead" in page and "bad &lt;address&gt;" in page  # errors shown, and escaped
    assert "&quot;Drainase tersumbat&quot;" in page  # texts escaped too
