"""What the citizen pages need for photos: the upload forms that post straight to the bucket, their landing
URL with its ticket, the pages' content-security policies, and thumbnail sizes. No routes here (pages.py).

Without JavaScript a photo is added with a plain multipart form whose action is the bucket itself (a presigned
POST); S3 then redirects the browser to `/lacak/{id}/foto-tiba?tiket=…`, which attaches it. The policy of a page
with such a form allows exactly the bucket's origin as a form target (and, where photos are shown, as an image
source: a photo route answers 302 to a presigned URL there).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from chalicelib.domain.report import MAX_PHOTO_BYTES, MAX_PHOTOS, PHOTO_TYPES
from chalicelib.http.endpoint import Call
from chalicelib.photos import tickets
from chalicelib.photos.attach import new_upload_id
from chalicelib.photos.processing import THUMB_SIDE
from chalicelib.photos.storage import PhotoStorage, UploadForm, photo_storage
from chalicelib.web.render import SECURITY_HEADERS, Page

SCRIPT = Path(__file__).resolve().parent / "static" / "foto.js"
ACCEPT = ",".join(PHOTO_TYPES)
LIMITS = {"max_photos": MAX_PHOTOS, "max_mb": MAX_PHOTO_BYTES // (1024 * 1024), "max_bytes": MAX_PHOTO_BYTES,
          "accept": ACCEPT}


def storage_of(call: Call) -> PhotoStorage | None:
    return photo_storage(call.services.settings)


def policy(storage: PhotoStorage | None, *, upload: bool = False, images: bool = False,
           script: bool = False) -> dict[str, str]:
    """The page's Content-Security-Policy: the default one, plus the bucket's origin exactly where needed."""
    value = SECURITY_HEADERS["Content-Security-Policy"]
    if storage is not None:
        origin = storage.origin
        if images:
            value = value.replace("img-src 'self'", f"img-src 'self' {origin}")
        if upload:
            value = value.replace("form-action 'self'", f"form-action 'self' {origin}")
        if script:  # the Lapor form's enhancement: our own script, talking to our API and the bucket only
            value += f"; script-src 'self'; connect-src 'self' {origin}"
    return {"Content-Security-Policy": value}


def absolute(call: Call, page: Page, path: str) -> str:
    """An absolute URL of one of our pages, for S3 to redirect to: LAPOR_PUBLIC_URL when set (AWS), else as the
    browser called us (the Host header; `lapor serve` on http://127.0.0.1)."""
    public_url = call.services.settings.public_url
    if public_url:
        return public_url + path
    scheme = call.headers.get("x-forwarded-proto", "http")
    return f"{scheme}://{call.headers.get('host', '127.0.0.1')}{page.base}{path}"


def upload_form(call: Call, page: Page, report_id: str, attached: int) -> UploadForm | None:
    """A fresh upload form for one more photo of this report (None: photos are off here, or it has 3)."""
    storage = storage_of(call)
    if storage is None or attached >= MAX_PHOTOS:
        return None
    upload_id = new_upload_id()
    ticket = tickets.issue(call.services.settings.token_secret, report_id, upload_id, call.now)
    landing = absolute(call, page, f"/lacak/{report_id}/foto-tiba?tiket={ticket}")
    return storage.upload_form(upload_id, redirect=landing)


def thumbnail_size(photo: dict[str, Any]) -> tuple[int, int]:
    """The thumbnail's width and height (the processing's THUMB_SIDE box), so the page reserves their space."""
    width, height = int(photo["width"]), int(photo["height"])
    scale = min(1.0, THUMB_SIDE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def with_thumbnail_sizes(photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each photo with the width and height its thumbnail is shown at (so the page does not jump as they load)."""
    return [photo | dict(zip(("thumb_width", "thumb_height"), thumbnail_size(photo))) for photo in photos]


def script_digest() -> str:
    return hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]
