"""Photos in Chromium against `lapor serve` and its real local S3-compatible store: a citizen submits with a photo
(the Lapor form's script uploads it first), adds a photo without JavaScript (a plain form straight to the store,
then the landing page), tracks, and accepts with a rating; the photos show on the pages through the policy; the
pages stay under 60 KB before photos; screenshots at 360 and 1280 px (tests/artifacts/*-foto-*.png)."""
from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.support import call, eventually
from tests.support.photos import jpeg_with_gps
from tests.web.conftest import reload_until
from tests.web.test_citizen_pages import (
    MAX_PAGE_BYTES,
    WIDTHS,
    _answer,
    _fill_report,
    _new_page,
    _open_tracking,
    _submit,
)


def _photo_file(name: str, color: str = "red") -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg_with_gps((400, 300), color=color)}


def _photo_events(server: Any, staff: dict, report_id: str) -> list[str]:
    status, body = call("GET", f"{server.base}/reports/{report_id}/events", headers=staff["nasional"])
    assert status == 200, body
    return [event["type"] for event in body["events"]]


def _images_loaded(page: Any, responses: list[Any]) -> list[Any]:
    """The thumbnails that came (a 302 from our route, then the image from the store)."""
    return [r for r in responses if r.request.resource_type == "image" and r.status == 200
            and r.headers.get("content-type") == "image/jpeg"]


def test_a_citizen_submits_with_a_photo_tracks_and_accepts(browser, server, staff, artifacts):
    context, page, dialogs = _new_page(browser, javascript=True)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    # Given a citizen on the Lapor page, with JavaScript: the photo picker is offered
    page.goto(server.base + "/")
    expect(page.get_by_label("Pilih foto")).to_be_visible()
    expect(page.get_by_text("Foto dapat ditambahkan setelah laporan terkirim")).to_be_hidden()
    # When they fill the form, choose a photo and send it
    _fill_report(page)
    page.get_by_label("Pilih foto").set_input_files([_photo_file("lubang.jpg")])
    report_id, token = _submit(page)
    # Then the report went with its photo (uploaded first, straight to the store)
    expect(page.get_by_text("1 dari 3 foto terlampir")).to_be_visible()
    assert _photo_events(server, staff, report_id) == ["ReportSubmitted", "PhotoAttached"]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"receipt-foto-{width}.png"), full_page=True)
    # And the tracking page shows it
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    page.set_viewport_size({"width": 360, "height": 900})
    page.get_by_role("button", name="Buka halaman lacak").click()
    page.wait_for_url(f"**/lacak/{report_id}")
    reload_until(page, "1 dari 3 foto terlampir")
    thumbnail = page.get_by_role("img", name="Foto 1 dari laporan ini")
    expect(thumbnail).to_be_visible()
    assert page.evaluate("document.querySelector('.photos img').naturalWidth") > 0
    assert _images_loaded(page, responses)
    # When staff answer, the reporter accepts with a rating
    _answer(server, staff, report_id)
    reload_until(page, "Lubang sudah ditambal aspal.")
    accept = page.locator(f"form[action='/lacak/{report_id}/terima']")
    accept.get_by_label("4", exact=True).check()
    accept.get_by_role("button", name="Kirim").click()
    expect(page.get_by_role("status")).to_contain_text("Laporan selesai")
    reload_until(page, "4 dari 5")
    # The finished report takes no more photos, and still shows its own
    assert page.locator("form.photo-add").count() == 0
    expect(page.get_by_role("img", name="Foto 1 dari laporan ini")).to_be_visible()
    # And the public sees the photo of this (not anonymous, not confidential) report too
    page.goto(f"{server.base}/laporan/{report_id}")
    expect(page.get_by_role("img", name="Foto 1 dari laporan ini")).to_be_visible()
    assert page.evaluate("document.querySelector('.photos img').naturalWidth") > 0
    assert dialogs == [] and not [text for text in refused if "Content Security Policy" in text], refused
    context.close()


