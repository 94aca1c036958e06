"""Texts that fit SMS: GSM-7 only, at most 160 septets per message, longer ones split into numbered parts.

A single character outside the GSM 03.38 alphabet (a curly quote, an emoji) would switch the whole
message to UCS-2, where a message holds only 70 characters — so texts are first brought into GSM-7
(typographic punctuation to its plain form, anything else to "?"). Septets are counted with the
`gsm0338` codec, which encodes the extension characters ({ } [ ] ~ \\ | ^ €) as two, as the network does.
Parts are sent as separate messages, each prefixed "(k/n) ", so they read correctly even on phones and
gateways that do not reassemble concatenated SMS.
"""
from __future__ import annotations

import unicodedata

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

SINGLE_SMS_SEPTETS = 160
_PLAIN = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-",
                        "…": "...", "\u00a0": " ", "\t": " ", "•": "-", "×": "x"})


def septets(text: str) -> int:
    return len(text.encode("gsm03.38"))


def to_gsm7(text: str) -> str:
    """The text in the GSM-7 alphabet: plain punctuation for typographic one, accents dropped where GSM
    has no such letter, "?" for anything else."""
    out = []
    for char in text.translate(_PLAIN):
        if _encodable(char):
            out.append(char)
            continue
        stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(stripped if stripped and all(_encodable(c) for c in stripped) else "?")
    return "".join(out)


def _encodable(char: str) -> bool:
    try:
        char.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def sms_parts(text: str, limit: int = SINGLE_SMS_SEPTETS) -> list[str]:
    """The text as SMS messages of at most `limit` septets each: one if it fits, else numbered parts
    broken at spaces where possible."""
    text = " ".join(to_gsm7(text).split())
    if septets(text) <= limit:
        return [text]
    for total in range(2, 100):  # the "(k/n) " prefix grows with n: find the n the text really needs
        parts = _split(text, lambda k: f"({k}/{total}) ", limit)
        if len(parts) <= total:
            return [f"({k}/{len(parts)}) {part}" for k, part in enumerate(parts, start=1)]
    raise ValueError("text too long for SMS")


def _split(text: str, prefix, limit: int) -> list[str]:
    parts, words, current = [], text.split(" "), ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        room = limit - septets(prefix(len(parts) + 1))
        if septets(candidate) <= room:
            current = candidate
            continue
        if current:
            parts.append(current)
        while septets(word) > room:  # a word longer than a message (a URL): cut it
            cut = room
            while septets(word[:cut]) > room:
                cut -= 1
            parts.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        parts.append(current)
    return parts
