"""Photos for the photo tests, made with Pillow in the test: a JPEG carrying GPS and camera EXIF, PNGs, junk."""
from __future__ import annotations

import io


def jpeg_with_gps(size: tuple[int, int] = (64, 48), *, orientation: int | None = None, color: str = "red") -> bytes:
    """A JPEG whose EXIF says where it was taken (Samarinda), with which camera, and by whom."""
    from PIL import Image

    image = Image.new("RGB", size, color)
    image.paste((0, 0, 255), (0, 0, 12, 12))  # a blue top-left corner shows which way the photo was turned
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model X-1708"  # Model
    exif[0x013B] = "Siti Pelapor"  # Artist
    exif[0xA431] = "SN-123456789"  # BodySerialNumber (Exif IFD tag, stored here as a plain tag)
    if orientation is not None:
        exif[0x0112] = orientation
    gps = {1: "S", 2: (0.0, 29.0, 41.0), 3: "E", 4: (117.0, 8.0, 37.0), 5: 0, 6: 12.0}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (40, 30), mode: str = "RGBA", **info: str) -> bytes:
    from PIL import Image, PngImagePlugin

    image = Image.new(mode, size, (0, 128, 0, 128) if mode == "RGBA" else "green")
    text = PngImagePlugin.PngInfo()
    for key, value in info.items():
        text.add_text(key, value)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=text)
    return out.getvalue()


def webp(size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "yellow").save(out, "WEBP", exif=b"Exif\x00\x00" + _exif_bytes())
    return out.getvalue()


def _exif_bytes() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    return exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif") else exif.tobytes()


def gif() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


def bomb_png(side: int = 8000) -> bytes:
    """A tiny file of 64 megapixels: a decompression bomb for a 40-megapixel limit."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()
