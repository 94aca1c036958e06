"""A photo's bytes in, the stored copy and its thumbnail out. Pure: no I/O, no clock.

The uploaded file is never kept or served. It is opened by Pillow with only the three formats allowed (so the
format is the one its content has, whatever the upload said), refused when it has too many pixels (a
decompression bomb) or does not decode, turned by its EXIF orientation, and re-encoded from its pixels alone:
a new image is built from the decoded pixel data, so no EXIF (GPS position, camera make, model, serial, time),
XMP, IPTC, ICC profile or PNG text chunk can reach the stored copy. The cost of dropping the ICC profile: a
wide-gamut photo (Display P3) shows slightly less saturated colours.
"""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from chalicelib.domain.report import MAX_PHOTO_BYTES
from chalicelib.errors import ValidationFailed

MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is 8000 x 6000 = 48 M: above it, refused (422)
MAX_SIDE = 2048  # the stored copy's longest side; larger photos are scaled down (less to store, to send, to leak)
THUMB_SIDE = 320
JPEG_QUALITY, WEBP_QUALITY, THUMB_QUALITY = 85, 85, 80
# Pillow format name -> (content type, file extension). Nothing else is even tried by the decoder.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
EXTENSIONS = {content_type: extension for content_type, extension in FORMATS.values()}


@dataclass(frozen=True)
class Processed:
    content_type: str
    extension: str
    data: bytes
    width: int
    height: int
    thumbnail: bytes  # JPEG, at most THUMB_SIDE on its longest side

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def refuse(message: str, pesan: str, field: str) -> ValidationFailed:
    return ValidationFailed(message, pesan, field=field)


def process(raw: bytes, *, field: str = "photo") -> Processed:
    """The stored copy of an uploaded photo; ValidationFailed (422) for anything that is not a JPEG, PNG or
    WebP photo within the limits."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # here: only photo requests pay for Pillow

    if not raw:
        raise refuse("the photo is empty", "foto kosong", field)
    if len(raw) > MAX_PHOTO_BYTES:
        raise refuse(f"a photo must be at most {MAX_PHOTO_BYTES} bytes (got {len(raw)})",
                     f"foto paling besar {MAX_PHOTO_BYTES // (1024 * 1024)} MB", field)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow's own bomb guard, as an error
        try:
            image = Image.open(io.BytesIO(raw), formats=tuple(FORMATS))
            if image.format not in FORMATS:
                raise UnidentifiedImageError(image.format)
            if image.width * image.height > MAX_PIXELS:  # from the header, before decoding a single pixel
                raise Image.DecompressionBombError(f"{image.width}x{image.height}")
            image.load()
            upright = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise refuse(f"a photo may have at most {MAX_PIXELS} pixels", "foto terlalu besar (jumlah piksel)",
                         field) from None
        except UnidentifiedImageError:
            raise refuse("a photo must be a JPEG, PNG or WebP image", "foto harus berupa JPEG, PNG, atau WebP",
                         field) from None
        except (OSError, ValueError, SyntaxError, EOFError):  # truncated or corrupt data
            raise refuse("the photo cannot be read (damaged or incomplete)", "foto rusak atau tidak lengkap",
                         field) from None
    content_type, extension = FORMATS[image.format]
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    mode = "RGBA" if has_alpha and image.format != "JPEG" else "RGB"
    pixels = upright.convert(mode)
    if max(pixels.size) > MAX_SIDE:
        pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Only the pixels: a new image from the raw pixel data has no `info`, no EXIF, no XMP, no ICC profile.
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    data = _encode(clean, image.format)
    while len(data) > MAX_PHOTO_BYTES:  # a noisy PNG can re-encode larger than it came: smaller until it fits
        clean = clean.resize((max(1, clean.width * 3 // 4), max(1, clean.height * 3 // 4)), Image.Resampling.LANCZOS)
        data = _encode(clean, image.format)
    return Processed(content_type=content_type, extension=extension, data=data, width=clean.width,
                     height=clean.height, thumbnail=_thumbnail(clean))


def _encode(image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def _thumbnail(image) -> bytes:
    from PIL import Image

    small = image.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    if small.mode == "RGBA":  # JPEG has no transparency: on white, as the page shows it
        flat = Image.new("RGB", small.size, (255, 255, 255))
        flat.paste(small, mask=small.getchannel("A"))
        small = flat
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue()
