"""The staff console in Chromium (JavaScript off) against `lapor serve`: staff sign in with the local picker and
carry a citizen's report from verification to the final answer; the session cookie as the browser keeps it;
screenshots of every console page at 360 px and 1280 px (tests/artifacts/konsol-*.png); axe-core on every
console page (the accessibility test's own helper)."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import REPORT, call, wait_for
from tests.web.conftest import reload_until
from tests.web.test_accessibility import AXE, _violations

WIDTHS = (360, 1280)
SAMARINDA = "pemkot-samarinda"
TITLE = "Drainase tersumbat di Jl. Pahlawan"


def _sign_in(page: Page, base: str, role: str, institution: str | None = None, unit: str | None = None,
             province: str | None = None) -> None:
    page.goto(f"{base}/konsol/masuk")
    page.locator(f"#f-role-{role}").check()
    for field, value in (("institution", institution), ("unit", unit), ("province", province)):
        if value:
            page.locator(f"#f-{field}").select_option(value)
    page.get_by_role("button", name="Masuk", exact=True).click()
    expect(page.get_by_text("Masuk sebagai")).to_be_visible()


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Anda sudah keluar")).to_be_visible()



def _shoot(page: Page, artifacts: Any, name: str) -> None:
    """Both widths of the page as it is now; at 360 px nothing may be wider than the screen."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"konsol-{name}-{width}.png"), full_page=True)
        if width == 360:
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    page.set_viewport_size({"width": 360, "height": 900})


@pytest.fixture(scope="module")
def submitted(server, staff) -> str:
    status, created = call("POST", f"{server.base}/reports", REPORT | {"title": TITLE})
    assert status == 201, created
    wait_for(server.base, created["report_id"], staff["nasional"], "submitted")
    return created["report_id"]


def test_staff_carry_a_report_from_verification_to_the_final_answer_without_javascript(browser, server, staff,
                                                                                       submitted, artifacts):
    base, report_id = server.base, submitted
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 900})
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    try:
        # the console sends a signed-out visitor to sign-in, and back afterwards
        page.goto(f"{base}/konsol/laporan/{report_id}")
        expect(page.get_by_role("heading", name="Masuk ke konsol")).to_be_visible()
        _shoot(page, artifacts, "masuk")
        page.locator("#f-role-admin_nasional").check()
        page.get_by_role("button", name="Masuk", exact=True).click()
        expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
        cookie = next(c for c in context.cookies() if c["name"] == "lapor_konsol")
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == \
            (True, True, "Lax", "/konsol")  # Chromium keeps a Secure cookie of http://127.0.0.1
        assert 7.9 * 3600 < cookie["expires"] - time.time() <= 8 * 3600
        _shoot(page, artifacts, "laporan-verifikasi")
        page.goto(f"{base}/konsol")
        expect(page.get_by_role("link", name=TITLE)).to_be_visible()
        _shoot(page, artifacts, "antrean")
        # the national admin verifies and disposes it, correcting the category
        page.get_by_role("link", name=TITLE).click()
        form = page.locator("#form-verifikasi")
        form.get_by_label("Instansi").select_option(SAMARINDA)
        form.get_by_label("Kategori").select_option("infrastruktur.drainase")
        form.get_by_role("button", name="Verifikasi").click()
        expect(page.get_by_text("Laporan diverifikasi dan didisposisikan.")).to_be_visible()
        expect(page.get_by_text("Didisposisikan ke instansi, belum ditugaskan")).to_be_visible()
        _sign_out(page)
        _shoot(page, artifacts, "keluar")
        assert not [c for c in context.cookies() if c["name"] == "lapor_konsol"]
        # the institution's admin assigns it to Dinas PUPR
        _sign_in(page, base, "admin_instansi", institution=SAMARINDA)
        reload_until(page, TITLE)
        page.get_by_role("link", name=TITLE).click()
        _shoot(page, artifacts, "laporan-instansi")
        page.locator("#form-tugaskan").get_by_label("Unit kerja").select_option("dinas-pupr")
        page.locator("#form-tugaskan").get_by_role("button", name="Tugaskan").click()
        expect(page.get_by_text("Laporan ditugaskan ke unit.")).to_be_visible()
        page.goto(f"{base}/konsol/kotak-keluar")
        reload_until(page, f"Laporan baru {report_id}")
        _sign_out(page)
        # the unit's liaison posts a follow-up, then the final answer
        _sign_in(page, base, "admin_penghubung", institution=SAMARINDA, unit="dinas-pupr")
        reload_until(page, TITLE)
        page.goto(f"{base}/konsol/kotak-keluar")
        reload_until(page, "ditugaskan ke unit Anda")
        _shoot(page, artifacts, "kotak-keluar")
        page.goto(f"{base}/konsol/laporan/{report_id}")
        page.locator("#form-tindak-lanjut").get_by_label("Pesan").fill("Tim sudah membersihkan saluran <b>hari ini</b>.")
        page.locator("#form-tindak-lanjut").get_by_role("button", name="Kirim tindak lanjut").click()
        expect(page.get_by_text("Tindak lanjut terkirim.")).to_be_visible()
        page.locator("#form-jawaban-akhir").get_by_label("Pesan").fill("Saluran sudah lancar kembali.")
        page.locator("#form-jawaban-akhir").get_by_role("button", name="Kirim jawaban akhir").click()
        expect(page.get_by_text("Jawaban akhir terkirim.")).to_be_visible()
        expect(page.get_by_text("Tim sudah membersihkan saluran <b>hari ini</b>.")).to_be_visible()  # as text
        _shoot(page, artifacts, "laporan-penghubung")
        _sign_out(page)
        # the Ombudsman reads the timeline; a supervisor the reprimand list
        _sign_in(page, base, "ombudsman")
        page.goto(f"{base}/konsol/laporan/{report_id}/linimasa")
        expect(page.get_by_role("rowheader", name="Jawaban akhir")).to_be_visible()
        _shoot(page, artifacts, "linimasa")
        _sign_out(page)
        _sign_in(page, base, "supervisor", province="64")
        page.goto(f"{base}/konsol/teguran")
        expect(page.get_by_role("heading", name="Teguran", exact=True)).to_be_visible()
        _shoot(page, artifacts, "teguran")
    finally:
        context.close()
    status, shown = call("GET", f"{base}/reports/{report_id}", headers=staff["nasional"])
    assert (status, shown["status"], shown["category_id"], shown["unit_id"]) == \
        (200, "answered", "infrastruktur.drainase", "dinas-pupr")
    assert not [url for url in urls if "eyJ" in url or "rpt_" in url or "token" in url.lower()]  # no token in URLs


