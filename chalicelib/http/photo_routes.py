"""Photo routes of the JSON API: an upload slot, attaching an upload to a report, reading a photo.

A photo is never a public object: `GET /reports/{id}/photos/{attachment id}` checks the caller against the
report's own rules (`may_see_photo`) with ONE read of the report view and answers 302 to a presigned GET that
works for a few minutes. Uploads go straight to the bucket (a presigned POST), never through the API.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from chalice import Response

from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.report import MAX_PHOTO_BYTES, MAX_PHOTOS, PHOTO_TYPES, Context, ReportState, decide
from chalicelib.domain.vocabulary import Role
from chalicelib.errors import NotFound, ReportNotFound, ValidationFailed
from chalicelib.http.endpoint import Call, endpoint
from chalicelib.http.presenters import find_photo
from chalicelib.http.validation import Field
from chalicelib.photos.attach import (
    ATTACHMENT_ID,
    attachment_id_of,
    idempotency_key_of,
    new_upload_id,
    prepare,
    require_upload_ids,
)
from chalicelib.photos.storage import UPLOAD_SECONDS, VIEW_SECONDS, PhotoStorage, photo_key, photo_storage, thumbnail_key
from chalicelib.services.handlers import Request, scoped_key

REPORT_PHOTOS = "/reports/{report_id}/photos"
ATTACH = {"upload_id": Field(str, required=True, max_length=32, description="from POST /photo-uploads")}
_PROBE_SHA = "0" * 64


def storage_of(call: Call) -> PhotoStorage:
    storage = photo_storage(call.services.settings)
    if storage is None:
        raise NotFound("photos are not enabled on this server (no LAPOR_PHOTO_BUCKET)",
                       "foto tidak diaktifkan di server ini")
    return storage


def limits() -> dict[str, Any]:
    return {"max_photos": MAX_PHOTOS, "max_bytes": MAX_PHOTO_BYTES, "content_types": list(PHOTO_TYPES)}


def answered_before(call: Call, principal: Principal, request: Request) -> bool:
    """This very command was acknowledged before (its Idempotency-Key is recorded): the handler answers it from
    that record, so the uploads need not (and after their expiry could not) be read again."""
    return (request.idempotency_key is not None
            and call.services.store.get_idempotency(scoped_key(principal, request)) is not None)


def photos_for_submission(call: Call, upload_ids: list[str], request: Request) -> tuple[c.PhotoFacts, ...]:
    """The photos a submission carries, processed and stored before ReportSubmitted is written with them."""
    if not upload_ids:
        return ()
    if len(upload_ids) > MAX_PHOTOS or len(set(upload_ids)) != len(upload_ids):
        raise ValidationFailed(f"at most {MAX_PHOTOS} different photos", f"paling banyak {MAX_PHOTOS} foto berbeda",
                               field="photo_upload_ids")
    require_upload_ids(upload_ids, "photo_upload_ids")
    storage = storage_of(call)
    if answered_before(call, call.principal, request):
        return ()
    return prepare(storage, upload_ids, field="photo_upload_ids")


def attach_upload(call: Call, report_id: str, upload_id: str, principal: Principal,
                  state: ReportState | None = None) -> dict[str, Any]:
    """Attach one upload to a report, exactly once (the JSON route and the pages' landing both come here).

    The report's own events decide first (one Query), with the photo's facts still unknown: a caller who may not
    attach, a finished report or a full one is refused before the upload is even read. An upload already
    attached (a reload, a retry, days later) is answered as attached, and nothing is read or written."""
    require_upload_ids([upload_id], "upload_id")
    storage = storage_of(call)
    services, attachment_id = call.services, attachment_id_of(upload_id)
    state = state or services.commands.load_state(report_id)
    if attachment_id in state.photos:
        _require_reporter_sees(state, principal)
        return {"report_id": report_id, "status": state.status, "version": state.version, "events": [],
                "attachment_id": attachment_id}
    if not state.version:
        raise ReportNotFound(report_id)
    probe = c.PhotoFacts(attachment_id=attachment_id, sha256=_PROBE_SHA, size=1, content_type=PHOTO_TYPES[0],
                         width=1, height=1)
    decide(state, c.AttachPhoto(principal=principal, photo=probe), _context(call))  # refuses, or writes nothing
    (facts,) = prepare(storage, [upload_id], field="upload_id")
    request = dataclasses.replace(call.request(), idempotency_key=idempotency_key_of(upload_id))
    result = services.commands.execute(report_id, c.AttachPhoto(principal=principal, photo=facts), request)
    return result | {"attachment_id": attachment_id}


def _context(call: Call) -> Context:
    services = call.services
    return Context(now=call.now, calendar=services.calendar, reference=services.reference)


def _require_reporter_sees(state: ReportState, principal: Principal) -> None:
    from chalicelib.domain.access import is_own_reporter

    if not is_own_reporter(principal, state.exposure):
        raise ReportNotFound(state.report_id)


@endpoint("POST", "/photo-uploads", "createPhotoUpload",
          "An upload slot: a presigned POST for one photo (JPEG, PNG or WebP, at most 5 MB) straight to storage",
          status=201)
def create_photo_upload(call: Call) -> dict[str, Any]:
    upload_id = new_upload_id()
    form = storage_of(call).upload_form(upload_id)
    return form.to_dict() | {"expires_in": UPLOAD_SECONDS} | limits()


@endpoint("POST", REPORT_PHOTOS, "attachPhoto",
          "Reporter: attach an uploaded photo (re-encoded without EXIF; exactly once per upload_id)",
          body=ATTACH, audience=Role.REPORTER, status=201)
def attach_photo(call: Call) -> dict[str, Any]:
    return attach_upload(call, call.params["report_id"], call.body["upload_id"], call.principal)


def photo_redirect(storage: PhotoStorage, photo: dict[str, Any], *, thumbnail: bool) -> Response:
    key = (thumbnail_key(photo["attachment_id"]) if thumbnail
           else photo_key(photo["attachment_id"], photo["content_type"]))
    return Response(body="", status_code=302, headers={
        "Location": storage.view_url(key), "Cache-Control": f"private, max-age={VIEW_SECONDS - 60}",
        "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})


@endpoint("GET", REPORT_PHOTOS + "/{attachment_id}", "getReportPhoto",
          "A photo as the caller may see it: 302 to a presigned URL valid 5 minutes (?size=thumb: the thumbnail)",
          audience="as getReport", query=("size",))
def get_report_photo(call: Call) -> Response:
    report_id, attachment_id = call.params["report_id"], call.params["attachment_id"]
    size = call.query.get("size", "full")
    if size not in ("full", "thumb"):
        raise ValidationFailed("size must be full or thumb", "size harus full atau thumb", field="size")
    if not ATTACHMENT_ID.fullmatch(attachment_id):
        raise NotFound("no such photo", "foto tidak ditemukan")
    storage = storage_of(call)
    photo = find_photo(call.services.views.get(report_id), attachment_id, call.principal)
    if photo is None:
        raise NotFound("no such photo", "foto tidak ditemukan")
    return photo_redirect(storage, photo, thumbnail=size == "thumb")
