"""The citizen pages in Chromium against `lapor serve`: report, track, act — with and without JavaScript —
escaping, security headers, page weight, and screenshots at 360 px and 1280 px (tests/artifacts/)."""
from __future__ import annotations

import re
from typing import Any, Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import call, wait_for
from tests.web.conftest import reload_until

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)><b>tebal</b>"
MAX_PAGE_BYTES = 60 * 1024
WIDTHS = (360, 1280)
REPORT = {"title": "Jalan berlubang di Jl. Juanda", "body": "Lubang sedalam 30 cm di depan SDN 012 sejak Januari.",
          "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.jalan-rusak"}


def _new_page(browser: Any, *, javascript: bool = True, width: int = 360) -> tuple[Any, Page, list[str]]:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:  # an alert() that ran would be a script we let in
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return context, page, dialogs


def _fill_report(page: Page, **values: str) -> None:
    page.get_by_label("Pengaduan").check()
    page.get_by_label("Judul").fill(values.get("title", REPORT["title"]))
    page.get_by_label("Isi laporan").fill(values.get("body", REPORT["body"]))
    page.get_by_label("Kategori").select_option(REPORT["category_id"])
    page.get_by_label("Kabupaten/kota").select_option(REPORT["region_code"])
    for label, name in (("Alamat atau patokan", "address"), ("Nama", "name"), ("Nomor telepon", "phone"),
                        ("E-mail", "email")):
        if name in values:
            page.get_by_label(label, exact=True).fill(values[name])


def _submit(page: Page) -> tuple[str, str]:
    page.get_by_role("button", name="Kirim laporan").click()
    expect(page.get_by_role("heading", name="Laporan terkirim")).to_be_visible()
    expect(page.get_by_role("heading", name="Simpan ini")).to_be_visible()
    return page.locator("#tracking-id").inner_text().strip(), page.locator("#report-token").inner_text().strip()



def _answer(server: Any, staff: dict[str, dict[str, str]], report_id: str) -> None:
    """Staff act through the JSON API: verify to Samarinda, assign to Dinas PUPR, post the final answer."""
    base = f"{server.base}/reports/{report_id}"
    status, body = call("POST", f"{base}/verification", {"institution_id": "pemkot-samarinda", "region_code": "64.72",
                                                         "category_id": "infrastruktur.jalan-rusak"},
                        headers=staff["nasional"])
    assert status == 200, body
    wait_for(server.base, report_id, staff["nasional"], "disposed")
    assert call("POST", f"{base}/assignment", {"unit_id": "dinas-pupr"}, headers=staff["admin"])[0] == 200
    wait_for(server.base, report_id, staff["nasional"], "assigned")
    assert call("POST", f"{base}/follow-ups", {"message": "Lubang sudah ditambal aspal.", "final": True},
                headers=staff["liaison"])[0] == 200
    wait_for(server.base, report_id, staff["nasional"], "answered")


def _api_report(server: Any, **overrides: Any) -> tuple[str, str]:
    status, created = call("POST", f"{server.base}/reports", REPORT | overrides)
    assert status == 201, created
    return created["report_id"], created["access_token"]


def _open_tracking(page: Page, server: Any, report_id: str, token: str) -> None:
    page.goto(f"{server.base}/lacak")
    page.get_by_label("Nomor pelacakan").fill(report_id)
    page.get_by_label("Token laporan").fill(token)
    page.get_by_role("button", name="Lacak", exact=True).click()
    page.wait_for_url(f"**/lacak/{report_id}")


# ------------------------------------------------------------------------------------------ the flow

