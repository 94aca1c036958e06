"""Reporter identity checks: Indonesian phone numbers and NIK, both validated by lokal-id.

Phone numbers are stored in one canonical form (E.164, "+6281234567890") so the same reporter writing
"0812-3456-7890" or "+62 812 3456 7890" is recognised as one person and SMS replies reach them. A NIK can
only be checked for structure (region code, birth date, serial), never for registration at Dukcapil.
"""
from __future__ import annotations

__all__ = ["InvalidPhoneNumber", "is_valid_nik", "normalize_phone"]


class InvalidPhoneNumber(ValueError):
    """Not a usable Indonesian phone number. The number itself is left out of the message: it is personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not a valid Indonesian phone number: {reason}")
        self.reason = reason


def normalize_phone(raw: str) -> str:
    """Canonical E.164 form ("+62…") of an Indonesian mobile or landline number; raises InvalidPhoneNumber."""
    # Imported here: importing lokal compiles its PII detectors (~0.1 s), a cost only callers should pay.
    from lokal import parse_phone

    if not isinstance(raw, str):
        raise InvalidPhoneNumber(f"expected text, got {type(raw).__name__}")
    info = parse_phone(raw)
    if not info.valid or info.e164 is None:
        # lokal-id's reasons are Indonesian ("Nomor harus diawali 0, 62, atau +62."); keep them for the user.
        raise InvalidPhoneNumber("; ".join(issue.message for issue in info.errors) or "unrecognised format")
    return info.e164


def is_valid_nik(raw: str) -> bool:
    """True when ``raw`` has the structure of a 16-digit NIK (known province, real birth date, serial not 0000)."""
    from lokal import is_valid_nik as lokal_is_valid_nik

    return isinstance(raw, str) and lokal_is_valid_nik(raw)
