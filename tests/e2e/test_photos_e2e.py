"""Photos end to end: `lapor serve` with its real local S3-compatible server (s3rver, under `.lapor/s3/`), real
multipart uploads over HTTP as a browser sends them, the landing redirect, presigned GETs, and a restart."""
from __future__ import annotations

import io
import json
import re
import urllib.parse

import requests
from PIL import Image

from tests.e2e.support import REPORT, bearer, call, eventually, wait_for
from tests.support.photos import jpeg_with_gps


def _runtime(server) -> dict:
    return json.loads((server.home / "runtime.json").read_text())


def _upload(form_url: str, fields: dict, data: bytes, **headers) -> requests.Response:
    # As a browser sends a form: every field, then the file last.
    return requests.post(form_url, data=fields, files={"file": ("foto.jpg", data, "image/jpeg")}, headers=headers,
                         allow_redirects=False, timeout=30)


def test_a_photo_uploaded_to_the_local_store_is_attached_served_without_exif_and_survives_a_restart(new_server):
    server = new_server.start()
    base, runtime = server.base, _runtime(server)
    assert runtime["s3_url"].startswith("http://127.0.0.1:") and runtime["photo_bucket"] == "lapor-local-photos"

    code, slot = call("POST", f"{base}/photo-uploads")
    assert code == 201 and slot["url"].startswith(runtime["s3_url"])
    uploaded = _upload(slot["url"], slot["fields"], jpeg_with_gps(), Origin=base)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.headers.get("Access-Control-Allow-Origin") == base  # the Lapor form's script may read it

    code, created = call("POST", f"{base}/reports", REPORT | {"photo_upload_ids": [slot["upload_id"]]})
    assert code == 201 and created["events"] == ["ReportSubmitted", "PhotoAttached"], created
    nasional = bearer(server.home, "--role", "admin_nasional")
    report_id = created["report_id"]
    wait_for(base, report_id, nasional, "submitted")
    [photo] = eventually(lambda: call("GET", f"{base}/reports/{report_id}", headers=nasional)[1].get("photos"),
                         "the photo in the report view")

    def fetch(url: str, headers: dict) -> bytes:
        answer = requests.get(base + url, headers=headers, allow_redirects=False, timeout=30)
        assert answer.status_code == 302, (answer.status_code, answer.text)
        assert answer.headers["Location"].startswith(runtime["s3_url"])
        served = requests.get(answer.headers["Location"], timeout=30)
        assert served.status_code == 200
        return served.content

    data = fetch(photo["url"], nasional)
    assert Image.open(io.BytesIO(data)).format == "JPEG" and not Image.open(io.BytesIO(data)).getexif()
    assert b"SecretCam" not in data and b"Siti Pelapor" not in data
    assert requests.get(base + photo["url"], allow_redirects=False, timeout=30).status_code == 404  # not public yet
    assert (server.home / "s3").is_dir()

    server.stop()
    server.start()
    runtime.update(_runtime(server))  # a new port for the store; the same files
    assert fetch(photo["thumbnail_url"], nasional)[:2] == b"\xff\xd8"  # the store's files outlived the restart
    assert fetch(photo["url"], nasional) == data


def test_without_javascript_the_receipts_form_uploads_to_the_store_and_lands_back_once(local_server):
    base = local_server.base
    session = requests.Session()
    form = session.get(base + "/", timeout=30).text
    fields = {name: value for name, value in re.findall(r'<input type="hidden" name="(csrf|idem)" value="([^"]*)"',
                                                         form)}
    receipt = session.post(base + "/", data=fields | {
        "type": "complaint", "title": "Lampu jalan padam", "body": "Lampu jalan di Jl. Juanda padam sejak sepekan",
        "category_id": "infrastruktur.penerangan-jalan", "region_code": "64.72"}, timeout=30)
    assert receipt.status_code == 201, receipt.text[:2000]
    report_id = re.search(r'id="tracking-id">(LAP-[A-Z0-9]+)<', receipt.text).group(1)
    action = re.search(r'<form method="post" action="(http://127\.0\.0\.1:[0-9]+/[^"]*)" enctype="multipart/form-data"',
                       receipt.text).group(1)
    start = receipt.text.index(action)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', receipt.text[start:]))
    hidden = {name: value.replace("&amp;", "&") for name, value in hidden.items()
              if name not in ("csrf", "idem", "report_id", "token")}
    assert "success_action_redirect" in hidden and hidden["key"].startswith("incoming/")

    stored = _upload(action, hidden, jpeg_with_gps())
    assert stored.status_code == 303  # the store sends the browser back to us
    landing = stored.headers["Location"]
    assert landing.startswith(f"{base}/lacak/{report_id}/foto-tiba?tiket=")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(landing).query)["key"] == [hidden["key"]]

    first = requests.get(landing, timeout=30)  # a fresh client: the reporter's cookies play no part
    again = requests.get(landing, timeout=30)
    assert first.status_code == 201 and "Foto ditambahkan" in first.text
    assert again.status_code == 200
    code, events = call("GET", f"{base}/reports/{report_id}/events",
                        headers=bearer(local_server.home, "--role", "admin_nasional"))
    assert [event["type"] for event in events["events"]] == ["ReportSubmitted", "PhotoAttached"]
