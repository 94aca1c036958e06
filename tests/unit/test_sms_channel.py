"""SMS 1708's pure parts: what a message means (the conversation rules), texts that fit an SMS, and the
gateways' payloads and signatures — Twilio's checked with the `twilio` package's own RequestValidator."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from twilio.request_validator import RequestValidator

from chalicelib.errors import Forbidden, MalformedRequest, Unauthenticated, ValidationFailed
from chalicelib.sms import conversation as talk
from chalicelib.sms.gateways import e164, infobip_inbound, twilio_inbound
from chalicelib.sms.text import septets, sms_parts, to_gsm7

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
AUTH_TOKEN, ACCOUNT = "12345678901234567890123456789012", "AC" + "0" * 32
URL = "https://api.lapor.example/sms/twilio"


# ------------------------------------------------------------------------------------------ the conversation

@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_message_gets_the_help_text(text):
    assert talk.classify(text) == talk.Help()


@pytest.mark.parametrize("text", ["STOP", "stop", "Berhenti", "BERHENTI.", " unreg "])
def test_stop_and_berhenti_end_notifications(text):
    assert talk.classify(text) == talk.Stop()


@pytest.mark.parametrize("text", ["MULAI", "start", "Mulai!"])
def test_mulai_resumes_them(text):
    assert talk.classify(text) == talk.Resume()


@pytest.mark.parametrize("text", ["CEK LAP-ABCDEFGHJK", "cek lap-abcdefghjk", "CEK#LAP-ABCDEFGHJK", "CEKLAP-ABCDEFGHJK",
                                  "cek LAP ABCDEFGHJK", "CEK abcdefghjk", "status LAP-ABCDEFGHJK", "Cek: LAP-ABCDEFGHJK "])
def test_cek_with_a_tracking_id_in_its_common_spellings_asks_for_the_status(text):
    assert talk.classify(text) == talk.CheckStatus("LAP-ABCDEFGHJK")


@pytest.mark.parametrize("text", ["CEK", "cek 123", "CEK LAP-ABC", "status"])
def test_cek_without_a_usable_tracking_id_gets_the_help_for_cek(text):
    assert talk.classify(text) == talk.Help(about_check=True)


@pytest.mark.parametrize("text", ["Jalan rusak di depan pasar", "Cek lampu jalan mati di Jl. Tjilik Riwut",
                                  "stop pungli di kantor kelurahan", "Status tanah saya tidak jelas sejak 2019"])
def test_anything_else_is_a_report_even_when_it_starts_with_a_keyword(text):
    assert talk.classify(text) == talk.Text(text)


def test_the_text_of_a_report_is_kept_with_its_spacing_folded():
    assert talk.classify("  Jalan   rusak\ndi depan  pasar ") == talk.Text("Jalan rusak di depan pasar")


@pytest.mark.parametrize("text, anonymous, confidential", [
    ("ANONIM Pungli di kantor kelurahan", True, False),
    ("rahasia: Pungli di kantor kelurahan", False, True),
    ("Rahasia, anonim - Pungli di kantor kelurahan", True, True)])
def test_anonim_and_rahasia_at_the_start_ask_for_privacy_and_are_not_part_of_the_text(text, anonymous, confidential):
    assert talk.classify(text) == talk.Text("Pungli di kantor kelurahan", anonymous, confidential)


def test_anonim_alone_is_not_a_report():
    assert talk.classify("ANONIM") == talk.Help()


@pytest.mark.parametrize("text", [talk.HELP, talk.HELP_CHECK, talk.STOPPED, talk.RESUMED,
                                  talk.NOT_FOUND.format(report_id="LAP-ABCDEFGHJK")])
def test_every_fixed_answer_fits_one_sms(text):
    assert sms_parts(text) == [text]


def test_a_status_answer_names_the_status_in_indonesian_and_fits_one_sms():
    text = talk.status_text("LAP-ABCDEFGHJK", "in_progress", "Pemerintah Kota Palangka Raya")
    assert text == ("LAPOR! Status laporan LAP-ABCDEFGHJK: dalam proses tindak lanjut oleh Pemerintah Kota "
                    "Palangka Raya.")
    assert all(len(sms_parts(talk.status_text("LAP-ABCDEFGHJK", status, "Kementerian Pekerjaan Umum dan "
                                              "Perumahan Rakyat"))) == 1 for status in talk.STATUS_TEXT)


# ------------------------------------------------------------------------------------------ GSM-7 texts

def test_typographic_punctuation_becomes_plain_and_other_characters_become_question_marks():
    assert to_gsm7("“Jalan” — ‘rusak’… ✓") == '"Jalan" - \'rusak\'... ?'
    assert to_gsm7("café ñ ü") == "café ñ ü"  # in the GSM alphabet already
    assert to_gsm7("ō") == "o"  # accent dropped where GSM has no such letter


def test_extension_characters_count_as_two_septets():
    assert septets("{€}") == 6 and septets("abc") == 3


def test_a_text_of_160_septets_is_one_sms_and_161_are_numbered_parts_of_at_most_160():
    assert sms_parts("a" * 160) == ["a" * 160]
    words = " ".join(["laporan"] * 60)  # 479 characters
    parts = sms_parts(words)
    assert len(parts) == 4
    assert [part[:6] for part in parts] == ["(1/4) ", "(2/4) ", "(3/4) ", "(4/4) "]
    assert all(septets(part) <= 160 for part in parts)
    assert " ".join(part[6:] for part in parts) == words  # broken at spaces, nothing lost


def test_a_word_longer_than_an_sms_is_cut():
    parts = sms_parts("x" * 400)
    assert all(septets(part) <= 160 for part in parts) and "".join(p.split(" ", 1)[1] for p in parts) == "x" * 400


# ------------------------------------------------------------------------------------------ phone numbers

@pytest.mark.parametrize("raw", ["081234567890", "+6281234567890", "6281234567890", " 0812-3456-7890 "])
def test_senders_are_normalised_to_e164(raw):
    assert e164(raw) == "+6281234567890"


@pytest.mark.parametrize("raw", ["12", "+14155550100", "LAPOR", ""])
def test_a_sender_that_is_not_an_indonesian_number_is_refused_without_echoing_it(raw):
    with pytest.raises(ValidationFailed) as refused:
        e164(raw)
    assert refused.value.details["field"] == "from"
    assert not raw.strip() or raw not in refused.value.message


# ------------------------------------------------------------------------------------------ Twilio

def twilio_form(**overrides: str) -> dict[str, str]:
    return {"MessageSid": "SM0123456789abcdef0123456789abcdef", "AccountSid": ACCOUNT, "From": "+6281234567890",
            "To": "1708", "Body": "Jalan rusak di depan pasar", "NumMedia": "0"} | overrides


def twilio(params: dict[str, str], signature: str | None, **kwargs):
    form = {name: [value] for name, value in params.items()}
    return twilio_inbound(form, url=kwargs.get("url", URL), signature=signature, auth_token=AUTH_TOKEN,
                          account_sid=kwargs.get("account_sid", ACCOUNT), now=NOW)


def test_a_twilio_message_signed_as_twilio_signs_is_accepted():
    params = twilio_form()
    sms = twilio(params, RequestValidator(AUTH_TOKEN).compute_signature(URL, params))
    assert (sms.gateway, sms.message_id, sms.sender, sms.text) == (
        "twilio", "SM0123456789abcdef0123456789abcdef", "+6281234567890", "Jalan rusak di depan pasar")
    assert sms.dedup_key == "twilio|SM0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("case", ["unsigned", "another token", "another url", "a changed body"])
def test_an_unsigned_or_wrongly_signed_twilio_message_is_refused(case):
    params = twilio_form()
    signature = {"unsigned": None,
                 "another token": RequestValidator("f" * 32).compute_signature(URL, params),
                 "another url": RequestValidator(AUTH_TOKEN).compute_signature(URL + "x", params),
                 "a changed body": RequestValidator(AUTH_TOKEN).compute_signature(URL, params)}[case]
    if case == "a changed body":
        params = twilio_form(Body="Pesan yang diubah di jalan")
    with pytest.raises(Forbidden):
        twilio(params, signature)


def test_a_twilio_message_for_another_account_is_refused():
    params = twilio_form(AccountSid="AC" + "9" * 32)
    with pytest.raises(Forbidden):
        twilio(params, RequestValidator(AUTH_TOKEN).compute_signature(URL, params))


def test_a_signed_twilio_request_without_a_message_id_is_malformed():
    params = twilio_form()
    del params["MessageSid"]
    with pytest.raises(MalformedRequest):
        twilio(params, RequestValidator(AUTH_TOKEN).compute_signature(URL, params))


def test_without_a_configured_auth_token_the_twilio_route_refuses_everything():
    with pytest.raises(Forbidden):
        twilio_inbound({}, url=URL, signature="x", auth_token=None, account_sid=None, now=NOW)


# ------------------------------------------------------------------------------------------ Infobip

SECRET = "infobip-shared-secret-0123"


def basic(password: str, user: str = "infobip") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def infobip_body(*results: dict) -> bytes:
    return json.dumps({"results": list(results), "messageCount": len(results), "pendingMessageCount": 0}).encode()


RESULT = {"messageId": "ib-817790313235066447", "from": "6281234567890", "to": "1708",
          "text": "LAPOR Jalan rusak di depan pasar", "cleanText": "Jalan rusak di depan pasar", "keyword": "LAPOR",
          "receivedAt": "2026-03-02T09:00:00.000+0700", "smsCount": 1}


def test_infobip_results_become_one_inbound_sms_each_with_the_gateways_time():
    second = RESULT | {"messageId": "ib-2", "cleanText": "", "text": "CEK LAP-ABCDEFGHJK", "keyword": ""}
    first, other = infobip_inbound(infobip_body(RESULT, second), authorization=basic(SECRET), secret=SECRET, now=NOW)
    assert (first.gateway, first.message_id, first.sender, first.text, first.received_at) == (
        "infobip", "ib-817790313235066447", "+6281234567890", "Jalan rusak di depan pasar", "2026-03-02T02:00:00.000Z")
    assert other.text == "CEK LAP-ABCDEFGHJK"


def test_an_infobip_message_without_an_id_is_keyed_by_its_sender_text_and_time():
    no_id = dict(RESULT)
    del no_id["messageId"]
    once = infobip_inbound(infobip_body(no_id), authorization=basic(SECRET), secret=SECRET, now=NOW)[0]
    again = infobip_inbound(infobip_body(no_id), authorization=basic(SECRET), secret=SECRET,
                            now=NOW.replace(hour=5))[0]
    later = infobip_inbound(infobip_body(no_id | {"receivedAt": "2026-03-02T09:05:00.000+0700"}),
                            authorization=basic(SECRET), secret=SECRET, now=NOW)[0]
    assert once.message_id == again.message_id != later.message_id


@pytest.mark.parametrize("authorization", [None, "", basic("wrong"), "Bearer " + SECRET, "Basic !!!", basic("")])
def test_an_infobip_request_without_the_shared_secret_is_refused(authorization):
    with pytest.raises(Unauthenticated):
        infobip_inbound(infobip_body(RESULT), authorization=authorization, secret=SECRET, now=NOW)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"results": []}', b'{"results": [{"text": "x"}]}',
                                  b'{"results": [{"from": 6281234567890}]}',
                                  infobip_body(RESULT | {"receivedAt": "kemarin"})])
def test_a_malformed_infobip_payload_is_refused(body):
    with pytest.raises(MalformedRequest):
        infobip_inbound(body, authorization=basic(SECRET), secret=SECRET, now=NOW)


def test_a_message_longer_than_an_sms_can_be_is_refused():
    with pytest.raises(ValidationFailed):
        infobip_inbound(infobip_body(RESULT | {"cleanText": "x" * 1601}), authorization=basic(SECRET),
                        secret=SECRET, now=NOW)
