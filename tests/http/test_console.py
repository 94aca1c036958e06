"""The staff console in-process (chalice.test.Client on moto): sign-in (the local picker, and OIDC code + PKCE against
a real local HTTP server playing the IdP), the session cookie, the queue, a report's actions through the API's own
routes, the timeline, reprimands, the outbox, and that nothing a role may not see appears.

These catch what needs no browser; tests/web/test_console_browser.py drives the same pages in Chromium.
"""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Iterator

import boto3
import pytest

from chalicelib.bootstrap import build_services, use_services
from chalicelib.web.console import ACTIONS, open_actions
from chalicelib.web.console_session import LOGIN_COOKIE, SESSION_COOKIE
from tests.support.api import body_of, submit_report
from tests.support.browser import FormBrowser
from chalicelib.auth import mint_token
from tests.support.settings import T0, test_settings
from tests.support.tokens import ADMIN_SAMARINDA, LIAISON_PUPR, NASIONAL, SAMARINDA, staff_token
from tests.web.html import accessibility_problems, parse

WRITTEN_TABLES = ("events", "personal_data", "idempotency")
SECURITY = {"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                       "frame-ancestors 'none'; base-uri 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
            "Cache-Control": "no-store"}
CATEGORY = "infrastruktur.jalan-rusak"
PUPR = {"role": "admin_penghubung", "institution": SAMARINDA, "unit": "dinas-pupr"}
KOMINFO = {"role": "admin_penghubung", "institution": SAMARINDA, "unit": "dinas-kominfo"}


class Browser(FormBrowser):
    """The console as a browser uses it, plus signing in with the local picker and posting a report's forms."""

    def sign_in(self, role: str, **scope: str) -> Any:
        answer = self.post("/konsol/masuk", {"role": role} | scope)
        assert answer.status_code == 303, answer.body.decode()[:2000]
        return answer

    def act(self, report_id: str, action: str, fields: dict[str, str]) -> Any:
        """Post one of the report page's forms as rendered (its own idempotency key), with these fields."""
        page = parse(self.get(f"/konsol/laporan/{report_id}").body.decode())
        form = page.by_id(f"form-{action}")
        assert form is not None, f"{action} is not offered"
        after = page.elements[page.elements.index(form):]
        key = next(e.attrs["value"] for e in after if e.tag == "input" and e.attrs.get("name") == "idem")
        return self.post(f"/konsol/laporan/{report_id}/{action}", {"idem": key} | fields)


@pytest.fixture
def services(aws, clock):
    """This module runs as `lapor serve` does (stage local): the picker exists."""
    built = build_services(test_settings(stage="local"), clock=clock)
    use_services(built)
    yield built
    use_services(None)


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


def _html(response: Any, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.body.decode()[:3000])
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    for name, value in SECURITY.items():
        assert response.headers[name] == value, name
    return response.body.decode()


def _text(response: Any, status: int = 200) -> str:
    return parse(_html(response, status)).text()


def _writes(services: Any) -> dict[str, int]:
    client = boto3.client("dynamodb")
    return {table: client.scan(TableName=services.settings.table_names[table], Select="COUNT")["Count"]
            for table in WRITTEN_TABLES}


def _offered(markup: str, report_id: str) -> list[str]:
    prefix = f"/konsol/laporan/{report_id}/"
    return [form.attrs["action"][len(prefix):] for form in parse(markup).all("form", method="post")
            if form.attrs["action"].startswith(prefix)]


def _report(api: Any, pump: Any, **overrides: Any) -> str:
    report_id, _ = submit_report(api, **overrides)
    pump.drain()
    return report_id


def _disposed(api: Any, pump: Any, **overrides: Any) -> str:
    report_id = _report(api, pump, **overrides)
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA, "category_id": CATEGORY},
                     token=NASIONAL), 200)
    pump.drain()
    return report_id


def _assigned(api: Any, pump: Any, **overrides: Any) -> str:
    report_id = _disposed(api, pump, **overrides)
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)
    pump.drain()
    return report_id


# ------------------------------------------------------------------------------------------------ sign-in

