"""The citizen pages in-process (chalice.test.Client on moto): forms, CSRF, escaping, errors, privacy, actions.

These catch what needs no browser: what the server answers. tests/web drives the same pages in Chromium.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.http.endpoint import OPERATIONS
from chalicelib.web.pages import PAGE_PATHS
from tests.support.api import body_of
from tests.support.browser import FormBrowser
from tests.support.tokens import ADMIN_SAMARINDA, LIAISON_PUPR, NASIONAL, SAMARINDA
from tests.web.html import accessibility_problems, parse

WRITTEN_TABLES = ("events", "personal_data", "idempotency")
FORM = {"type": "complaint", "title": "Jalan berlubang di Jl. Juanda",
        "body": "Lubang sedalam 30 cm di depan SDN 012; dua pengendara motor jatuh minggu ini.",
        "category_id": "infrastruktur.jalan-rusak", "region_code": "64.72"}
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&amp;"


class Pages(FormBrowser):
    """The citizen pages as a browser uses them, plus filling the report form and tracking a report."""

    def submit(self, **fields: str) -> tuple[str, str, Any]:
        """Fill the report form (its own hidden idempotency key) and send it: (tracking id, token, receipt)."""
        key = parse(self.get("/").body.decode()).value("idem")
        receipt = self.post("/", {"idem": key} | FORM | fields)
        assert receipt.status_code == 201, receipt.body.decode()[:3000]
        page = parse(receipt.body.decode())
        return page.by_id("tracking-id").text.strip(), page.by_id("report-token").text.strip(), receipt

    def track(self, report_id: str, token: str) -> Any:
        return self.post("/lacak", {"report_id": report_id, "token": token})


@pytest.fixture
def pages(client) -> Pages:
    return Pages(client)


def _writes(services: Any) -> dict[str, int]:
    client = boto3.client("dynamodb")
    return {table: client.scan(TableName=services.settings.table_names[table], Select="COUNT")["Count"]
            for table in WRITTEN_TABLES}


def _html(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.body.decode()[:2000])
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return response.body.decode()


def _text(response: Any, status: int = 200) -> str:
    return parse(_html(response, status)).text()


def _tracking_page(pages: Pages, report_id: str, pump: Any) -> str:
    pump.drain()
    return _html(pages.get(f"/lacak/{report_id}"), 200)


def _offered(markup: str, report_id: str) -> list[str]:
    return [form.attrs["action"].rsplit("/", 1)[1] for form in parse(markup).all("form", method="post")
            if form.attrs["action"].startswith(f"/lacak/{report_id}/") and not form.attrs["action"].endswith("lupakan")]


def _answered(api: Any, report_id: str, pump: Any) -> None:
    """Staff act through the JSON API: verify to Samarinda, assign to Dinas PUPR, post the final answer."""
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA, "region_code": "64.72",
                                                            "category_id": "infrastruktur.jalan-rusak"},
                     token=NASIONAL), 200)
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)
    body_of(api.post(f"/reports/{report_id}/follow-ups", {"message": "Lubang sudah ditambal.", "final": True},
                     token=LIAISON_PUPR), 200)
    pump.drain()


# ------------------------------------------------------------------------------------------ submitting

def test_the_form_submits_through_the_command_path_and_shows_the_tracking_id_and_token_once(pages, api, pump):
    # Given a citizen who fills in every field, identity included
    report_id, token, receipt = pages.submit(address="Jl. Juanda depan SDN 012", lat="-0,4948", lon="117.1436",
                                             name="Siti Rahmawati", phone="0812-3456-7890",
                                             email="siti.rahma@example.id", anonymous="1")
    # Then the receipt names both, says to save them, and is never cached
    assert re.fullmatch(r"LAP-[2-9A-HJ-NP-Z]{10}", report_id) and token.startswith("rpt_")
    text = _text(receipt, 201)
    assert "Simpan ini" in text and "hanya ditampilkan sekali" in text
    assert receipt.headers["Cache-Control"] == "no-store"
    # And the report is the JSON API's: the token works as X-Report-Token, the identity is in personal data
    pump.drain()
    shown = body_of(api.get(f"/reports/{report_id}", report_token=token), 200)
    assert (shown["channel"], shown["status"], shown["anonymous"], shown["confidential"]) == \
        ("web", "submitted", True, False)
    assert shown["location"] == {"lat": -0.4948, "lon": 117.1436, "address": "Jl. Juanda depan SDN 012"}
    reporter = body_of(api.get(f"/reports/{report_id}/reporter", report_token=token), 200)
    assert (reporter["name"], reporter["phone"], reporter["email"]) == \
        ("Siti Rahmawati", "+6281234567890", "siti.rahma@example.id")
    events = body_of(api.get(f"/reports/{report_id}/events", token=NASIONAL), 200)["events"]
    assert [e["type"] for e in events] == ["ReportSubmitted"]
    assert "Siti" not in json.dumps(events) and "3456" not in json.dumps(events)  # personal data never in events


def test_an_address_without_coordinates_is_a_location(pages, api, pump):
    report_id, token, _ = pages.submit(address="Pasar Segiri, lantai 2")
    pump.drain()
    assert body_of(api.get(f"/reports/{report_id}", report_token=token), 200)["location"] == \
        {"address": "Pasar Segiri, lantai 2"}


def test_a_double_submission_makes_one_report_and_shows_the_same_token(pages, services):
    # Given the form as rendered, with its hidden idempotency key
    key = parse(pages.get("/").body.decode()).value("idem")
    assert key
    # When it is sent twice (a double click, or a reload of the receipt)
    first = parse(_html(pages.post("/", {"idem": key} | FORM), 201))
    second = parse(_html(pages.post("/", {"idem": key} | FORM), 201))
    # Then one report, and the receipt is the same both times
    assert first.by_id("tracking-id").text == second.by_id("tracking-id").text
    assert first.by_id("report-token").text == second.by_id("report-token").text
    assert _writes(services)["events"] == 1


def test_invalid_input_is_shown_next_to_its_field_in_indonesian_with_the_input_kept(pages, services):
    before = _writes(services)
    response = pages.post("/", FORM | {"body": "pendek", "region_code": "", "phone": "123", "email": "siti@",
                                       "lat": "-0.5", "name": "Siti", "title": "x" * 151, "anonymous": "1"})
    page = parse(_html(response, 422))
    problems = {name: page.by_id(f"e-{name}").text for name in ("body", "region_code", "phone", "email", "lon",
                                                                 "title")}
    assert problems["body"] == "minimal 10 karakter"
    assert problems["region_code"] == "wajib diisi" and problems["lon"] == "wajib diisi"
    assert problems["email"] == "bukan alamat e-mail yang sah"
    assert problems["phone"].startswith("nomor telepon tidak sah")
    assert problems["title"] == "maksimal 150 karakter (sekarang 151)"
    # each error is tied to its field, and what was typed is still there
    for name in problems:
        control = page.by_id(f"f-{name}")
        assert f"e-{name}" in control.attrs["aria-describedby"].split() and control.attrs["aria-invalid"] == "true"
    assert page.by_id("f-body").text == "pendek" and page.by_id("f-name").attrs["value"] == "Siti"
    assert page.by_id("f-lat").attrs["value"] == "-0.5" and "checked" in page.by_id("f-anonymous").attrs
    assert accessibility_problems(response.body.decode()) == []
    assert _writes(services) == before


def test_numbers_that_are_not_coordinates_and_unknown_references_are_field_errors(pages, services):
    before = _writes(services)
    page = parse(_html(pages.post("/", FORM | {"lat": "nan", "lon": "1e3"}), 422))
    assert page.by_id("e-lat").text == page.by_id("e-lon").text == "harus berupa angka"
    page = parse(_html(pages.post("/", FORM | {"region_code": "64.99"}), 422))
    assert page.by_id("e-region_code").text.startswith("tidak dikenal")
    page = parse(_html(pages.post("/", FORM | {"category_id": "hiburan.konser"}), 422))
    assert page.by_id("e-category_id").text.startswith("tidak dikenal")
    page = parse(_html(pages.post("/", FORM | {"lat": "48.85", "lon": "2.35"}), 422))
    assert page.by_id("e-lat").text == "paling besar 6.5"
    assert _writes(services) == before


def test_errors_read_in_english_after_the_switch(pages):
    pages.get("/?lang=en")
    page = parse(_html(pages.post("/", FORM | {"body": "short"}), 422))
    assert page.by_id("e-body").text == "needs at least 10 characters"
    assert page.all("html")[0].attrs["lang"] == "en"


# ------------------------------------------------------------------------------------------ CSRF

def test_a_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(pages, client, services):
    before = _writes(services)
    pages.get("/")  # the browser has its nonce cookie
    forged = "0" * 64
    for csrf in (None, "", forged):
        assert "kedaluwarsa" in _text(pages.post("/", FORM, csrf=csrf), 403)
    # a token that is valid for another browser's nonce is no good with this one
    other = Pages(client)
    assert "kedaluwarsa" in _text(pages.post("/", FORM, csrf=other.csrf()), 403)
    # without the cookie (another site's form: SameSite=Strict keeps it home) the token alone is no good
    token = pages.csrf()
    response = client.http.post("/", body=urllib.parse.urlencode({"csrf": token} | FORM).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403
    posted = {op.path for op in OPERATIONS if op.method == "POST"}  # (the photo pages under a report are GETs)
    for path in PAGE_PATHS:
        if path not in posted or (path not in ("/", "/lacak") and "{report_id}/" not in path):
            continue
        target = path.replace("{report_id}", "LAP-2222222222")
        assert pages.post(target, {"message": "x", "reason": "x", "rating": "5"}, csrf=forged).status_code == 403
    assert _writes(services) == before


def test_the_csrf_cookie_is_http_only_and_same_site_strict(pages):
    response = pages.get("/")
    [line] = [c for c in response.headers["Set-Cookie"] if c.startswith("lapor_csrf=")]
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {part.strip() for part in line.split(";")}


def test_a_json_body_or_junk_on_a_form_route_is_a_page_not_a_500(pages, services):
    before = _writes(services)
    assert "Formulir tidak dikenali" in _text(pages.post("/", {}, content_type="application/json"), 415)
    response = pages.client.http.post("/", body=b"\xff\xfe=%%%", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": pages.cookie_header("/")})
    assert response.status_code == 400 and response.headers["Content-Type"].startswith("text/html")
    assert _writes(services) == before


# ------------------------------------------------------------------------------------------ escaping

def test_html_in_every_text_field_comes_back_as_text(pages, pump, api):
    fields = {"title": "T " + HOSTILE, "body": "Isi laporan " + HOSTILE, "address": "A " + HOSTILE,
              "name": "N " + HOSTILE, "email": "bukan-email " + HOSTILE}
    # the form with errors echoes everything typed: escaped
    markup = _html(pages.post("/", FORM | fields), 422)
    assert "<script" not in markup and "onerror=alert" not in markup.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    # and once accepted, the receipt and the reporter's page show it as text
    report_id, token, receipt = pages.submit(**(fields | {"email": "siti@example.id"}))
    pages.track(report_id, token)
    tracking = _tracking_page(pages, report_id, pump)
    for page in (receipt.body.decode(), tracking):
        assert "<script" not in page and "<img" not in page
    assert "T <script>alert(1)</script>" in parse(tracking).text()
    assert "A <script>alert(1)</script>" in parse(tracking).text()
    _answered(api, report_id, pump)
    public = _html(pages.get(f"/laporan/{report_id}"), 200)
    assert "<script" not in public and "Isi laporan <script>alert(1)</script>" in parse(public).text()


# ------------------------------------------------------------------------------------------ tracking

def test_the_token_travels_in_a_cookie_scoped_to_the_report_never_in_a_url(pages, pump):
    report_id, token, receipt = pages.submit()
    # the receipt's button posts it; nothing on the page puts it in a URL
    document = parse(receipt.body.decode())
    assert not [e for e in document.elements if token in e.attrs.get("href", "") + e.attrs.get("action", "")]
    redirect = pages.track(report_id, token)
    assert redirect.status_code == 303 and redirect.headers["Location"] == f"/lacak/{report_id}"
    [line] = [c for c in redirect.headers["Set-Cookie"] if c.startswith("lapor_rt=")]
    assert set(part.strip() for part in line.split(";")) >= {
        f"lapor_rt={token}", f"Path=/lacak/{report_id}", "HttpOnly", "SameSite=Strict"}
    markup = _tracking_page(pages, report_id, pump)
    assert "Menunggu verifikasi" in parse(markup).text()
    assert token not in markup
    # the cookie reaches no other report's page, and "forget" removes it
    assert pages.cookie_header("/lacak/LAP-2222222222").count("lapor_rt") == 0
    forgot = pages.post(f"/lacak/{report_id}/lupakan", {})
    assert forgot.status_code == 303 and ("lapor_rt", f"/lacak/{report_id}") not in pages.jar
    assert parse(_html(pages.get(f"/lacak/{report_id}"), 200)).value("report_id") == report_id  # asks again


def test_a_wrong_token_and_an_unknown_report_read_the_same(pages, pump):
    report_id, _, _ = pages.submit()
    pump.drain()
    answers = [_text(pages.track(report_id, "rpt_" + "0" * 64), 404),
               _text(pages.track("LAP-2222222222", "rpt_" + "0" * 64), 404),
               _text(pages.track("not an id", "x"), 404)]
    assert all("tidak cocok" in answer for answer in answers)
    assert answers[0].replace(report_id, "ID") == answers[1].replace("LAP-2222222222", "ID")


def test_a_report_whose_view_is_not_projected_yet_says_so(pages):
    # Given a report just submitted (the stream has not reached the report view)
    report_id, token, _ = pages.submit()
    # Then tracking works from its events, and the page says it is being processed
    assert pages.track(report_id, token).status_code == 303
    assert "sedang diproses" in _text(pages.get(f"/lacak/{report_id}"))


def test_the_reporter_is_offered_exactly_the_actions_the_domain_allows(pages, api, pump, clock, services):
    report_id, token, _ = pages.submit()
    pages.track(report_id, token)
    # submitted: only a reply (the deadline has not passed, nothing to accept or object to)
    markup = _tracking_page(pages, report_id, pump)
    assert _offered(markup, report_id) == ["balas"]
    assert "Batas verifikasi" in parse(markup).text() and "WITA" in parse(markup).text()
    # answered: reply, accept, object
    _answered(api, report_id, pump)
    markup = _tracking_page(pages, report_id, pump)
    text = parse(markup).text()
    assert _offered(markup, report_id) == ["balas", "terima", "keberatan"]
    assert "Lubang sudah ditambal." in text and "Jawaban akhir" in text and "Dinas" in text
    assert "Batas waktu tanggapan Anda" in text and "10 hari kerja lagi" in text
    assert accessibility_problems(markup) == []
    # objecting reopens the report: now an escalation to the Ombudsman is open, accepting is not
    key = parse(markup).value("idem")
    objected = pages.post(f"/lacak/{report_id}/keberatan", {"idem": key, "reason": "Lubang masih ada."})
    assert objected.status_code == 303
    assert objected.headers["Location"].startswith(f"/lacak/{report_id}?") and "keberatan" in objected.headers["Location"]
    pump.drain()
    after = _html(pages.get(objected.headers["Location"]), 200)
    assert "Keberatan Anda tercatat" in parse(after).text() and "Lubang masih ada." in parse(after).text()
    assert _offered(after, report_id) == ["balas", "ombudsman"]
    escalated = pages.post(f"/lacak/{report_id}/ombudsman", {"idem": parse(after).value("idem"),
                                                             "reason": "Sudah dua kali tidak diperbaiki."})
    assert escalated.status_code == 303
    pump.drain()
    final = _html(pages.get(escalated.headers["Location"]), 200)
    assert "dieskalasi ke Ombudsman" in parse(final).text() and _offered(final, report_id) == ["balas"]


def test_accepting_with_a_rating_closes_the_report(pages, api, pump):
    report_id, token, _ = pages.submit()
    pages.track(report_id, token)
    _answered(api, report_id, pump)
    markup = _tracking_page(pages, report_id, pump)
    # a rating outside 1..5 is an error next to the rating, and nothing is written
    refused = pages.post(f"/lacak/{report_id}/terima", {"idem": parse(markup).value("idem"), "rating": "9",
                                                         "comment": "Cepat"})
    page = parse(_html(refused, 422))
    assert page.by_id("e-rating").text == "paling besar 5"
    assert page.by_id("f-terima-comment").text == "Cepat"  # what was typed is kept
    accepted = pages.post(f"/lacak/{report_id}/terima", {"idem": parse(markup).value("idem"), "rating": "4",
                                                          "comment": "Cepat ditangani"})
    assert accepted.status_code == 303
    pump.drain()
    text = parse(_html(pages.get(accepted.headers["Location"]), 200)).text()
    assert "Selesai" in text and "4 dari 5" in text and "Cepat ditangani" in text
    assert body_of(api.get(f"/reports/{report_id}", report_token=token), 200)["status"] == "closed"


def test_an_action_the_domain_refuses_is_said_on_the_page_and_writes_nothing(pages, services, pump):
    report_id, token, _ = pages.submit()
    pages.track(report_id, token)
    pump.drain()
    before = _writes(services)
    refused = pages.post(f"/lacak/{report_id}/terima", {"rating": "5"})
    text = parse(_html(refused, 409)).text()
    assert "Tindakan tidak dapat dilakukan" in text and "tidak tersedia selama status laporan: Menunggu verifikasi" in text
    assert _writes(services) == before


def test_an_action_without_the_token_cookie_asks_for_the_token(pages, services):
    report_id, _, _ = pages.submit()
    before = _writes(services)
    response = pages.post(f"/lacak/{report_id}/balas", {"message": "halo"})
    assert parse(_html(response, 401)).value("report_id") == report_id
    assert _writes(services) == before


# ------------------------------------------------------------------------------------------ public

def test_the_public_pages_show_what_the_public_may_see_and_nothing_else(pages, api, pump):
    # Given an anonymous report with a location and an identity, answered; and a confidential one
    report_id, token, _ = pages.submit(anonymous="1", name="Siti Rahmawati", phone="081234567890",
                                       address="Rumah Bu Siti, Gg. Mawar 3", lat="-0.5", lon="117.15")
    secret_id, secret_token, _ = pages.submit(confidential="1", title="Pungli di kelurahan")
    pages.track(report_id, token)
    _tracking_page(pages, report_id, pump)
    assert pages.post(f"/lacak/{report_id}/balas", {"message": "Nama saya Siti, rumah saya di Gg. Mawar"}) \
        .status_code == 303
    for rid in (report_id, secret_id):
        _answered(api, rid, pump)
    # Then the public list has the first, never the confidential one
    listed = _html(pages.get("/laporan"), 200)
    assert f"/laporan/{report_id}" in listed and secret_id not in listed and "Pungli" not in listed
    by_region = _html(pages.get("/laporan?region=64.72"), 200)
    assert f"/laporan/{report_id}" in by_region and secret_id not in by_region
    # And the report page has no identity, no location of an anonymous reporter, nothing the reporter wrote later
    public = _html(pages.get(f"/laporan/{report_id}"), 200)
    for private in ("Siti", "Mawar", "081234567890", "-0.5", "117.15", "RPT-", token):
        assert private not in public, private
    assert "Lubang sudah ditambal." in parse(public).text() and accessibility_problems(public) == []
    assert _html(pages.get(f"/laporan/{secret_id}"), 404).count("Pungli") == 0


def test_a_report_awaiting_verification_is_not_public(pages, pump):
    report_id, _, _ = pages.submit()
    pump.drain()
    _html(pages.get(f"/laporan/{report_id}"), 404)
    assert report_id not in _html(pages.get("/laporan"), 200)


def test_public_list_filters_and_pages_as_the_json_api(pages, api, pump):
    ids = [pages.submit(title=f"Laporan {n}")[0] for n in range(3)]
    for report_id in ids:
        body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA}, token=NASIONAL), 200)
    pump.drain()
    first = parse(_html(pages.get("/laporan?institution=pemkot-samarinda&limit=2"), 200))
    listed = [a.attrs["href"] for a in first.all("a") if a.attrs.get("href", "").startswith("/laporan/LAP-")]
    [next_link] = [a.attrs["href"] for a in first.all("a", rel="next")]
    second = parse(_html(pages.get(next_link), 200))
    listed += [a.attrs["href"] for a in second.all("a") if a.attrs.get("href", "").startswith("/laporan/LAP-")]
    assert sorted(listed) == sorted(f"/laporan/{i}" for i in ids)
    # two filters at once, an unknown one, a tampered cursor: a page that says so
    assert "salah satu" in _text(pages.get("/laporan?region=64&category=infrastruktur"), 422)
    assert "tidak dikenal" in _text(pages.get("/laporan?institution=pemkot-atlantis"), 422)
    assert _html(pages.get("/laporan?cursor=xyz"), 422)


# ------------------------------------------------------------------------------------------ every page

def _every_page(pages: Pages, api: Any, pump: Any) -> dict[str, Any]:
    report_id, token, receipt = pages.submit()
    invalid = pages.post("/", FORM | {"body": "x"})
    pages.track(report_id, token)
    _answered(api, report_id, pump)
    return {"form": pages.get("/"), "form-invalid": invalid, "receipt": receipt, "track-form": pages.get("/lacak"),
            "track-mismatch": pages.track(report_id, "rpt_wrong"), "track": pages.get(f"/lacak/{report_id}"),
            "public-list": pages.get("/laporan"), "public-report": pages.get(f"/laporan/{report_id}"),
            "not-found": pages.get("/laporan/LAP-2222222222"), "bad-id": pages.get("/lacak/nope"),
            "stylesheet": pages.get("/static/lapor.css")}


def test_every_page_carries_the_security_headers(pages, api, pump):
    for name, response in _every_page(pages, api, pump).items():
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy, name
        assert "default-src 'none'" in policy and "script-src" not in policy, name
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer", name
        if name != "stylesheet":
            assert headers["Cache-Control"] == "no-store", name
            markup = response.body.decode()
            assert "<script" not in markup and " style=" not in markup and "<style" not in markup, name


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_page_is_labelled_ordered_and_says_its_language(pages, api, pump, lang):
    pages.get(f"/?lang={lang}")
    for name, response in _every_page(pages, api, pump).items():
        if name == "stylesheet":
            continue
        assert accessibility_problems(response.body.decode()) == [], name
        assert parse(response.body.decode()).all("html")[0].attrs["lang"] == lang, name


def test_the_english_switch_is_remembered_in_a_cookie(pages):
    assert "Sampaikan laporan Anda" in _text(pages.get("/"))
    switched = pages.get("/?lang=en")
    assert "Send a report" in _text(switched)
    assert any(c.startswith("lapor_lang=en") for c in switched.headers["Set-Cookie"])
    assert "Send a report" in _text(pages.get("/"))  # no query: the cookie holds
    assert "Public reports" in _text(pages.get("/laporan"))
    assert "Sampaikan laporan Anda" in _text(pages.get("/?lang=id"))


def test_the_language_link_keeps_the_filters(pages):
    page = parse(_html(pages.get("/laporan?region=64"), 200))
    [switch] = [a for a in page.all("a") if a.attrs.get("lang") == "en"]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(switch.attrs["href"]).query) == {"region": ["64"],
                                                                                         "lang": ["en"]}


def test_a_database_failure_is_a_page_saying_to_retry(pages, services, monkeypatch):
    def throttled(*args: Any, **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(type(services.views), "get", throttled)
    response = pages.get("/laporan/LAP-2222222222")
    assert "Coba lagi" in _text(response, 503) and response.headers["Retry-After"]
    assert response.headers["Content-Security-Policy"]


def test_a_junk_query_or_path_is_a_page_not_a_500(pages):
    for path in ("/laporan?region=%00", "/lacak/LAP-%27%20OR%201", "/laporan?limit=999", "/?lang=xx",
                 "/lacak/LAP-2222222222?v=99999999999", "/lacak/LAP-2222222222?ok=<b>"):
        response = pages.get(path)
        assert response.status_code < 500 and response.headers["Content-Type"].startswith("text/html"), path


def test_the_stylesheet_is_css_with_the_headers_even_for_a_junk_query(pages):
    css = pages.get("/static/lapor.css")
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.headers["X-Content-Type-Options"] == "nosniff" and "max-age" in css.headers["Cache-Control"]
    junk = pages.get("/static/lapor.css?v=%00")
    assert junk.status_code == 422 and junk.headers["Content-Type"].startswith("text/html")


def test_both_languages_have_every_text():
    from chalicelib.web.texts import TEXTS

    assert set(TEXTS["id"]) == set(TEXTS["en"])
    assert not [key for key in TEXTS["id"] if TEXTS["id"][key] == TEXTS["en"][key] and key not in ("site", "field_email", "status_heading")]  # the same word in both


def test_links_and_cookie_paths_carry_api_gateways_stage_prefix():
    from types import SimpleNamespace

    from chalicelib.web.render import base_path

    def request(path: str, resource: str | None, **params: str) -> SimpleNamespace:
        context = {"path": path} | ({"resourcePath": resource} if resource else {})
        return SimpleNamespace(context=context, uri_params=params)

    assert base_path(request("/api/lacak/LAP-2222222222", "/lacak/{report_id}", report_id="LAP-2222222222")) == "/api"
    assert base_path(request("/api/", "/")) == "/api"
    assert base_path(request("/", "/")) == ""
    assert base_path(request("/laporan", "/laporan")) == ""
    assert base_path(request("/lacak", None)) == ""  # lapor serve and the test client: no stage