def test_without_javascript_a_photo_is_added_from_the_receipt_and_the_reporter_tracks_and_accepts(
        browser, server, staff, artifacts):
    context, page, dialogs = _new_page(browser, javascript=False)
    page.goto(server.base + "/")
    # Without the script there is no picker: the page says photos come after sending
    expect(page.get_by_text("Foto dapat ditambahkan setelah laporan terkirim")).to_be_visible()
    assert not page.get_by_label("Pilih foto").is_visible()
    _fill_report(page)
    report_id, token = _submit(page)
    # On the receipt: a plain form straight to the store
    add = page.locator("form.photo-add")
    add.get_by_label("Berkas foto").set_input_files([_photo_file("got.jpg", color="green")])
    add.get_by_role("button", name="Unggah foto").click()
    # The store sends the browser back to LAPOR!, which attaches the photo by the ticket in the address
    expect(page.get_by_role("heading", name="Foto ditambahkan")).to_be_visible()
    assert "/foto-tiba?tiket=" in page.url and token not in page.url
    assert _photo_events(server, staff, report_id) == ["ReportSubmitted", "PhotoAttached"]
    page.reload()  # a reload attaches nothing more
    expect(page.get_by_text("sudah terlampir sebelumnya")).to_be_visible()
    assert _photo_events(server, staff, report_id) == ["ReportSubmitted", "PhotoAttached"]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"foto-tiba-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 900})
    # The link back is a same-site navigation; this device has no token cookie yet, so the reporter tracks
    page.get_by_role("link", name="Kembali ke laporan").click()
    expect(page.get_by_label("Nomor pelacakan")).to_have_value(report_id)
    responses: list[Any] = []
    page.on("response", lambda response: responses.append(response))
    _open_tracking(page, server, report_id, token)
    reload_until(page, "1 dari 3 foto terlampir")
    expect(page.get_by_role("img", name="Foto 1 dari laporan ini")).to_be_visible()
    eventually(lambda: _images_loaded(page, responses), "the thumbnail from the store", timeout=10)
    # A second photo from the tracking page, again without JavaScript
    page.locator("form.photo-add").get_by_label("Berkas foto").set_input_files([_photo_file("dua.jpg", "blue")])
    page.locator("form.photo-add").get_by_role("button", name="Unggah foto").click()
    expect(page.get_by_role("heading", name="Foto ditambahkan")).to_be_visible()
    page.get_by_role("link", name="Kembali ke laporan").click()  # now the cookie goes with it
    page.wait_for_url(f"**/lacak/{report_id}**")
    reload_until(page, "2 dari 3 foto terlampir")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"lacak-foto-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width if width == 360 else True
    page.set_viewport_size({"width": 360, "height": 900})
    # Staff answer; the reporter accepts with a rating, without JavaScript
    _answer(server, staff, report_id)
    reload_until(page, "Lubang sudah ditambal aspal.")
    accept = page.locator(f"form[action='/lacak/{report_id}/terima']")
    accept.get_by_label("5", exact=True).check()
    accept.get_by_role("button", name="Kirim").click()
    expect(page.get_by_role("status")).to_contain_text("Laporan selesai")
    status, shown = call("GET", f"{server.base}/reports/{report_id}", headers={"X-Report-Token": token})
    assert status == 200 and shown["status"] == "closed" and len(shown["photos"]) == 2
    assert dialogs == []
    context.close()


def test_the_photo_pages_weigh_under_60_kb_before_photos(browser, server):
    """The Lapor form with its photo script, and a receipt with its upload form: document, stylesheet and
    script on the wire (the photos themselves not counted)."""
    context, page, _ = _new_page(browser, javascript=True)
    finished: list[Any] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(server.base + "/")
    page.wait_for_load_state("load")
    weight = sum(request.sizes()["responseBodySize"] for request in finished
                 if request.resource_type in ("document", "stylesheet", "script"))
    assert any(request.resource_type == "script" and "foto.js" in request.url for request in finished)
    assert 20_000 < weight < MAX_PAGE_BYTES, weight
    context.close()