@pytest.fixture(scope="module")
def console_pages(server, submitted) -> dict[str, Callable[[Page], None]]:
    base = server.base

    def signed_in(path: str, role: str, **scope: str) -> Callable[[Page], None]:
        def reach(page: Page) -> None:
            _sign_in(page, base, role, **scope)
            page.goto(base + path)
        return reach

    return {"masuk": lambda page: page.goto(f"{base}/konsol/masuk"),
            "masuk-errors": lambda page: (page.goto(f"{base}/konsol/masuk"), page.locator("#f-role-admin_penghubung").check(),
                                          page.get_by_role("button", name="Masuk", exact=True).click()),
            "antrean": signed_in("/konsol", "admin_nasional"),
            "laporan": signed_in(f"/konsol/laporan/{submitted}", "admin_instansi", institution=SAMARINDA),
            "laporan-nasional": signed_in(f"/konsol/laporan/{submitted}", "admin_nasional"),
            "linimasa": signed_in(f"/konsol/laporan/{submitted}/linimasa", "auditor"),
            "teguran": signed_in("/konsol/teguran", "ombudsman"),
            "kotak-keluar": signed_in("/konsol/kotak-keluar", "admin_instansi", institution=SAMARINDA),
            "tidak-ditemukan": signed_in(f"/konsol/laporan/{submitted}", "admin_instansi",
                                         institution="pemkot-balikpapan"),
            "antrean-en": signed_in("/konsol?lang=en", "admin_penghubung", institution=SAMARINDA, unit="dinas-pupr"),
            "keluar": lambda page: page.goto(f"{base}/konsol/keluar/selesai")}


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_serious_or_critical_violation_on_any_console_page(browser, console_pages, width):
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make setup`")
    found = {name: v for name, reach in console_pages.items() if (v := _violations(browser, reach, width))}
    assert found == {}
