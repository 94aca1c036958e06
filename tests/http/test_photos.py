"""Photos through the JSON API and the citizen pages, in-process on moto (DynamoDB and S3): upload slots and
their policy, attaching at submission and later (exactly once), re-encoding without EXIF, the privacy of every
read, one read per report, Open311's media_url, the no-JavaScript upload forms and their landing."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import urllib.parse
from datetime import timedelta

import boto3
import pytest
from PIL import Image

from chalicelib.bootstrap import build_services, use_services
from chalicelib.photos import tickets
from chalicelib.photos.attach import attachment_id_of
from tests.conftest import test_settings
from tests.support.api import body_of, error_of
from tests.support.builders import REPORT_JALAN_BERLUBANG
from tests.support.photos import bomb_png, gif, jpeg_with_gps
from tests.support.tokens import ADMIN_SAMARINDA, NASIONAL
from tests.web.html import parse

BUCKET = "test-photos"
ORIGIN = f"https://{BUCKET}.s3.ap-southeast-3.amazonaws.com"
FIVE_MB = 5 * 1024 * 1024


@pytest.fixture
def services(aws, clock):
    s3 = boto3.client("s3", region_name="ap-southeast-3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
    built = build_services(test_settings(photo_bucket=BUCKET), clock=clock)
    use_services(built)
    yield built
    use_services(None)


def s3():
    return boto3.client("s3", region_name="ap-southeast-3")


def slot(api) -> dict:
    return body_of(api.post("/photo-uploads"), 201)


def uploaded(api, data: bytes) -> str:
    """An upload slot, filled as a browser's POST would fill it (moto's S3 takes the object directly)."""
    upload = slot(api)
    s3().put_object(Bucket=BUCKET, Key=f"incoming/{upload['upload_id']}", Body=data)
    return upload["upload_id"]


def stored(key: str) -> bytes:
    return s3().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def events_of(api, report_id: str) -> list[dict]:
    return body_of(api.get(f"/reports/{report_id}/events", token=NASIONAL), 200)["events"]


def submit(api, upload_ids: list[str], headers: dict | None = None, **overrides) -> dict:
    return body_of(api.post("/reports", REPORT_JALAN_BERLUBANG | {"photo_upload_ids": upload_ids} | overrides,
                            headers=headers), 201)


def verify(api, report_id: str, **fields) -> None:
    body_of(api.post(f"/reports/{report_id}/verification", {"institution_id": "pemkot-samarinda"} | fields,
                     token=NASIONAL), 200)


# ------------------------------------------------------------------------------------------ upload slots

def test_an_upload_slot_is_a_presigned_post_for_one_key_of_at_most_5_mb(api, clock):
    upload = slot(api)

    assert upload["url"] == ORIGIN + "/" and len(upload["upload_id"]) == 32
    assert upload["max_bytes"] == FIVE_MB and upload["content_types"] == ["image/jpeg", "image/png", "image/webp"]
    fields = upload["fields"]
    assert fields["key"] == f"incoming/{upload['upload_id']}" and fields["success_action_status"] == "201"
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, FIVE_MB] in policy["conditions"]
    assert {"key": fields["key"]} in policy["conditions"] and {"bucket": BUCKET} in policy["conditions"]
    assert {"success_action_status": "201"} in policy["conditions"]
    assert policy["expiration"].startswith("20")  # 30 minutes from now (botocore's clock)
    assert slot(api)["upload_id"] != upload["upload_id"]


def test_without_a_bucket_there_are_no_photo_routes_to_use(aws, clock):
    from chalice.test import Client

    import app as app_module
    from tests.support.api import Api

    use_services(build_services(test_settings(), clock=clock))
    try:
        with Client(app_module.app) as client:
            error_of(Api(client).post("/photo-uploads"), 404, "not_found")
    finally:
        use_services(None)


# ------------------------------------------------------------------------------------------ submitting

def test_a_report_submitted_with_photos_records_them_in_one_transaction_without_exif(api, pump, dynamodb_calls):
    upload_ids = [uploaded(api, jpeg_with_gps()), uploaded(api, jpeg_with_gps((30, 60), color="green"))]
    dynamodb_calls.clear()

    created = submit(api, upload_ids)

    assert created["events"] == ["ReportSubmitted", "PhotoAttached", "PhotoAttached"]
    assert dynamodb_calls == ["PutItem"] or dynamodb_calls == ["TransactWriteItems"]
    events = events_of(api, created["report_id"])
    first = events[1]["data"]
    assert set(first) == {"attachment_id", "sha256", "size", "content_type", "width", "height"}
    assert first["attachment_id"] == attachment_id_of(upload_ids[0]) and first["content_type"] == "image/jpeg"
    copy = stored(f"photos/{first['attachment_id']}.jpg")
    assert hashlib.sha256(copy).hexdigest() == first["sha256"] and len(copy) == first["size"]
    assert not Image.open(io.BytesIO(copy)).getexif() and b"SecretCam" not in copy and b"Siti" not in copy
    thumb = stored(f"photos/{first['attachment_id']}.thumb.jpg")
    assert Image.open(io.BytesIO(thumb)).format == "JPEG" and b"SecretCam" not in thumb
    assert (events[2]["data"]["width"], events[2]["data"]["height"]) == (30, 60)


def test_a_retried_submission_with_photos_is_one_report_even_after_the_upload_expired(api, pump):
    upload_id = uploaded(api, jpeg_with_gps())
    key = {"Idempotency-Key": "submit-with-photo-0001"}
    first = submit(api, [upload_id], headers=key)
    s3().delete_object(Bucket=BUCKET, Key=f"incoming/{upload_id}")  # the lifecycle rule took it

    again = submit(api, [upload_id], headers=key)

    assert again == first
    assert [event["type"] for event in events_of(api, first["report_id"])] == ["ReportSubmitted", "PhotoAttached"]


@pytest.mark.parametrize("data, problem", [
    (b"not a photo at all", "JPEG, PNG or WebP"), (gif(), "JPEG, PNG or WebP"), (bomb_png(), "pixels"),
    (b"\xff\xd8" + b"\x00" * FIVE_MB, "at most"),
], ids=["text", "gif", "bomb", "over-5-MB"])
def test_a_submission_with_a_bad_photo_is_refused_and_writes_nothing(api, data, problem):
    upload_id = uploaded(api, data)
    before = boto3.client("dynamodb").scan(TableName="test-events", Select="COUNT")["Count"]

    refused = error_of(api.post("/reports", REPORT_JALAN_BERLUBANG | {"photo_upload_ids": [upload_id]}), 422,
                       "validation_failed")

    assert problem in refused["message"] and refused["details"]["field"] == "photo_upload_ids"
    assert boto3.client("dynamodb").scan(TableName="test-events", Select="COUNT")["Count"] == before


@pytest.mark.parametrize("ids", [["0" * 32], ["not-an-upload-id"], ["a" * 32] * 2, [f"{n:032x}" for n in range(4)]],
                         ids=["never-uploaded", "malformed", "twice", "four"])
def test_missing_malformed_repeated_or_too_many_upload_ids_are_refused(api, ids):
    error_of(api.post("/reports", REPORT_JALAN_BERLUBANG | {"photo_upload_ids": ids}), 422, "validation_failed")


# ------------------------------------------------------------------------------------------ attaching later

def test_the_reporter_attaches_a_photo_exactly_once_per_upload(api, pump):
    created = submit(api, [])
    report_id, token = created["report_id"], created["access_token"]
    upload_id = uploaded(api, jpeg_with_gps())

    first = body_of(api.post(f"/reports/{report_id}/photos", {"upload_id": upload_id}, report_token=token), 201)
    again = body_of(api.post(f"/reports/{report_id}/photos", {"upload_id": upload_id}, report_token=token), 201)

    assert first["events"] == ["PhotoAttached"] and first["attachment_id"] == attachment_id_of(upload_id)
    assert again["events"] == [] and again["attachment_id"] == first["attachment_id"]
    assert [event["type"] for event in events_of(api, report_id)] == ["ReportSubmitted", "PhotoAttached"]


def test_a_fourth_photo_a_stranger_and_a_finished_report_are_refused(api, pump):
    created = submit(api, [uploaded(api, jpeg_with_gps()) for _ in range(3)])
    report_id, token = created["report_id"], created["access_token"]
    upload_id = uploaded(api, jpeg_with_gps())
    path = f"/reports/{report_id}/photos"

    error_of(api.post(path, {"upload_id": upload_id}, report_token=token), 409, "rule_violated")
    error_of(api.post(path, {"upload_id": upload_id}), 401, "unauthenticated")
    error_of(api.post(path, {"upload_id": upload_id}, report_token="rpt_wrong"), 404, "report_not_found")
    error_of(api.post(path, {"upload_id": upload_id}, token=NASIONAL), 403, "forbidden")
    error_of(api.post("/reports/LAP-2222222222/photos", {"upload_id": upload_id}, report_token=token), 404)
    assert len(events_of(api, report_id)) == 4


def test_a_refused_attachment_never_reads_the_upload(api, pump):
    created = submit(api, [])
    body_of(api.post(f"/reports/{created['report_id']}/archive", {"reason": "spam"}, token=NASIONAL), 200)
    upload_id = uploaded(api, b"not even an image")  # a read would say 422: the state refuses first

    error_of(api.post(f"/reports/{created['report_id']}/photos", {"upload_id": upload_id},
                      report_token=created["access_token"]), 409, "invalid_transition")


# ------------------------------------------------------------------------------------------ reading

def _photos(api, report_id: str, **who) -> list[dict]:
    response = api.get(f"/reports/{report_id}", **who)
    return body_of(response, 200)["photos"] if response.status_code == 200 else None


def _redirect(api, path: str, **who):
    response = api.get(path, **who)
    return response.headers.get("Location") if response.status_code == 302 else response.status_code


def test_a_public_reports_photos_are_listed_and_redirect_to_a_short_lived_url(api, pump, dynamodb_calls):
    created = submit(api, [uploaded(api, jpeg_with_gps())])
    report_id = created["report_id"]
    pump.drain()
    assert api.get(f"/reports/{report_id}").status_code == 404  # not verified: not public
    verify(api, report_id)
    pump.drain()
    dynamodb_calls.clear()

    [photo] = _photos(api, report_id)
    assert dynamodb_calls == ["GetItem"]  # listing photos is part of the one read of the report
    aid = photo["attachment_id"]
    assert photo["url"] == f"/reports/{report_id}/photos/{aid}"
    assert photo["thumbnail_url"] == photo["url"] + "?size=thumb"
    dynamodb_calls.clear()
    location = _redirect(api, photo["url"])
    assert dynamodb_calls == ["GetItem"]
    parts = urllib.parse.urlsplit(location)
    query = urllib.parse.parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == ORIGIN and parts.path == f"/photos/{aid}.jpg"
    assert query["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in query
    assert urllib.parse.urlsplit(_redirect(api, photo["thumbnail_url"])).path == f"/photos/{aid}.thumb.jpg"
    assert _redirect(api, f"/reports/{report_id}/photos/FOTO-{'0' * 20}") == 404
    assert _redirect(api, f"/reports/{report_id}/photos/{aid.lower()}x") == 404  # not an id: no read at all
    assert _redirect(api, photo["url"] + "?size=huge") == 422


def test_a_confidential_reports_photos_are_never_public(api, pump):
    created = submit(api, [uploaded(api, jpeg_with_gps())], confidential=True)
    report_id = created["report_id"]
    verify(api, report_id)
    pump.drain()
    [photo] = _photos(api, report_id, token=NASIONAL)

    assert api.get(f"/reports/{report_id}").status_code == 404
    assert _redirect(api, photo["url"]) == 404
    assert _redirect(api, photo["url"], token=ADMIN_SAMARINDA).startswith(ORIGIN)
    assert _redirect(api, photo["url"], report_token=created["access_token"]).startswith(ORIGIN)


def test_an_anonymous_reports_photos_are_public_only_once_the_verifier_marks_them_safe(api, pump):
    upload_ids = [uploaded(api, jpeg_with_gps()), uploaded(api, jpeg_with_gps())]
    created = submit(api, upload_ids, anonymous=True)
    report_id = created["report_id"]
    safe, unsafe = (attachment_id_of(upload_id) for upload_id in upload_ids)
    pump.drain()
    assert len(_photos(api, report_id, token=NASIONAL)) == 2  # the verifier looks at them to judge
    error_of(api.post(f"/reports/{report_id}/verification",
                      {"institution_id": "pemkot-samarinda", "safe_photo_ids": ["FOTO-" + "1" * 20]},
                      token=NASIONAL), 422, "validation_failed")

    verify(api, report_id, safe_photo_ids=[safe])
    pump.drain()

    assert [p["attachment_id"] for p in _photos(api, report_id)] == [safe]
    assert _redirect(api, f"/reports/{report_id}/photos/{unsafe}") == 404
    assert [p["attachment_id"] for p in _photos(api, report_id, token=ADMIN_SAMARINDA)] == [safe]
    assert len(_photos(api, report_id, report_token=created["access_token"])) == 2
    assert len(_photos(api, report_id, token=NASIONAL)) == 2


def test_open311_media_url_is_the_first_public_photos_route(api, pump):
    shown = submit(api, [uploaded(api, jpeg_with_gps())])
    hidden = submit(api, [uploaded(api, jpeg_with_gps())], anonymous=True)
    for created in (shown, hidden):
        verify(api, created["report_id"])
    pump.drain()

    host = {"Host": "lapor.example.id", "X-Forwarded-Proto": "https"}
    [record] = body_of(api.client.http.get(f"/open311/v2/requests/{shown['report_id']}.json", headers=host), 200)
    assert record["media_url"] == "https://lapor.example.id" + _photos(api, shown["report_id"])[0]["url"]
    assert _redirect(api, urllib.parse.urlsplit(record["media_url"]).path).startswith(ORIGIN)
    [anonymous] = body_of(api.client.http.get(f"/open311/v2/requests/{hidden['report_id']}.json", headers=host), 200)
    assert "media_url" not in anonymous


# ------------------------------------------------------------------------------------------ pages

def _inputs_of(document, form) -> list:
    """The inputs of one form (the parser keeps no nesting: those after it, up to the next form)."""
    after = document.elements[document.elements.index(form) + 1:]
    end = next((i for i, element in enumerate(after) if element.tag == "form"), len(after))
    return [element for element in after[:end] if element.tag == "input"]


def _policy(response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))


def test_the_lapor_form_offers_photos_with_its_script_and_no_other_origin_than_the_buckets(client):
    response = client.http.get("/")
    page = parse(response.body.decode())
    policy = _policy(response)

    assert policy["script-src"] == "'self'" and policy["connect-src"] == f"'self' {ORIGIN}"
    assert policy["form-action"] == "'self'" and policy["img-src"] == "'self'"
    picker = page.by_id("photo-picker")
    assert "hidden" in picker.attrs and picker.attrs["data-max"] == "3"  # shown by the script only
    assert page.by_id("f-photos").attrs.get("name") is None  # never posted with the form itself
    assert "setelah laporan terkirim" in page.text()


def test_without_javascript_a_photo_is_added_from_the_receipt_through_the_bucket_and_its_landing(client, pump, clock):
    from tests.http.test_pages import Pages

    pages = Pages(client)
    report_id, token, receipt = pages.submit()
    document = parse(receipt.body.decode())
    form = next(f for f in document.all("form") if f.attrs["action"].startswith(ORIGIN))
    assert form.attrs["enctype"] == "multipart/form-data"
    assert _policy(receipt)["form-action"] == f"'self' {ORIGIN}"
    fields = {i.attrs["name"]: i.attrs.get("value") for i in _inputs_of(document, form)}
    assert list(fields)[-1] == "file"  # S3 ignores whatever follows the file
    landing = urllib.parse.urlsplit(fields["success_action_redirect"])
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"success_action_redirect": fields["success_action_redirect"]} in policy["conditions"]
    # The browser posts the file to S3; S3 stores it and redirects here (without the reporter's cookie).
    s3().put_object(Bucket=BUCKET, Key=fields["key"], Body=jpeg_with_gps())
    back = landing.path + "?" + landing.query + "&" + urllib.parse.urlencode(
        {"bucket": BUCKET, "key": fields["key"], "etag": '"x"'})

    first = client.http.get(back)
    again = client.http.get(back)

    assert first.status_code == 201 and "Foto ditambahkan" in first.body.decode()
    assert again.status_code == 200 and "sudah terlampir" in again.body.decode()
    assert [e["type"] for e in json.loads(client.http.get(f"/reports/{report_id}/events", headers={
        "Authorization": f"Bearer {NASIONAL}"}).body)["events"]] == ["ReportSubmitted", "PhotoAttached"]
    tampered = back.replace("tiket=LAP", "tiket=LAP-2222222222.x")
    assert client.http.get(tampered).status_code == 422
    other_key = back.replace(urllib.parse.quote(fields["key"], safe=""), "incoming%2F" + "0" * 32)
    assert client.http.get(other_key).status_code == 422
    clock.advance(seconds=tickets.TICKET_SECONDS + 60)
    assert "kedaluwarsa" in client.http.get(back).body.decode()


def test_the_reporters_page_shows_the_photos_and_offers_one_more(client, pump, clock):
    from tests.http.test_pages import Pages

    pages = Pages(client)
    report_id, token, _ = pages.submit()
    pages.track(report_id, token)
    pump.drain()
    offered = [f for f in parse(pages.get(f"/lacak/{report_id}").body.decode()).all("form")
               if f.attrs["action"].startswith(ORIGIN)]
    assert len(offered) == 1  # "Tambah foto", straight to the bucket
    upload_id = "ab" * 16
    s3().put_object(Bucket=BUCKET, Key=f"incoming/{upload_id}", Body=jpeg_with_gps())
    ticket = tickets.issue(test_settings().token_secret, report_id, upload_id, clock.now)
    assert client.http.get(f"/lacak/{report_id}/foto-tiba?tiket={ticket}").status_code == 201
    pump.drain()

    response = pages.get(f"/lacak/{report_id}")
    page = parse(response.body.decode())
    [image] = page.all("img")
    aid = attachment_id_of(upload_id)
    assert image.attrs["src"] == f"/lacak/{report_id}/foto/{aid}?ukuran=kecil"
    assert _policy(response)["img-src"] == f"'self' {ORIGIN}" and _policy(response)["form-action"] == f"'self' {ORIGIN}"
    photo = pages.get(image.attrs["src"])
    assert photo.status_code == 302 and photo.headers["Location"].startswith(ORIGIN + f"/photos/{aid}.thumb.jpg")
    stranger = client.http.get(image.attrs["src"])  # no cookie: nothing
    assert stranger.status_code == 404

