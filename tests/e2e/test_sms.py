"""SMS 1708 against the real local server (DynamoDB Local, the stream pump, the sender): a message the gateway
delivers five times at once is one report; the reporter gets the tracking id by SMS and later the final
answer; `lapor sms … "CEK …"` gets the status; a reply to a report on hold becomes its clarification; an
unsigned webhook writes nothing."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from twilio.request_validator import RequestValidator

from tests.e2e.support import bearer, call, eventually, lapor, wait_for

PHONE, OTHER = "+6281234567890", "+6285322223333"


@pytest.fixture
def server(new_server):
    return new_server.start(LAPOR_SEND_SECONDS="0.3")


def twilio_post(server, message_id: str, text: str, sender: str = PHONE, signed: bool = True) -> int:
    secrets = json.loads((server.home / "secrets.json").read_text())
    url = f"{server.base}/sms/twilio"
    params = {"MessageSid": message_id, "AccountSid": secrets["twilio_account_sid"], "From": sender, "To": "1708",
              "Body": text, "NumMedia": "0"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers["X-Twilio-Signature"] = RequestValidator(secrets["twilio_auth_token"]).compute_signature(url, params)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def sent_to(server, phone: str) -> list[str]:
    path = server.home / "outbox.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [d["text"] for d in map(json.loads, lines) if d["channel"] == "sms" and d["address"] == phone]


def text_to(server, phone: str, starting: str) -> str:
    """The SMS (or the first part of the SMS) to `phone` that starts so."""
    return eventually(lambda: next((t for t in sent_to(server, phone) if t.startswith(starting)), None),
                      f"an SMS to {phone} starting {starting!r}")


def submissions(server) -> list[dict]:
    items = server.dynamodb().scan(TableName="lapor-local-events")["Items"]
    return [item for item in items if item["type"]["S"] == "ReportSubmitted"]


def test_an_sms_conversation_from_report_to_final_answer(server):
    national, samarinda = bearer(server.home, "--role", "admin_nasional"), \
        bearer(server.home, "--role", "admin_instansi", "--institution", "pemkot-samarinda")
    statuses: list[int] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        statuses.append(twilio_post(server, "SM" + "e" * 32, "Jalan rusak di depan Pasar Segiri, lubang besar"))

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 5
    [submitted] = submissions(server)  # five deliveries, at once: one report
    report_id = submitted["stream_id"]["S"]
    receipt = text_to(server, PHONE, "LAPOR! Laporan Anda diterima.")
    assert f"Nomor pelacakan: {report_id}." in receipt
    assert len([t for t in sent_to(server, PHONE) if t.startswith("LAPOR! Laporan Anda diterima.")]) == 1

    checked = lapor(server.home, "sms", PHONE, f"cek {report_id}")
    assert checked.stdout.startswith("200 ")
    assert text_to(server, PHONE, "LAPOR! Status laporan") == f"LAPOR! Status laporan {report_id}: menunggu verifikasi."

    wait_for(server.base, report_id, national, "submitted")
    assert call("POST", f"{server.base}/reports/{report_id}/verification", {
        "institution_id": "pemkot-samarinda", "title": "Jalan berlubang di depan Pasar Segiri",
        "category_id": "infrastruktur.jalan-rusak", "region_code": "64.72"}, national)[0] == 200
    assert call("POST", f"{server.base}/reports/{report_id}/follow-ups",
                {"message": "Lubang sudah ditambal pada 3 Desember.", "final": True}, samarinda)[0] == 200

    first = text_to(server, PHONE, "(1/2) LAPOR! Pemerintah Kota Samarinda memberikan jawaban akhir")
    second = text_to(server, PHONE, "(2/2) ")
    assert "Lubang sudah ditambal pada 3 Desember." in first + " " + second[6:]
    assert all(len(text) <= 160 for text in sent_to(server, PHONE))


def test_a_reply_to_a_report_on_hold_becomes_its_clarification(server):
    national = bearer(server.home, "--role", "admin_nasional")
    assert twilio_post(server, "SM" + "1" * 32, "Banjir tiap hujan", sender=OTHER) == 200
    report_id = submissions(server)[0]["stream_id"]["S"]
    wait_for(server.base, report_id, national, "submitted")
    assert call("POST", f"{server.base}/reports/{report_id}/hold", {"question": "Di kelurahan mana?"},
                national)[0] == 200
    assert "Di kelurahan mana?" in text_to(server, OTHER, f"LAPOR! Laporan {report_id} memerlukan penjelasan")

    assert twilio_post(server, "SM" + "2" * 32, "Kelurahan Sidodadi, RT 05", sender=OTHER) == 200

    report = wait_for(server.base, report_id, national, "submitted")
    assert len(submissions(server)) == 1
    code, timeline = call("GET", f"{server.base}/reports/{report_id}/timeline", headers=bearer(
        server.home, "--role", "ombudsman"))
    assert code == 200 and "ReportClarified" in json.dumps(timeline), timeline
    assert report["status"] == "submitted"
    text_to(server, OTHER, f"LAPOR! Terima kasih, penjelasan Anda untuk laporan {report_id} diterima.")


def test_an_unsigned_or_wrongly_signed_webhook_writes_nothing(server):
    assert twilio_post(server, "SM" + "3" * 32, "Jalan rusak", signed=False) == 403
    secrets = json.loads((server.home / "secrets.json").read_text())
    request = urllib.request.Request(f"{server.base}/sms/infobip", method="POST", data=json.dumps({"results": [
        {"messageId": "x", "from": "6281234567890", "text": "Jalan rusak"}]}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Basic aW5mb2JpcDp3cm9uZw=="})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401 and secrets["infobip_secret"] not in refused.value.read().decode()
    assert server.dynamodb().scan(TableName="lapor-local-events", Select="COUNT")["Count"] == 0
    assert server.dynamodb().scan(TableName="lapor-local-personal_data", Select="COUNT")["Count"] == 0
