"""From upload ids to the facts an AttachPhoto or SubmitReport command carries.

Exactly once per upload: an upload id names one upload slot (`incoming/<id>`), the attachment id is derived
from it (so a retry processes to the same keys and the same bytes), the command's idempotency key is derived
from it too (`photo-<upload id>`), and the aggregate refuses an attachment id it already holds. A retry whose
first attempt was acknowledged is answered from its stored record without reading the upload again (it may
have expired by then).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from typing import Iterable

from chalicelib.domain.commands import PhotoFacts
from chalicelib.errors import ValidationFailed
from chalicelib.photos.processing import process
from chalicelib.photos.storage import PhotoStorage

UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
ATTACHMENT_ID = re.compile(r"FOTO-[0-9a-f]{20}")


def new_upload_id() -> str:
    return secrets.token_hex(16)  # 128 bits: whoever holds it may attach what was uploaded under it


def attachment_id_of(upload_id: str) -> str:
    """Public, stable, and says nothing of the upload id (which stays the uploader's secret)."""
    return "FOTO-" + hashlib.sha256(f"lapor-photo:{upload_id}".encode("ascii")).hexdigest()[:20]


def idempotency_key_of(upload_id: str) -> str:
    return f"photo-{upload_id}"


def require_upload_ids(upload_ids: Iterable[str], field: str) -> tuple[str, ...]:
    ids = tuple(upload_ids)
    bad = [upload_id for upload_id in ids if not UPLOAD_ID.fullmatch(upload_id)]
    if bad:
        raise ValidationFailed("an upload id is 32 lowercase hexadecimal characters",
                               "id unggahan adalah 32 karakter heksadesimal", field=field)
    return ids


def prepare(storage: PhotoStorage, upload_ids: Iterable[str], *, field: str) -> tuple[PhotoFacts, ...]:
    """Read, check, re-encode and store each upload; the facts of the stored copies. Nothing is attached yet:
    the command that carries these facts does that (and the copies of a refused command are never listed)."""
    facts = []
    for upload_id in require_upload_ids(upload_ids, field):
        processed = process(storage.read_upload(upload_id, field=field), field=field)
        attachment_id = attachment_id_of(upload_id)
        storage.store(attachment_id, processed)
        facts.append(PhotoFacts(attachment_id=attachment_id, sha256=processed.sha256, size=len(processed.data),
                                content_type=processed.content_type, width=processed.width,
                                height=processed.height))
    return tuple(facts)