@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_citizen_reports_tracks_and_accepts_the_answer_with_a_rating(browser, server, staff, javascript):
    context, page, dialogs = _new_page(browser, javascript=javascript)
    # Given a citizen on the Lapor page
    page.goto(server.base + "/")
    expect(page.get_by_role("heading", name="Sampaikan laporan Anda", level=1)).to_be_visible()
    # When they fill the form and send it
    _fill_report(page, name="Siti Rahmawati", phone="0812-3456-7890")
    report_id, token = _submit(page)
    # Then they see the tracking id and the token, and the token is nowhere in the address bar
    assert re.fullmatch(r"LAP-[2-9A-HJ-NP-Z]{10}", report_id) and token.startswith("rpt_")
    assert token not in page.url
    # And the receipt's button opens the tracking page, with the report waiting for verification
    page.get_by_role("button", name="Buka halaman lacak").click()
    page.wait_for_url(f"**/lacak/{report_id}")
    assert token not in page.url
    reload_until(page, "Menunggu verifikasi")
    expect(page.get_by_text("Batas verifikasi")).to_be_visible()
    # When staff verify, assign and answer through the JSON API
    _answer(server, staff, report_id)
    page.reload()
    reload_until(page, "Lubang sudah ditambal aspal.")
    expect(page.get_by_text("Jawaban akhir")).to_be_visible()
    # Then the reporter accepts it with a rating, in the browser
    accept = page.locator(f"form[action='/lacak/{report_id}/terima']")
    accept.get_by_label("5", exact=True).check()
    accept.get_by_label("Komentar (tidak wajib)").fill("Cepat dan rapi, terima kasih.")
    accept.get_by_role("button", name="Kirim").click()
    expect(page.get_by_role("status")).to_contain_text("Laporan selesai")
    reload_until(page, "5 dari 5")
    expect(page.locator("main")).to_contain_text("Selesai")
    assert page.locator(f"form[action='/lacak/{report_id}/terima']").count() == 0  # the domain closed it
    status, shown = call("GET", f"{server.base}/reports/{report_id}", headers={"X-Report-Token": token})
    assert (status, shown["status"], shown["rating"]["rating"]) == (200, "closed", 5)
    assert dialogs == []
    context.close()


def test_errors_are_shown_next_to_their_fields_and_the_input_is_kept(browser, server):
    context, page, _ = _new_page(browser, javascript=False)
    page.goto(server.base + "/")
    page.get_by_label("Isi laporan").fill("pendek")
    page.get_by_label("Nama").fill("Siti")
    page.get_by_label("E-mail").fill("siti@")
    page.get_by_role("button", name="Kirim laporan").click()
    expect(page.get_by_role("alert")).to_contain_text("Periksa isian berikut")
    body = page.get_by_label("Isi laporan")
    expect(body).to_have_value("pendek")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-body")).to_have_text("minimal 10 karakter")
    expect(page.locator("#e-region_code")).to_have_text("wajib diisi")
    expect(page.locator("#e-email")).to_have_text("bukan alamat e-mail yang sah")
    expect(page.get_by_label("Nama")).to_have_value("Siti")
    context.close()


# ------------------------------------------------------------------------------------------ escaping

