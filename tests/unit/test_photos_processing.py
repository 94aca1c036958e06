"""The stored copy of a photo: the real format by content, limits, EXIF orientation, and nothing of the original's
metadata (GPS position, camera, owner) left in it or in its thumbnail."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.domain.report import MAX_PHOTO_BYTES
from chalicelib.errors import ValidationFailed
from chalicelib.photos.processing import MAX_SIDE, THUMB_SIDE, process
from tests.support.photos import bomb_png, gif, jpeg_with_gps, png, webp

SECRETS = (b"SecretCam", b"Model X-1708", b"Siti Pelapor", b"SN-123456789")


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_the_test_photo_really_carries_gps_and_camera_exif():
    original = _open(jpeg_with_gps())
    exif = original.getexif()
    assert exif[0x010F] == "SecretCam" and exif[0x0110] == "Model X-1708"
    assert exif.get_ifd(0x8825)[1] == "S" and exif.get_ifd(0x8825)[3] == "E"  # latitude/longitude refs
    assert all(secret in jpeg_with_gps() for secret in SECRETS)


def test_gps_and_camera_exif_are_gone_from_the_stored_copy_and_the_thumbnail():
    processed = process(jpeg_with_gps())

    for data in (processed.data, processed.thumbnail):
        image = _open(data)
        assert not image.getexif(), dict(image.getexif())
        assert "exif" not in image.info and "icc_profile" not in image.info and "xmp" not in image.info
        assert not any(secret in data for secret in SECRETS)
        assert b"Exif" not in data and b"http://ns.adobe.com/xap" not in data
    assert processed.content_type == "image/jpeg" and processed.extension == "jpg"
    assert (processed.width, processed.height) == (64, 48)


def test_the_exif_orientation_is_applied_before_it_is_dropped():
    processed = process(jpeg_with_gps((64, 48), orientation=6))  # 6: the camera was turned 90° clockwise

    image = _open(processed.data)
    assert image.size == (48, 64) == (processed.width, processed.height)
    assert not image.getexif()
    r, g, b = image.getpixel((43, 4))  # the original top-left (blue) is now top-right
    assert b > 150 and r < 100
    assert image.getpixel((4, 4))[0] > 150  # and the top-left is red


def test_png_text_chunks_are_dropped_and_transparency_is_kept():
    processed = process(png(Author="Siti Pelapor", Location="-0.49,117.14"))

    image = _open(processed.data)
    assert processed.content_type == "image/png" and image.mode == "RGBA"
    assert not image.info.get("Author") and b"Siti Pelapor" not in processed.data and b"117.14" not in processed.data
    assert _open(processed.thumbnail).format == "JPEG"


def test_webp_exif_is_dropped():
    original = webp()
    assert b"SecretCam" in original

    processed = process(original)
    assert processed.content_type == "image/webp" and b"SecretCam" not in processed.data
    assert not _open(processed.data).getexif()


def test_the_format_is_the_contents_whatever_the_upload_called_it():
    # A PNG is a PNG even if a form said image/jpeg: the type is decided here, by the bytes.
    assert process(png(mode="RGB")).content_type == "image/png"


def test_a_large_photo_is_scaled_down_and_its_thumbnail_is_small():
    image = Image.new("RGB", (4000, 3000), "white")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)

    processed = process(out.getvalue())
    assert (processed.width, processed.height) == (MAX_SIDE, 1536)
    assert max(_open(processed.thumbnail).size) == THUMB_SIDE


def test_processing_is_deterministic_so_a_retry_writes_the_same_object():
    assert process(jpeg_with_gps()).data == process(jpeg_with_gps()).data
    assert process(jpeg_with_gps()).sha256 == process(jpeg_with_gps()).sha256


@pytest.mark.parametrize("raw, problem", [
    (b"", "empty"),
    (b"%PDF-1.4 not a photo at all", "JPEG, PNG or WebP"),
    (gif(), "JPEG, PNG or WebP"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "JPEG, PNG or WebP"),
    (jpeg_with_gps()[:300], "damaged"),
    (bomb_png(), "pixels"),
    (b"\xff\xd8" + b"\x00" * MAX_PHOTO_BYTES, "at most"),
], ids=["empty", "pdf", "gif", "svg", "truncated", "decompression-bomb", "over-5-MB"])
def test_anything_but_a_jpeg_png_or_webp_photo_within_the_limits_is_refused(raw, problem):
    with pytest.raises(ValidationFailed) as refused:
        process(raw, field="upload_id")
    assert problem in refused.value.message
    assert refused.value.details["field"] == "upload_id"
