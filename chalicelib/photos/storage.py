"""The private photo bucket (LAPOR_PHOTO_BUCKET). Nothing in it is public; every read is a short-lived
presigned GET that an app route hands out after checking who asks.

| key | what | written by |
|---|---|---|
| `incoming/<upload id>` | what a browser or app uploaded, as it came | the client, with a presigned POST (one key, 1 byte – 5 MB) |
| `photos/<attachment id>.<jpg\\|png\\|webp>` | the re-encoded copy (no metadata) | the app, when the photo is attached |
| `photos/<attachment id>.thumb.jpg` | its thumbnail | the app, with it |

`incoming/` is never read back for anyone and expires by the bucket's lifecycle rule (1 day in AWS).
Locally (`lapor serve`) the bucket is on s3rver; LAPOR_S3_ENDPOINT points at it (unset in AWS).
"""
from __future__ import annotations

import functools
import urllib.parse
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.report import MAX_PHOTO_BYTES
from chalicelib.errors import ValidationFailed
from chalicelib.photos.processing import EXTENSIONS, Processed
from chalicelib.settings import Settings

UPLOAD_SECONDS = 30 * 60  # how long an upload form works (a 5 MB photo on a slow mobile connection)
VIEW_SECONDS = 5 * 60  # how long a presigned GET works: enough to load the page's images, not to pass around
# s3rver's one built-in account (it accepts no other key). LAPOR_S3_ENDPOINT is for the local server only.
LOCAL_CREDENTIALS = {"aws_access_key_id": "S3RVER", "aws_secret_access_key": "S3RVER"}


def upload_key(upload_id: str) -> str:
    return f"incoming/{upload_id}"


def photo_key(attachment_id: str, content_type: str) -> str:
    return f"photos/{attachment_id}.{EXTENSIONS[content_type]}"


def thumbnail_key(attachment_id: str) -> str:
    return f"photos/{attachment_id}.thumb.jpg"


@dataclass(frozen=True)
class UploadForm:
    """What a browser posts to upload one photo: the action URL and the hidden fields, in order."""

    upload_id: str
    url: str
    fields: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"upload_id": self.upload_id, "url": self.url, "fields": self.fields}


class PhotoStorage:
    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket, self._client = bucket, client

    def upload_form(self, upload_id: str, *, redirect: str | None = None) -> UploadForm:
        """A presigned POST for exactly `incoming/<upload id>`, 1 byte to 5 MB. With `redirect` (a page's form,
        no JavaScript), S3 answers 303 to it; without, 201 (a script or an app reads the answer).

        The policy cannot name the content type: a form without JavaScript cannot know the chosen file's type
        to send it as a field. The type is decided by the content when the photo is attached (processing)."""
        fields: dict[str, str] = {}
        conditions: list[Any] = [["content-length-range", 1, MAX_PHOTO_BYTES]]
        if redirect:
            fields["success_action_redirect"] = redirect
            conditions.append({"success_action_redirect": redirect})
        else:
            fields["success_action_status"] = "201"
            conditions.append({"success_action_status": "201"})
        post = self._client.generate_presigned_post(self.bucket, upload_key(upload_id), Fields=fields,
                                                    Conditions=conditions, ExpiresIn=UPLOAD_SECONDS)
        return UploadForm(upload_id=upload_id, url=post["url"], fields=dict(post["fields"]))

    def read_upload(self, upload_id: str, *, field: str) -> bytes:
        """The uploaded bytes (one GetObject, at most 5 MB + 1 read); 422 when there is none or it is too big."""
        from botocore.exceptions import ClientError

        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=upload_key(upload_id))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise ValidationFailed("no photo was uploaded under this upload id (or it expired)",
                                       "tidak ada foto yang diunggah dengan id ini (atau sudah kedaluwarsa)",
                                       field=field) from None
            raise
        body = answer["Body"]
        try:
            if int(answer.get("ContentLength") or 0) > MAX_PHOTO_BYTES:
                raise ValidationFailed(f"a photo must be at most {MAX_PHOTO_BYTES} bytes",
                                       f"foto paling besar {MAX_PHOTO_BYTES // (1024 * 1024)} MB", field=field)
            return body.read(MAX_PHOTO_BYTES + 1)  # one byte more than allowed: processing refuses it
        finally:
            body.close()

    def store(self, attachment_id: str, processed: Processed) -> None:
        """The processed copy and its thumbnail. The keys follow from the attachment id, so a retry writes the
        same objects again (the encoding is deterministic), never a second copy."""
        for key, data, content_type in (
                (photo_key(attachment_id, processed.content_type), processed.data, processed.content_type),
                (thumbnail_key(attachment_id), processed.thumbnail, "image/jpeg")):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                    CacheControl="private, max-age=300")

    def view_url(self, key: str) -> str:
        """A presigned GET of one processed object, valid VIEW_SECONDS (computed here: no request is made)."""
        return self._client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                   ExpiresIn=VIEW_SECONDS)

    @functools.cached_property
    def origin(self) -> str:
        """scheme://host[:port] of the bucket as browsers reach it: what the pages' CSP must allow
        (form-action for uploads, img-src for the presigned GETs photos redirect to)."""
        parts = urllib.parse.urlsplit(self._client.generate_presigned_post(self.bucket, "x")["url"])
        return f"{parts.scheme}://{parts.netloc}"


@functools.lru_cache(maxsize=8)
def _storage(bucket: str, endpoint: str | None, region: str) -> PhotoStorage:
    import boto3
    from botocore.config import Config

    if endpoint:  # the local S3-compatible server: path-style URLs on its own host and port
        client = boto3.client("s3", endpoint_url=endpoint, region_name=region, **LOCAL_CREDENTIALS,
                              config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    else:  # AWS: the regional endpoint, virtual-hosted (https://<bucket>.s3.<region>.amazonaws.com)
        client = boto3.client("s3", region_name=region, endpoint_url=f"https://s3.{region}.amazonaws.com",
                              config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    return PhotoStorage(bucket, client)


def photo_storage(settings: Settings) -> PhotoStorage | None:
    """The bucket of these settings (one client per process), or None when photos are not configured."""
    if not settings.photo_bucket:
        return None
    return _storage(settings.photo_bucket, settings.s3_endpoint, settings.region)