def test_script_and_html_in_every_text_field_render_as_text(browser, server, staff):
    context, page, dialogs = _new_page(browser, width=1280)
    page.goto(server.base + "/")
    # refused first (a bad e-mail), so every field is echoed back on the error page
    _fill_report(page, title="T " + HOSTILE, body="Isi " + HOSTILE, address="A " + HOSTILE, name="N " + HOSTILE,
                 phone="0812-3456-7890", email=HOSTILE)
    page.get_by_role("button", name="Kirim laporan").click()
    expect(page.get_by_label("Judul")).to_have_value("T " + HOSTILE)
    expect(page.get_by_label("E-mail")).to_have_value(HOSTILE)
    assert page.locator("main script, main img, main b").count() == 0
    page.get_by_label("E-mail").fill("siti@example.id")
    report_id, token = _submit(page)
    page.get_by_role("button", name="Buka halaman lacak").click()
    reload_until(page, "T " + HOSTILE)
    expect(page.get_by_role("heading", level=1)).to_have_text("T " + HOSTILE)
    expect(page.locator("main")).to_contain_text("Isi " + HOSTILE)
    expect(page.locator("main")).to_contain_text("A " + HOSTILE)
    page.locator(f"form[action='/lacak/{report_id}/balas'] textarea").fill("Balasan " + HOSTILE)
    page.locator(f"form[action='/lacak/{report_id}/balas'] button").click()
    reload_until(page, "Balasan " + HOSTILE)
    assert page.locator("main script, main img, main b").count() == 0
    # and the public page, once verified
    _answer(server, staff, report_id)
    page.goto(f"{server.base}/laporan/{report_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("T " + HOSTILE)
    assert page.locator("main script, main img, main b").count() == 0
    assert "Balasan" not in page.locator("main").inner_text()  # what the reporter wrote later is not public
    assert dialogs == []
    context.close()


# ------------------------------------------------------------------------------------------ every page

def _every_page(server: Any, staff: dict[str, dict[str, str]]) -> dict[str, Callable[[Page], None]]:
    """Each page, as the steps that bring a browser to it (fresh context each, so nothing comes from cache)."""
    report_id, token = _api_report(server, title="Lampu jalan padam di Jl. Pahlawan")
    _answer(server, staff, report_id)

    def invalid_form(page: Page) -> None:
        page.goto(server.base + "/")
        page.get_by_label("Isi laporan").fill("pendek")
        page.get_by_role("button", name="Kirim laporan").click()

    def receipt(page: Page) -> None:
        page.goto(server.base + "/")
        _fill_report(page)
        page.get_by_role("button", name="Kirim laporan").click()

    def tracking(page: Page) -> None:
        _open_tracking(page, server, report_id, token)
        page.locator("main").get_by_text("Lubang sudah ditambal aspal.").wait_for()

    return {"lapor": lambda page: page.goto(server.base + "/"), "lapor-errors": invalid_form, "receipt": receipt,
            "lacak-form": lambda page: page.goto(server.base + "/lacak"), "lacak": tracking,
            "laporan": lambda page: page.goto(server.base + "/laporan"),
            "laporan-detail": lambda page: page.goto(f"{server.base}/laporan/{report_id}"),
            "not-found": lambda page: page.goto(f"{server.base}/laporan/LAP-2222222222"),
            "english": lambda page: page.goto(server.base + "/?lang=en")}


@pytest.fixture(scope="module")
def every_page(server, staff) -> dict[str, Callable[[Page], None]]:
    return _every_page(server, staff)


def test_every_page_sends_the_security_headers(browser, server, every_page):
    for name, reach in every_page.items():
        context, page, _ = _new_page(browser)
        responses: list[Any] = []
        page.on("response", lambda response, seen=responses: seen.append(response))
        reach(page)
        page.wait_for_load_state("load")
        ours = [r for r in responses if r.url.startswith(server.base) and not 300 <= r.status < 400]
        assert {r.request.resource_type for r in ours} >= {"document", "stylesheet"}, name
        for response in ours:
            headers = response.all_headers()
            policy = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, (name, response.url)
            assert headers["x-content-type-options"] == "nosniff", (name, response.url)
            assert headers["referrer-policy"] == "no-referrer", (name, response.url)
        context.close()


def test_every_page_weighs_under_60_kb_on_the_wire(browser, every_page):
    """A cold load of the page a person ends on: its document and every other file fetched (the stylesheet),
    as bytes on the wire; the steps that led there (the form before its receipt) are not that page."""
    weights = {}
    for name, reach in every_page.items():
        context, page, _ = _new_page(browser)
        finished: list[Any] = []
        page.on("requestfinished", lambda request, seen=finished: seen.append(request))
        reach(page)
        page.wait_for_load_state("load")
        documents = [r for r in finished if r.resource_type == "document"]
        files: dict[str, int] = {}  # by URL, the size it came with (a second use comes from the cache: 0)
        for request in finished:
            if request.resource_type != "document":
                files[request.url] = max(files.get(request.url, 0), request.sizes()["responseBodySize"])
        assert documents and any(r.resource_type == "stylesheet" for r in finished), name
        weights[name] = documents[-1].sizes()["responseBodySize"] + sum(files.values())
        context.close()
    assert all(0 < weight < MAX_PAGE_BYTES for weight in weights.values()), weights
    assert min(weights.values()) > 4000, weights  # the stylesheet alone is about 5 KB: the count is real


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_of_every_page_and_nothing_overflows_at_360_px(browser, every_page, artifacts, width):
    for name, reach in every_page.items():
        context, page, _ = _new_page(browser, width=width)
        reach(page)
        page.wait_for_load_state("load")
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)
        # readable on a cheap phone: nothing wider than the screen (no sideways scrolling)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        context.close()
