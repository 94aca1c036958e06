"""SMS 1708 end to end in-process (moto): the desk, the command path, the outbox and the sender together.

What a citizen with a phone sees: a report is one report however often the gateway delivers it; its
tracking id and later news come back by SMS; CEK answers with the status (only of their own or public
reports); a reply to a report on hold is its clarification; STOP stops the texts; flooding is throttled.
The phone number lives only in the personal-data table. (Concurrent deliveries and the real server:
tests/e2e/test_sms.py, on DynamoDB Local.)
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import boto3
import pytest

from chalicelib.domain import commands as c
from chalicelib.services.handlers import Request
from chalicelib.services.notifications import send_due
from chalicelib.services.sms import Limits, SmsDesk, phone_key
from chalicelib.sms import conversation as talk
from chalicelib.sms.gateways import InboundSms
from tests.support.api import body_of
from tests.support.builders import verify_command
from tests.support.principals import NASIONAL, SAMARINDA
from tests.support.settings import TOKEN_SECRET
from tests.support.tokens import NASIONAL as NASIONAL_TOKEN

PHONE, OTHER_PHONE = "+6281234567890", "+6285311112222"


class RecordingGateway:
    def __init__(self) -> None:
        self.deliveries = []

    def send(self, delivery) -> str:
        self.deliveries.append(delivery)
        return f"gw-{len(self.deliveries)}"


def sms(text: str, message_id: str = "SM-0001", sender: str = PHONE, gateway: str = "twilio") -> InboundSms:
    return InboundSms(gateway=gateway, message_id=message_id, sender=sender, text=text,
                      received_at="2026-03-02T02:00:00.000Z")


def events_of_type(event_type: str) -> list[dict]:
    items = boto3.client("dynamodb").scan(TableName="test-events")["Items"]
    return [item for item in items if item["type"]["S"] == event_type]


def texts_to(services, pump, phone: str = PHONE) -> list[str]:
    """Project what happened, send what is due, and return the SMS texts that went to `phone`."""
    pump.drain()
    gateway = RecordingGateway()
    send_due(services.outbox, services.store, gateway, services.clock(), numbers=services.sms_numbers)
    return [d.text for d in gateway.deliveries if d.channel == "sms" and d.address == phone]


@pytest.fixture
def desk(services) -> SmsDesk:
    return services.sms_desk


# ------------------------------------------------------------------------------------------ a new report

def test_a_message_becomes_a_report_with_no_region_no_title_and_the_number_only_in_personal_data(services, desk, pump):
    outcome = desk.receive(sms("Jalan rusak di depan pasar Kahayan"), services.clock())

    assert outcome.kind == "report"
    [stored] = services.store.load(outcome.report_id)
    event = stored.event
    assert (stored.channel, event.channel_detail, event.region_code, event.title, event.body) == (
        "sms", "twilio", "", None, "Jalan rusak di depan pasar Kahayan")
    assert services.store.get_personal(event.reporter_ref).phone == PHONE
    everything_logged = json.dumps(boto3.client("dynamodb").scan(TableName="test-events")["Items"])
    assert "1234567890" not in everything_logged  # not in any event, in any form
    assert services.sms_contacts.get(phone_key(TOKEN_SECRET, PHONE)).reports == (outcome.report_id,)
    [receipt] = texts_to(services, pump)
    assert receipt.startswith(f"LAPOR! Laporan Anda diterima. Nomor pelacakan: {outcome.report_id}.")


def test_the_same_message_delivered_again_days_later_is_still_one_report(services, desk, clock):
    first = desk.receive(sms("Lampu jalan mati di Jl. Tjilik Riwut"), clock())
    for days in (0, 1, 3, 6):
        clock.advance(days=days)
        again = desk.receive(sms("Lampu jalan mati di Jl. Tjilik Riwut"), clock())
        assert (again.kind, again.report_id) == ("duplicate", first.report_id)
    assert len(events_of_type("ReportSubmitted")) == 1


def test_another_message_id_is_another_report_and_another_gateways_same_id_too(services, desk, clock):
    a = desk.receive(sms("Jalan rusak", "SM-1"), clock())
    b = desk.receive(sms("Jalan rusak", "SM-2"), clock())
    c_ = desk.receive(sms("Jalan rusak", "SM-1", gateway="infobip"), clock())
    assert len({a.report_id, b.report_id, c_.report_id}) == 3


def test_a_message_id_reused_with_another_text_is_refused_and_writes_nothing(services, desk, clock):
    from chalicelib.errors import IdempotencyKeyReused

    desk.receive(sms("Jalan rusak", "SM-1"), clock())
    with pytest.raises(IdempotencyKeyReused):
        desk.receive(sms("Pesan lain sama sekali", "SM-1"), clock())
    assert len(events_of_type("ReportSubmitted")) == 1


def test_a_redelivery_links_the_report_to_the_number_if_the_first_delivery_died_before_it(services, desk, clock):
    first = desk.receive(sms("Jalan rusak"), clock())
    key = phone_key(TOKEN_SECRET, PHONE)
    services.sms_contacts.forget(key)  # as if the process died between the commit and the link

    desk.receive(sms("Jalan rusak"), clock())

    assert services.sms_contacts.get(key).reports == (first.report_id,)


def test_anonim_at_the_start_makes_an_anonymous_report(services, desk, clock):
    outcome = desk.receive(sms("ANONIM Pungli di kantor kelurahan"), clock())
    assert services.store.load(outcome.report_id)[0].event.anonymous is True


# ------------------------------------------------------------------------------------------ conversation

def test_a_reply_from_the_number_of_a_report_on_hold_is_its_clarification(services, desk, pump, clock):
    report_id = desk.receive(sms("Jalan rusak parah", "SM-1"), clock()).report_id
    services.commands.execute(report_id, c.HoldReport(principal=NASIONAL, question="Di jalan apa?"),
                              Request(now=clock.advance(hours=1), correlation_id="hold"))
    [_, question] = texts_to(services, pump)
    assert question == (f"LAPOR! Laporan {report_id} memerlukan penjelasan Anda: Di jalan apa? Balas paling "
                        "lambat 10 hari kerja dengan membalas SMS ini.")

    outcome = desk.receive(sms("Jl. RTA Milono km 3", "SM-2"), clock.advance(hours=2))
    again = desk.receive(sms("Jl. RTA Milono km 3", "SM-2"), clock.advance(minutes=5))

    assert (outcome.kind, outcome.report_id, again.kind) == ("clarification", report_id, "duplicate")
    history = services.store.load(report_id)
    assert [s.type for s in history] == ["ReportSubmitted", "ReportPutOnHold", "ReportClarified"]
    assert (history[-1].event.message, history[-1].channel) == ("Jl. RTA Milono km 3", "sms")
    [thanks] = texts_to(services, pump)
    assert thanks.startswith(f"LAPOR! Terima kasih, penjelasan Anda untuk laporan {report_id} diterima.")
    assert len(events_of_type("ReportSubmitted")) == 1


def test_a_message_from_another_number_while_a_report_is_on_hold_is_a_new_report(services, desk, clock):
    report_id = desk.receive(sms("Jalan rusak parah", "SM-1"), clock()).report_id
    services.commands.execute(report_id, c.HoldReport(principal=NASIONAL, question="Di jalan apa?"),
                              Request(now=clock.advance(hours=1), correlation_id="hold"))
    assert desk.receive(sms("Jl. RTA Milono", "SM-2", sender=OTHER_PHONE), clock()).kind == "report"


def test_cek_answers_the_status_of_the_numbers_own_report_once_per_message(services, desk, pump, clock):
    report_id = desk.receive(sms("Jalan rusak", "SM-1"), clock()).report_id
    texts_to(services, pump)  # the receipt

    for _ in range(3):  # the gateway retries
        assert desk.receive(sms(f"cek {report_id}", "SM-2"), clock()).kind == "status"

    assert texts_to(services, pump) == [f"LAPOR! Status laporan {report_id}: menunggu verifikasi."]
    assert len(services.store.load(report_id)) == 1  # asking writes no event


def test_cek_of_someone_elses_unpublished_report_says_not_found_as_for_a_report_that_does_not_exist(
        services, desk, pump, clock):
    report_id = desk.receive(sms("Pungli di kelurahan", "SM-1"), clock()).report_id
    desk.receive(sms(f"CEK {report_id}", "SM-2", sender=OTHER_PHONE), clock())
    desk.receive(sms("CEK LAP-2222222222", "SM-3", sender=OTHER_PHONE), clock())
    assert texts_to(services, pump, OTHER_PHONE) == [
        f"LAPOR! Laporan {report_id} tidak ditemukan. Periksa kembali nomor pelacakannya.",
        "LAPOR! Laporan LAP-2222222222 tidak ditemukan. Periksa kembali nomor pelacakannya."]


def test_cek_of_a_public_report_answers_anyone_with_the_handling_institution(services, desk, pump, clock, api):
    report_id = body_of(api.post("/reports", {
        "title": "Drainase tersumbat", "body": "Saluran air tersumbat sampah.", "type": "complaint",
        "region_code": "64.72", "category_id": "infrastruktur.drainase"}), 201)["report_id"]
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": "pemkot-samarinda"},
                     token=NASIONAL_TOKEN), 200)
    desk.receive(sms(f"cek {report_id}", "SM-9", sender=OTHER_PHONE), clock())
    assert texts_to(services, pump, OTHER_PHONE) == [
        f"LAPOR! Status laporan {report_id}: diteruskan ke Pemerintah Kota Samarinda."]


def test_an_empty_message_gets_help_and_no_report(services, desk, pump, clock):
    assert desk.receive(sms("   "), clock()).kind == "help"
    assert texts_to(services, pump) == [talk.HELP]
    assert events_of_type("ReportSubmitted") == []


# ------------------------------------------------------------------------------------------ STOP

def test_stop_ends_every_text_to_the_number_after_confirming_it_and_mulai_resumes_them(services, desk, pump, clock):
    report_id = desk.receive(sms("Jalan rusak", "SM-1"), clock()).report_id
    texts_to(services, pump)  # the receipt
    assert desk.receive(sms("STOP", "SM-2"), clock()).kind == "stopped"
    services.commands.execute(report_id, verify_command(NASIONAL, "pemkot-samarinda", title="Jalan rusak",
                                                        category_id="infrastruktur.jalan-rusak",
                                                        region_code="64.72"),
                              Request(now=clock.advance(hours=1), correlation_id="verify"))

    assert texts_to(services, pump) == [talk.STOPPED]  # the confirmation, not the news of the verification
    suppressed = [m for m in services.outbox.recent() if m["status"] == "suppressed"]
    assert [m["event_type"] for m in suppressed] == ["ReportVerified"]

    desk.receive(sms("MULAI", "SM-3"), clock())
    services.commands.execute(report_id, c.AssignReport(principal=SAMARINDA, unit_id="dinas-pupr"),
                              Request(now=clock.advance(hours=1), correlation_id="assign"))
    services.commands.execute(report_id, c.PostFollowUp(principal=SAMARINDA, message="Sudah ditinjau.", final=False),
                              Request(now=clock.advance(hours=1), correlation_id="follow-up"))
    assert sorted(texts_to(services, pump)) == sorted([
        talk.RESUMED, f"LAPOR! Ada tindak lanjut baru dari Pemerintah Kota Samarinda atas laporan {report_id}: "
                      "Sudah ditinjau."])


# ------------------------------------------------------------------------------------------ abuse

def test_a_number_over_its_hourly_rate_is_throttled_with_a_log_line_and_no_report(services, pump, clock, caplog):
    desk = SmsDesk(store=services.store, commands=services.commands, contacts=services.sms_contacts,
                   outbox=services.outbox, reference=services.reference, secret=TOKEN_SECRET,
                   limits=Limits(per_number_per_hour=3))
    outcomes = [desk.receive(sms(f"Laporan nomor {n}", f"SM-{n}"), clock()).kind for n in range(5)]
    other = desk.receive(sms("Laporan dari nomor lain", "SM-x", sender=OTHER_PHONE), clock()).kind
    clock.advance(hours=1)
    next_hour = desk.receive(sms("Laporan jam berikutnya", "SM-next"), clock()).kind

    assert outcomes == ["report", "report", "report", "throttled", "throttled"]
    assert (other, next_hour) == ("report", "report")
    assert len(events_of_type("ReportSubmitted")) == 5
    throttled = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "throttled" in r.getMessage()]
    assert len(throttled) == 2 and "no report" in throttled[0] and PHONE not in throttled[0]


def test_a_gateway_over_its_rate_per_minute_is_throttled(services, clock):
    desk = SmsDesk(store=services.store, commands=services.commands, contacts=services.sms_contacts,
                   outbox=services.outbox, reference=services.reference, secret=TOKEN_SECRET,
                   limits=Limits(per_gateway_per_minute=2))
    phones = ["+6281200000001", "+6281200000002", "+6281200000003"]
    kinds = [desk.receive(sms("Jalan rusak", f"SM-{n}", sender=phone), clock()).kind for n, phone in enumerate(phones)]
    assert kinds == ["report", "report", "throttled"]
    clock.advance(minutes=1)
    assert desk.receive(sms("Jalan rusak", "SM-later", sender=phones[2]), clock()).kind == "report"


# ------------------------------------------------------------------------------------------ erasure

def test_erasing_an_sms_reporter_forgets_the_number_and_its_contact(services, desk, pump, clock, api):
    report_id = desk.receive(sms("Jalan rusak"), clock()).report_id
    reporter_ref = services.store.load(report_id)[0].event.reporter_ref
    body_of(api.post(f"/reporters/{reporter_ref}/erasure", token=NASIONAL_TOKEN), 200)

    assert services.sms_contacts.get(phone_key(TOKEN_SECRET, PHONE)) is None
    assert services.store.get_personal(reporter_ref).phone is None
    desk.receive(sms(f"CEK {report_id}", "SM-2"), clock.advance(minutes=1))
    assert texts_to(services, pump)[-1] == f"LAPOR! Laporan {report_id} tidak ditemukan. Periksa kembali nomor pelacakannya."


# ------------------------------------------------------------------------------------------ sending through Twilio

class TwilioApi:
    """Twilio's Messages API as the real `twilio` client reaches it (its HttpClient seam): records each
    request and answers as Twilio does (201 with the message, or an error document)."""

    def __init__(self, status: int = 201, code: int | None = None) -> None:
        self.status, self.code, self.requests = status, code, []

    def __call__(self):
        from twilio.http import HttpClient
        from twilio.http.response import Response

        api = self

        class Client(HttpClient):
            def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                        allow_redirects=False):
                api.requests.append((method, uri, dict(data or {}), auth))
                if api.status >= 400:
                    return Response(api.status, json.dumps({"code": api.code, "message": "refused", "status": api.status}))
                return Response(201, json.dumps({"sid": "SM" + "f" * 32, "status": "queued", "to": data["To"],
                                                 "body": data["Body"]}))
        return Client(logging.getLogger("twilio.test"), False)


def twilio_gateway(api: TwilioApi):
    from twilio.rest import Client

    from chalicelib.services.notifications import TwilioSmsGateway

    return TwilioSmsGateway(Client("AC" + "0" * 32, "token", http_client=api()), "1708")


def test_sms_go_out_through_twilios_messages_api_and_the_outbox_records_twilios_id(services, desk, pump, clock):
    from chalicelib.services.notifications import AwsGateway

    report_id = desk.receive(sms("Jalan rusak"), clock()).report_id
    pump.drain()
    api = TwilioApi()
    gateway = AwsGateway(sns=None, ses=None, email_from="x@example.id", staff_topic_arn="arn", sms=twilio_gateway(api))

    assert send_due(services.outbox, services.store, gateway, clock(), numbers=services.sms_numbers).sent == 1

    [(method, uri, data, auth)] = api.requests
    assert (method, uri.endswith("/Accounts/AC" + "0" * 32 + "/Messages.json")) == ("POST", True)
    assert (data["To"], data["From"], data["Body"][:30]) == (PHONE, "1708", "LAPOR! Laporan Anda diterima. ")
    [message] = [m for m in services.outbox.recent() if m["report_id"] == report_id]
    assert (message["status"], message["gateway_id"]) == ("sent", "SM" + "f" * 32)


@pytest.mark.parametrize("status, code, outcome", [(400, 21211, "dead"), (429, 20429, "retried"), (503, 20500, "retried")])
def test_twilio_refusing_a_number_is_final_and_its_throttling_or_outage_is_retried(services, desk, pump, clock,
                                                                                   status, code, outcome):
    from chalicelib.services.notifications import AwsGateway

    desk.receive(sms("Jalan rusak"), clock())
    pump.drain()
    gateway = AwsGateway(sns=None, ses=None, email_from="x@example.id", staff_topic_arn="arn",
                         sms=twilio_gateway(TwilioApi(status, code)))
    assert getattr(send_due(services.outbox, services.store, gateway, clock(), numbers=services.sms_numbers),
                   outcome) == 1