def test_the_local_picker_signs_in_with_a_short_signed_httponly_secure_lax_cookie_on_konsol(browser):
    form = _html(browser.get("/konsol/masuk"))
    roles = [i.attrs["value"] for i in parse(form).all("input", name="role")]
    assert roles == ["admin_nasional", "admin_instansi", "admin_penghubung", "ombudsman", "supervisor", "auditor"]
    answer = browser.post("/konsol/masuk", PUPR | {"role": "admin_penghubung"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/konsol"
    line = next(line for line in browser.set_cookie_lines if line.startswith(SESSION_COOKIE + "="))
    attributes = [part.strip() for part in line.split(";")][1:]
    assert sorted(attributes) == sorted(["Path=/konsol", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=28800"])
    text = _text(browser.get("/konsol"))
    assert "Masuk sebagai Admin Penghubung (unit kerja) · Dinas Pekerjaan Umum dan Penataan Ruang" in text
    assert "Kota Samarinda" in text and "Keluar" in text


def test_the_picker_refuses_a_scope_the_role_needs_or_that_does_not_exist_next_to_the_field(browser):
    refused = browser.post("/konsol/masuk", {"role": "admin_penghubung", "institution": SAMARINDA})
    page = parse(_html(refused, 422))
    assert page.by_id("e-unit").text.strip() == "wajib untuk peran ini"
    assert page.by_id("f-unit").attrs["aria-invalid"] == "true"
    refused = browser.post("/konsol/masuk", {"role": "admin_penghubung", "institution": "pemkot-balikpapan",
                                             "unit": "dinas-kominfo-nope"})
    assert parse(_html(refused, 422)).by_id("e-unit").text.strip() == "bukan unit instansi yang dipilih"
    refused = browser.post("/konsol/masuk", {"role": "admin_instansi"})
    assert parse(_html(refused, 422)).by_id("e-institution").text.strip() == "wajib untuk peran ini"
    refused = browser.post("/konsol/masuk", {"role": "system"})
    assert parse(_html(refused, 422)).by_id("e-role") is not None
    assert not [line for line in browser.set_cookie_lines if line.startswith(SESSION_COOKIE + "=")]


def test_on_any_other_stage_the_picker_does_not_exist(browser, clock, aws):
    use_services(build_services(test_settings(stage="dev"), clock=clock))
    assert "tidak ada" in _text(browser.post("/konsol/masuk", {"role": "admin_nasional"}), 404)
    assert not [line for line in browser.set_cookie_lines if line.startswith(SESSION_COOKIE + "=")]
    # and without an IdP configured there is no way in at all
    assert "belum dikonfigurasi" in _text(browser.get("/konsol/masuk"), 503)


def test_without_a_valid_session_pages_send_to_sign_in_and_forms_do_nothing(browser, api, pump, services, clock):
    report_id = _report(api, pump)
    answer = browser.get(f"/konsol/laporan/{report_id}")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/konsol/masuk?next=" + urllib.parse.quote(f"/konsol/laporan/{report_id}",
                                                                                   safe="")
    before = _writes(services)
    refused = browser.post(f"/konsol/laporan/{report_id}/verifikasi", {"institution_id": SAMARINDA, "idem": "k" * 20})
    assert "Sesi Anda sudah berakhir" in _text(refused, 401)
    # a tampered cookie is no session either
    browser.sign_in("admin_instansi", institution="pemkot-balikpapan")
    value = browser.jar[(SESSION_COOKIE, "/konsol")]
    body, mac = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps(claims | {"role": "admin_nasional"}).encode()).decode().rstrip("=")
    browser.jar[(SESSION_COOKIE, "/konsol")] = f"{forged}.{mac}"
    assert browser.get("/konsol").status_code == 303
    # and an honest one ends after 8 hours
    browser.jar[(SESSION_COOKIE, "/konsol")] = value
    assert browser.get("/konsol").status_code == 200
    clock.advance(hours=8, seconds=1)
    assert browser.get("/konsol").status_code == 303
    assert _writes(services) == before


def test_signing_out_needs_the_csrf_token_and_forgets_the_session(browser):
    browser.sign_in("ombudsman")
    assert _text(browser.post("/konsol/keluar", {}, csrf=None), 403)
    assert browser.get("/konsol").status_code == 200
    answer = browser.post("/konsol/keluar", {})
    assert answer.status_code == 303 and answer.headers["Location"] == "/konsol/keluar/selesai"
    assert (SESSION_COOKIE, "/konsol") not in browser.jar
    assert "Anda sudah keluar" in _text(browser.get("/konsol/keluar/selesai"))
    assert browser.get("/konsol").status_code == 303


# ------------------------------------------------------------------------------------------------ OIDC

class FakeIdP:
    """A real HTTP server playing Cognito's hosted UI: /authorize redirects back with a code bound to the PKCE
    challenge, /token checks the verifier against it (S256) and answers an id_token signed with the test key."""

    def __init__(self, claims: dict[str, str]) -> None:
        self.claims, self.codes, self.token_requests, self.forged = claims, {}, [], False
        idp = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path != "/authorize" or query.get("code_challenge_method") != "S256":
                    return self._answer(400, {"error": "invalid_request"})
                code = f"code-{len(idp.codes)}"
                idp.codes[code] = (query["code_challenge"], query["redirect_uri"], query["client_id"])
                location = query["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code,
                                                                                 "state": query["state"]})
                self.send_response(302)
                self.send_header("Location", location)
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
                idp.token_requests.append(form)
                challenge, redirect_uri, client_id = idp.codes.pop(form.get("code"), (None, None, None))
                verifier = form.get("code_verifier", "")
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
                if (self.path != "/token" or form.get("grant_type") != "authorization_code" or challenge is None
                        or computed != challenge or form.get("redirect_uri") != redirect_uri
                        or form.get("client_id") != client_id):
                    return self._answer(400, {"error": "invalid_grant"})
                claims = dict(idp.claims)
                token = (staff_token(claims["role"], institution=claims.get("institution_id"),
                                     subject=claims["subject"]) if not idp.forged else
                         mint_token("another-secret-not-the-apps-0123456", "lapor-test", now=T0, **idp.claims))
                self._answer(200, {"id_token": token, "access_token": "at", "token_type": "Bearer"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorize(self, url: str) -> str:
        """Follow the console's redirect to the IdP as a browser would; the Location it sends back."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(url, timeout=10)
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 302, redirect.code
            return redirect.headers["Location"]
        raise AssertionError("the IdP did not redirect")


@pytest.fixture
def idp(services, clock) -> Iterator[FakeIdP]:
    fake = FakeIdP({"role": "admin_instansi", "institution_id": SAMARINDA, "subject": "cognito-sub-123"})
    use_services(build_services(test_settings(
        stage="prod", public_url="https://lapor.example.id", oidc_authorize_url=fake.base + "/authorize",
        oidc_token_url=fake.base + "/token", oidc_client_id="console-client",
        oidc_logout_url=fake.base + "/logout"), clock=clock))
    yield fake
    fake.server.shutdown()


def test_oidc_code_and_pkce_sign_in_verifies_the_id_token_and_starts_the_session(browser, idp, api, pump, services):
    report_id = _disposed(api, pump)
    # an unsigned-in GET goes to sign-in, which redirects to the IdP with a PKCE challenge and a fresh state
    start = browser.get(f"/konsol/masuk?next=/konsol/laporan/{report_id}")
    assert start.status_code == 303
    authorize = urllib.parse.urlsplit(start.headers["Location"])
    query = dict(urllib.parse.parse_qsl(authorize.query))
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == idp.base + "/authorize"
    assert (query["response_type"], query["client_id"], query["code_challenge_method"], query["scope"]) == \
        ("code", "console-client", "S256", "openid")
    assert query["redirect_uri"] == "https://lapor.example.id/konsol/masuk/kembali"
    login_line = next(line for line in browser.set_cookie_lines if line.startswith(LOGIN_COOKIE + "="))
    assert "HttpOnly" in login_line and "Secure" in login_line and "Path=/konsol/masuk/kembali" in login_line
    assert query["state"] not in login_line  # the cookie is signed, and the state is not readable from it either
    # the IdP sends the browser back with a code; the callback exchanges it (POST form, with the verifier)
    back = urllib.parse.urlsplit(idp.authorize(start.headers["Location"]))
    landed = browser.get(f"{back.path}?{back.query}")
    assert landed.status_code == 303, landed.body.decode()[:2000]
    assert landed.headers["Location"] == f"/konsol/laporan/{report_id}"
    assert idp.token_requests[-1]["code_verifier"] and "client_secret" not in idp.token_requests[-1]
    assert (LOGIN_COOKIE, "/konsol/masuk/kembali") not in browser.jar  # used once
    text = _text(browser.get(f"/konsol/laporan/{report_id}"))
    assert "Masuk sebagai Admin Instansi · Pemerintah Kota Samarinda" in text
    assert "Tugaskan ke unit kerja" in text
    body_of(api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA), 200)
    pump.drain()  # the ID token's subject is who acted
    assert browser.act(report_id, "tindak-lanjut", {"message": "Dicek."}).status_code == 303
    assert services.store.load(report_id)[-1].actor.user_id == "cognito-sub-123"
    # the code cannot be used again, and a callback whose state is not this browser's starts nothing
    other = Browser(browser.client)
    assert "Masuk gagal" in _text(other.get(f"{back.path}?{back.query}"), 401)
    # signing out ends the IdP's session too, and comes back to the landing page
    out = browser.post("/konsol/keluar", {})
    logout = urllib.parse.urlsplit(out.headers["Location"])
    assert f"{logout.scheme}://{logout.netloc}{logout.path}" == idp.base + "/logout"
    assert dict(urllib.parse.parse_qsl(logout.query)) == {
        "client_id": "console-client", "logout_uri": "https://lapor.example.id/konsol/keluar/selesai"}


def test_the_callback_refuses_a_wrong_state_a_forged_token_and_a_refused_code(browser, idp):
    start = browser.get("/konsol/masuk")
    back = urllib.parse.urlsplit(idp.authorize(start.headers["Location"]))
    code = dict(urllib.parse.parse_qsl(back.query))["code"]
    assert "Masuk gagal" in _text(browser.get(f"/konsol/masuk/kembali?code={code}&state=not-mine"), 401)
    assert (SESSION_COOKIE, "/konsol") not in browser.jar
    # a token the app's verifier refuses (signed with another key) is no sign-in
    idp.forged = True
    start = browser.get("/konsol/masuk")
    back = urllib.parse.urlsplit(idp.authorize(start.headers["Location"]))
    assert "Masuk gagal" in _text(browser.get(f"{back.path}?{back.query}"), 401)
    assert (SESSION_COOKIE, "/konsol") not in browser.jar
    # an error from the IdP (no code) is a failed sign-in too
    browser.get("/konsol/masuk")
    assert "Masuk gagal" in _text(browser.get("/konsol/masuk/kembali?error=access_denied&state=x"), 401)


# ------------------------------------------------------------------------------------------------ the work

def test_national_admin_verifies_with_corrections_once_even_when_the_form_is_sent_twice(browser, api, pump, services):
    report_id = _report(api, pump, category_id=None)
    browser.sign_in("admin_nasional")
    queue = _text(browser.get("/konsol"))
    assert report_id in queue and "Menunggu verifikasi" in queue
    page = _html(browser.get(f"/konsol/laporan/{report_id}"))
    assert _offered(page, report_id) == ["verifikasi", "tunda", "arsip"]
    fields = {"institution_id": SAMARINDA, "title": "Jalan berlubang (dikoreksi)", "category_id": CATEGORY,
              "type": "complaint", "region_code": "64.72", "confidential": "1"}
    first = browser.act(report_id, "verifikasi", fields)
    key = browser.sent[-1]["idem"]
    assert first.status_code == 303 and "ok=verifikasi" in first.headers["Location"]
    events = len(services.store.load(report_id))
    pump.drain()
    shown = body_of(api.get(f"/reports/{report_id}", token=NASIONAL), 200)
    assert (shown["status"], shown["institution_id"], shown["title"], shown["category_id"], shown["confidential"]) \
        == ("disposed", SAMARINDA, "Jalan berlubang (dikoreksi)", CATEGORY, True)
    assert "Laporan diverifikasi dan didisposisikan." in _text(browser.get(first.headers["Location"]))
    assert events == 2
    # the form sent again (a double click, a reload of the POST): the same key, the same answer, nothing new
    again = browser.post(f"/konsol/laporan/{report_id}/verifikasi", fields | {"idem": key})
    assert again.status_code == 303 and len(services.store.load(report_id)) == 2


def test_a_double_click_sends_the_same_key_and_acts_once(browser, api, pump, services):
    report_id = _disposed(api, pump)
    browser.sign_in("admin_instansi", institution=SAMARINDA)
    page = parse(_html(browser.get(f"/konsol/laporan/{report_id}")))
    form_keys = [i.attrs["value"] for i in page.all("input", name="idem")]
    assert len(form_keys) == len(set(form_keys)) == 4  # one key per form
    key = form_keys[0]  # the first form: tugaskan
    for _ in range(2):
        answer = browser.post(f"/konsol/laporan/{report_id}/tugaskan", {"idem": key, "unit_id": "dinas-pupr"})
        assert answer.status_code == 303
    assert [stored.type for stored in services.store.load(report_id)][-1] == "ReportAssigned"
    assert len(services.store.load(report_id)) == 3


def test_each_role_is_offered_what_the_aggregate_accepts_now(browser, api, pump):
    submitted, disposed, assigned = _report(api, pump), _disposed(api, pump), _assigned(api, pump)
    returned = _disposed(api, pump)
    body_of(api.post(f"/reports/{returned}/return", {"reason": "Bukan wewenang kota"}, token=ADMIN_SAMARINDA), 200)
    pump.drain()
    cases = [({"role": "admin_nasional"}, submitted, ["verifikasi", "tunda", "arsip"]),
             ({"role": "admin_nasional"}, disposed, []),
             ({"role": "admin_nasional"}, returned, ["disposisi-ulang"]),
             ({"role": "admin_instansi", "institution": SAMARINDA}, disposed,
              ["tugaskan", "tindak-lanjut", "jawaban-akhir", "kembalikan"]),
             ({"role": "admin_instansi", "institution": SAMARINDA}, assigned,
              ["tugaskan", "tindak-lanjut", "jawaban-akhir", "kembalikan"]),
             (PUPR, assigned, ["tindak-lanjut", "jawaban-akhir", "kembalikan"]),
             ({"role": "ombudsman"}, assigned, []), ({"role": "auditor"}, assigned, []),
             ({"role": "supervisor", "province": "64"}, assigned, [])]
    for who, report_id, expected in cases:
        browser.sign_in(**who)
        assert _offered(_html(browser.get(f"/konsol/laporan/{report_id}")), report_id) == expected, (who, report_id)


def test_an_action_is_offered_exactly_when_the_aggregate_takes_it_with_real_input(services, api, pump, clock):
    """The probes (placeholder input) against the truth: for each role and state, an offered action is one that
    `decide` accepts with real input, and one not offered is one it refuses."""
    from chalicelib.domain import commands as c
    from chalicelib.domain.access import Principal
    from chalicelib.domain.report import Context, decide, state_from_json
    from chalicelib.errors import LaporError

    real = {"verifikasi": lambda p: c.VerifyReport(principal=p, institution_id=p.institution_id or SAMARINDA,
                                                   title=None, category_id=CATEGORY, report_type=None,
                                                   requires_inspection=False, anonymous=None, confidential=None),
            "tunda": lambda p: c.HoldReport(principal=p, question="Di mana tepatnya?"),
            "arsip": lambda p: c.ArchiveReport(principal=p, reason="spam", duplicate_of=None, note=None),
            "tugaskan": lambda p: c.AssignReport(principal=p, unit_id="dinas-kominfo"),
            "disposisi-ulang": lambda p: c.RedisposeReport(principal=p, institution_id="pemkot-balikpapan"),
            "tindak-lanjut": lambda p: c.PostFollowUp(principal=p, message="Sedang dicek.", final=False),
            "jawaban-akhir": lambda p: c.PostFollowUp(principal=p, message="Sudah ditambal.", final=True),
            "kembalikan": lambda p: c.ReturnReport(principal=p, reason="Bukan wewenang.")}
    assert set(real) == set(ACTIONS)
    people = [Principal("admin_nasional", "n"), Principal("admin_instansi", "i", SAMARINDA),
              Principal("admin_penghubung", "l", SAMARINDA, "dinas-pupr"), Principal("ombudsman", "o"),
              Principal("admin_instansi", "b", "pemkot-balikpapan", None),
              Principal("admin_instansi", "a", SAMARINDA)]
    checked = 0
    for make in (_report, _disposed, _assigned):
        report_id = make(api, pump)
        for person in people:
            for slug, command in real.items():
                view = services.views.get(report_id)
                state = state_from_json(view["state"])
                context = Context(now=clock(), calendar=services.calendar, reference=services.reference)
                offered = slug in open_actions(state, person, context)
                try:
                    decide(state, command(person), context)
                    accepted = True
                except LaporError:
                    accepted = False
                assert offered == accepted, (make.__name__, person.role, person.institution_id, slug)
                checked += 1
    assert checked == 3 * len(people) * len(real)


def test_refused_input_comes_back_next_to_the_field_in_indonesian_and_writes_nothing(browser, api, pump, services):
    report_id = _report(api, pump, category_id=None)
    browser.sign_in("admin_nasional")
    before = _writes(services)
    refused = browser.act(report_id, "verifikasi", {"institution_id": "pemkot-atlantis", "title": "x" * 151})
    page = parse(_html(refused, 422))
    assert page.by_id("e-verifikasi-title").text.strip() == "maksimal 150 karakter (sekarang 151)"
    assert page.by_id("f-verifikasi-title").attrs["aria-invalid"] == "true"
    refused = browser.act(report_id, "verifikasi", {"institution_id": "pemkot-atlantis"})
    assert parse(_html(refused, 422)).by_id("e-verifikasi-institution_id").text.strip() == \
        "tidak dikenal; pilih dari daftar"
    refused = browser.act(report_id, "verifikasi", {"institution_id": SAMARINDA})
    assert "kategori wajib diisi" in parse(_html(refused, 422)).by_id("e-verifikasi-category_id").text
    refused = browser.act(report_id, "tunda", {"question": "   "})
    assert parse(_html(refused, 422)).by_id("e-tunda-question").text.strip() == "wajib diisi"
    assert _writes(services) == before


def test_an_action_the_state_no_longer_allows_says_why_and_a_missing_csrf_token_writes_nothing(browser, api, pump,
                                                                                                services):
    report_id = _report(api, pump)
    browser.sign_in("admin_nasional")
    page = parse(_html(browser.get(f"/konsol/laporan/{report_id}")))
    stale_key = [i.attrs["value"] for i in page.all("input", name="idem")][0]
    body_of(api.post(f"/reports/{report_id}/archive", {"reason": "spam"}, token=NASIONAL), 200)  # someone else
    pump.drain()
    refused = browser.post(f"/konsol/laporan/{report_id}/verifikasi", {"idem": stale_key, "institution_id": SAMARINDA,
                                                                       "category_id": CATEGORY})
    assert "tidak tersedia selama status laporan: Diarsipkan" in _text(refused, 409)
    before = _writes(services)
    refused = browser.post(f"/konsol/laporan/{report_id}/tunda", {"question": "?", "idem": "web-abcdefghijk"},
                           csrf=None)
    assert refused.status_code == 403 and _writes(services) == before


def test_unit_liaison_posts_a_follow_up_then_the_final_answer(browser, api, pump):
    report_id = _assigned(api, pump)
    browser.sign_in(**PUPR)
    assert report_id in _text(browser.get("/konsol"))
    assert browser.act(report_id, "tindak-lanjut", {"message": "Tim sudah ke lokasi."}).status_code == 303
    done = browser.act(report_id, "jawaban-akhir", {"message": "Lubang sudah ditambal."})
    assert done.status_code == 303
    pump.drain()
    text = _text(browser.get(done.headers["Location"]))
    assert "Jawaban akhir terkirim." in text and "Sudah dijawab: menunggu tanggapan pelapor" in text
    assert "Tim sudah ke lokasi." in text and "Lubang sudah ditambal." in text
    assert body_of(api.get(f"/reports/{report_id}", token=NASIONAL), 200)["status"] == "answered"


# ------------------------------------------------------------------------------------------------ who sees what

def test_another_institution_or_unit_gets_the_not_found_page_and_can_do_nothing(browser, api, pump, services):
    report_id = _assigned(api, pump)
    for who in ({"role": "admin_instansi", "institution": "pemkot-balikpapan"}, KOMINFO,
                {"role": "supervisor", "province": "21"}):
        browser.sign_in(**who)
        for path in (f"/konsol/laporan/{report_id}", f"/konsol/laporan/{report_id}/linimasa",
                     f"/konsol/laporan/{report_id}/pelapor"):
            text = _text(browser.get(path), 404)
            assert "tidak ada" in text and "Jalan" not in text, (who, path)
        before = _writes(services)
        refused = browser.post(f"/konsol/laporan/{report_id}/tindak-lanjut", {"message": "x", "idem": "web-k1234567"})
        assert refused.status_code == 404 and _writes(services) == before
        assert report_id not in _text(browser.get("/konsol"))


def test_a_liaison_sees_only_its_units_queue(browser, api, pump):
    pupr = _assigned(api, pump)
    kominfo = _disposed(api, pump)
    body_of(api.post(f"/reports/{kominfo}/assignment", {"unit_id": "dinas-kominfo"}, token=ADMIN_SAMARINDA), 200)
    pump.drain()
    browser.sign_in(**KOMINFO)
    queue = _text(browser.get("/konsol"))
    assert kominfo in queue and pupr not in queue
    browser.sign_in("admin_instansi", institution=SAMARINDA)
    queue = _text(browser.get("/konsol"))
    assert kominfo in queue and pupr in queue


def test_the_queue_pages_by_the_apis_cursor_filters_by_bucket_and_costs_one_query(browser, api, pump, services,
                                                                               dynamodb_calls, monkeypatch):
    ids = [_report(api, pump) for _ in range(3)]
    disposed = _disposed(api, pump)
    browser.sign_in("admin_instansi", institution=SAMARINDA)
    queue = _text(browser.get("/konsol?bucket=belum_ditindaklanjuti"))
    assert disposed in queue
    browser.sign_in("admin_nasional")
    seen, url = [], "/konsol"
    calls: list[str] = []
    services.dynamodb().meta.events.register("before-call.dynamodb.*",
                                             lambda model, **kwargs: calls.append(model.name))
    from chalicelib.http import list_routes
    monkeypatch.setattr(list_routes, "_limit", lambda call: 2)  # two rows a page, to see the cursor at work
    pages = 0
    while url:
        calls.clear()
        dynamodb_calls.clear()
        page = parse(_html(browser.get(url)))
        assert (calls, dynamodb_calls) == (["Query"], [])
        seen += [a.attrs["href"].rsplit("/", 1)[1] for a in page.all("a") if "/konsol/laporan/" in
                 a.attrs.get("href", "")]
        link = next((a for a in page.all("a") if a.attrs.get("rel") == "next"), None)
        url = link.attrs["href"] if link else None
        pages += 1
    assert sorted(seen) == sorted(ids) and pages == 2


def test_the_reporters_identity_reaches_only_those_get_reporter_answers(browser, api, pump):
    report_id = _assigned(api, pump, reporter={"name": "Siti Rahmawati", "phone": "081234567890"})
    anonymous = _assigned(api, pump, anonymous=True, reporter={"name": "Budi", "phone": "081299998888"})
    browser.sign_in(**PUPR)
    assert "+6281234567890" in _text(browser.get(f"/konsol/laporan/{report_id}/pelapor"))
    assert "Identitas pelapor" not in _text(browser.get(f"/konsol/laporan/{anonymous}"))
    text = _text(browser.get(f"/konsol/laporan/{anonymous}/pelapor"), 403)
    assert "081299998888" not in text and "+6281299998888" not in text and "Budi" not in text
    browser.sign_in("admin_nasional")
    assert "+6281299998888" in _text(browser.get(f"/konsol/laporan/{anonymous}/pelapor"))
    for who in ({"role": "supervisor"}, {"role": "auditor"}):
        browser.sign_in(**who)
        assert "Identitas pelapor" not in _text(browser.get(f"/konsol/laporan/{report_id}")).split("Keluar")[1]
        assert "+6281234567890" not in _text(browser.get(f"/konsol/laporan/{report_id}/pelapor"), 403)


# ------------------------------------------------------------------------------------------------ audit reads

def test_the_ombudsman_reads_the_timeline_as_of_a_past_instant(browser, api, pump, clock):
    report_id = _report(api, pump)
    clock.advance(hours=30)
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": SAMARINDA, "category_id": CATEGORY},
                     token=NASIONAL), 200)
    pump.drain()
    browser.sign_in("ombudsman")
    now = parse(_html(browser.get(f"/konsol/laporan/{report_id}/linimasa")))
    assert [row.text for row in now.all("th") if row.attrs.get("scope") == "row"] == \
        ["Laporan dikirim", "Diverifikasi dan didisposisikan"]
    earlier = parse(_html(browser.get(f"/konsol/laporan/{report_id}/linimasa?as_of=2026-03-02T12:00")))  # WITA
    assert [row.text for row in earlier.all("th") if row.attrs.get("scope") == "row"] == ["Laporan dikirim"]
    assert earlier.by_id("f-as_of").attrs["value"] == "2026-03-02T12:00"
    refused = parse(_html(browser.get(f"/konsol/laporan/{report_id}/linimasa?as_of=kemarin"), 422))
    assert "as_of harus waktu ISO-8601" in refused.by_id("e-as_of").text


def test_the_reprimand_list_is_for_its_readers_only(browser, api, pump, services, clock):
    from chalicelib.services.sweep import sweep

    report_id = _disposed(api, pump)
    clock.advance(days=61)
    sweep(services, clock())
    pump.drain()
    for who in ({"role": "supervisor", "province": "64"}, {"role": "ombudsman"}, {"role": "admin_nasional"}):
        browser.sign_in(**who)
        assert report_id in _text(browser.get("/konsol/teguran")), who
    browser.sign_in("supervisor", province="21")
    assert report_id not in _text(browser.get("/konsol/teguran"))
    assert "di luar provinsi" not in _text(browser.get("/konsol/teguran"))
    for who in ({"role": "admin_instansi", "institution": SAMARINDA}, PUPR, {"role": "auditor"}):
        browser.sign_in(**who)
        assert "Bukan wewenang Anda" in _text(browser.get("/konsol/teguran"), 403)
        assert "Teguran" not in _text(browser.get("/konsol")).split("Keluar")[0]


def test_the_outbox_shows_the_messages_to_this_scope_at_a_cost_flat_in_the_number_of_reports(browser, api, pump,
                                                                                            services, dynamodb_calls):
    report_id = _assigned(api, pump, title="Jalan berlubang di Jl. Juanda")
    browser.sign_in(**PUPR)
    text = _text(browser.get("/konsol/kotak-keluar"))
    assert f'Laporan {report_id} "Jalan berlubang di Jl. Juanda" ditugaskan ke unit Anda' in text
    assert "diterima. Nomor pelacakan" not in text  # the reporter's messages are not staff's
    browser.sign_in("admin_instansi", institution=SAMARINDA)
    assert "didisposisikan ke Pemerintah Kota Samarinda" in _text(browser.get("/konsol/kotak-keluar"))
    browser.sign_in("admin_instansi", institution="pemkot-balikpapan")
    assert report_id not in _text(browser.get("/konsol/kotak-keluar"))
    browser.sign_in("auditor")
    assert _text(browser.get("/konsol/kotak-keluar"), 403)
    # the same requests whether the system holds one report or many more elsewhere
    browser.sign_in(**PUPR)

    def cost() -> list[str]:
        dynamodb_calls.clear()
        calls: list[str] = []
        handler = lambda model, **kwargs: calls.append(model.name)  # noqa: E731
        services.dynamodb().meta.events.register("before-call.dynamodb.*", handler)
        try:
            _html(browser.get("/konsol/kotak-keluar"))
        finally:
            services.dynamodb().meta.events.unregister("before-call.dynamodb.*", handler)
        return calls + dynamodb_calls

    alone = cost()
    for _ in range(4):
        _disposed(api, pump, region_code="64.71")
    assert cost() == alone == ["Query"]  # one page of the outbox's recipient index


def test_the_outbox_keeps_what_a_scope_was_sent_and_pages_it_newest_first(browser, api, pump, monkeypatch, clock):
    import chalicelib.web.console as console

    monkeypatch.setattr(console, "_OUTBOX_PAGE", 2)
    first, second, third = (_assigned(api, pump, title=f"Jalan berlubang {n}") for n in range(3)
                            if clock.advance(hours=1))
    browser.sign_in(**PUPR)
    page_one = _html(browser.get("/konsol/kotak-keluar"))
    assert third in page_one and second in page_one and first not in page_one  # newest first, two a page
    following = re.search(r'href="([^"]*cursor=[^"]*)" rel="next"', page_one)[1].replace("&amp;", "&")
    page_two = _text(browser.get(following))
    assert first in page_two and third not in page_two
    forged = following[:-3] + ("aaa" if not following.endswith("aaa") else "bbb")
    assert "kursor halaman tidak sah" in _text(browser.get(forged), 422)


# ------------------------------------------------------------------------------------------------ the pages

def test_every_console_page_is_accessible_escaped_and_in_english_on_request(browser, api, pump):
    report_id = _assigned(api, pump, title="<script>alert(1)</script>")
    browser.sign_in("admin_nasional")
    for path in ("/konsol", f"/konsol/laporan/{report_id}", f"/konsol/laporan/{report_id}/linimasa",
                 "/konsol/teguran", f"/konsol/laporan/{report_id}/pelapor"):
        for lang in ("id", "en"):
            markup = _html(browser.get(f"{path}?lang={lang}"))
            assert "<script>" not in markup
            if path in (f"/konsol/laporan/{report_id}", f"/konsol/laporan/{report_id}/linimasa"):
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup, path
            assert accessibility_problems(markup) == [], (path, lang)
    browser.sign_in("admin_instansi", institution=SAMARINDA)
    english = _text(browser.get("/konsol?lang=en"))
    assert "Signed in as Institution admin" in english and "Sign out" in english
    assert re.search(r'<html lang="en">', _html(browser.get("/konsol/kotak-keluar")))  # the choice is kept
    for path in ("/konsol/kotak-keluar", "/konsol/masuk", "/konsol/keluar/selesai"):
        assert accessibility_problems(_html(browser.get(path))) == [], path


def test_no_staff_bearer_token_is_read_on_console_pages(client, api, pump):
    report_id = _disposed(api, pump)
    answer = client.http.get(f"/konsol/laporan/{report_id}", headers={"Authorization": f"Bearer {NASIONAL}"})
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/konsol/masuk")
    answer = client.http.get(f"/konsol?token={LIAISON_PUPR}")
    assert answer.status_code == 303



# ------------------------------------------------------------------------------------------------ photos

def test_the_verifier_sees_an_anonymous_reports_photos_and_marks_the_safe_one_for_the_public(aws, clock):
    from chalice.test import Client

    import app as app_module
    from chalicelib.photos.attach import attachment_id_of
    from infra.local.pump import StreamPump
    from tests.support.api import Api
    from tests.support.photos import jpeg_with_gps

    bucket = "konsol-photos"
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
    services = build_services(test_settings(stage="local", photo_bucket=bucket), clock=clock)
    use_services(services)
    try:
        with Client(app_module.app) as client:
            api, browser = Api(client), Browser(client)
            pump = StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                              services.settings.table_names["events"], backoff=lambda attempt: 0.0,
                              deliver=lambda event: app_module.project_events(event, None))
            uploads = [body_of(api.post("/photo-uploads"), 201)["upload_id"] for _ in range(2)]
            for upload in uploads:
                boto3.client("s3").put_object(Bucket=bucket, Key=f"incoming/{upload}", Body=jpeg_with_gps())
            report_id, _ = submit_report(api, anonymous=True, photo_upload_ids=uploads)
            safe, unsafe = (attachment_id_of(upload) for upload in uploads)
            pump.drain()

            browser.sign_in("admin_nasional")
            page = browser.get(f"/konsol/laporan/{report_id}")
            markup = page.body.decode()
            assert page.status_code == 200 and markup.count(f"/konsol/laporan/{report_id}/foto/") == 4  # 2 + 2 links
            assert page.headers["Content-Security-Policy"] == SECURITY["Content-Security-Policy"].replace(
                "img-src 'self'", f"img-src 'self' https://{bucket}.s3.ap-southeast-3.amazonaws.com")  # only here
            thumbnail = browser.get(f"/konsol/laporan/{report_id}/foto/{safe}?ukuran=kecil")
            assert thumbnail.status_code == 302 and f"photos/{safe}.thumb.jpg" in thumbnail.headers["Location"]
            boxes = [e.attrs["value"] for e in parse(markup).all("input") if e.attrs.get("name") == "safe_photo_ids"]
            assert boxes == [safe, unsafe]

            done = browser.act(report_id, "verifikasi", {"institution_id": SAMARINDA, "category_id": CATEGORY,
                                                        "type": "complaint", "region_code": "64.72",
                                                        "safe_photo_ids": safe})
            assert done.status_code == 303, done.body.decode()[:3000]
            pump.drain()
            [verified] = [e for e in services.store.load(report_id) if e.type == "ReportVerified"]
            assert tuple(verified.data["safe_photo_ids"]) == (safe,)
            # the public sees the one marked safe; the institution's admin (a handler) the same, never the other
            public = body_of(api.get(f"/reports/{report_id}"), 200)
            assert [p["attachment_id"] for p in public["photos"]] == [safe]
            browser.sign_in("admin_instansi", institution=SAMARINDA)
            assert browser.get(f"/konsol/laporan/{report_id}/foto/{unsafe}").status_code == 404
            assert browser.get(f"/konsol/laporan/{report_id}/foto/{safe}").status_code == 302
            assert f"/foto/{unsafe}" not in browser.get(f"/konsol/laporan/{report_id}").body.decode()
    finally:
        use_services(None)
