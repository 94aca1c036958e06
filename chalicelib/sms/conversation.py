"""What an inbound SMS means (the conversation rules of SMS 1708) and what LAPOR! answers, in Indonesian.

Rules, in order:
1. an empty or whitespace-only message gets the help text, not a report;
2. `STOP`, `BERHENTI` (or `UNREG`) ends notifications to the number; `MULAI` (or `START`) resumes them;
3. `CEK <tracking id>` (also `CEK#…`, `CEKLAP-…`, `STATUS …`, with or without `LAP-`, any case or spacing)
   answers with that report's status — to its own reporter, or to anyone when the report is public;
4. anything else from a number whose report is on hold (the verifier asked a question) is the answer;
5. anything else is a new report. `ANONIM` or `RAHASIA` at the start of it asks for an anonymous or a
   confidential report (DOMAIN §4), and is not part of the text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.domain.vocabulary import Status

_STOP = frozenset({"STOP", "BERHENTI", "UNREG"})
_RESUME = frozenset({"MULAI", "START"})
_CHECK = re.compile(r"^(?:CEK|STATUS)\s*[#:.\-]?\s*(?:LAP\s*[-#:.]?\s*)?([A-Z0-9]{10})\s*$")
_MISTYPED_CHECK = re.compile(r"^(?:CEK|STATUS)\s*[#:.\-]?\s*(?:LAP\s*[-#:.]?\s*)?[A-Z0-9]{0,14}$")
_FLAGS = re.compile(r"^((?:(?:ANONIM|RAHASIA)\b[\s,.:;-]*)+)", re.IGNORECASE)


@dataclass(frozen=True)
class Help:
    """Empty, or a keyword without what it needs: answered with how to use SMS 1708."""

    about_check: bool = False


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class CheckStatus:
    report_id: str


@dataclass(frozen=True)
class Text:
    """A new report, or the answer to a report on hold."""

    body: str
    anonymous: bool = False
    confidential: bool = False


Intent = Help | Stop | Resume | CheckStatus | Text


def classify(text: str) -> Intent:
    words = " ".join(text.split())
    upper = words.upper()
    if not words:
        return Help()
    if upper.rstrip(".!") in _STOP:
        return Stop()
    if upper.rstrip(".!") in _RESUME:
        return Resume()
    check = _CHECK.match(upper)
    if check:
        return CheckStatus("LAP-" + check.group(1))
    if _MISTYPED_CHECK.match(upper):  # "CEK" with no tracking id, or one of the wrong length
        return Help(about_check=True)
    flags = _FLAGS.match(words)
    if flags:
        named = flags.group(1).upper()
        body = words[flags.end():].strip()
        if not body:
            return Help()
        return Text(body, anonymous="ANONIM" in named, confidential="RAHASIA" in named)
    return Text(words)


HELP = ("LAPOR! SMS 1708: kirim isi laporan Anda (apa, di mana, kapan). CEK LAP-XXXXXXXXXX untuk status "
        "laporan. STOP untuk berhenti menerima SMS.")
HELP_CHECK = "LAPOR! Format cek status: CEK LAP-XXXXXXXXXX (nomor pelacakan dari SMS tanda terima laporan Anda)."
STOPPED = "LAPOR! Anda tidak akan menerima SMS LAPOR! lagi. Kirim MULAI untuk menerimanya kembali."
RESUMED = "LAPOR! SMS pemberitahuan LAPOR! untuk nomor ini aktif kembali."
CLARIFIED = "LAPOR! Terima kasih, jawaban Anda untuk laporan {report_id} diterima. Laporan akan diverifikasi ulang."
NOT_FOUND = "LAPOR! Laporan {report_id} tidak ditemukan. Periksa kembali nomor pelacakannya."

STATUS_TEXT = {
    Status.SUBMITTED: "menunggu verifikasi",
    Status.ON_HOLD: "menunggu penjelasan dari Anda (balas SMS ini)",
    Status.ARCHIVED: "diarsipkan",
    Status.DISPOSED: "diteruskan ke {institution}",
    Status.ASSIGNED: "sedang ditangani {institution}",
    Status.RETURNED: "dikembalikan untuk didisposisikan ulang",
    Status.IN_PROGRESS: "dalam proses tindak lanjut oleh {institution}",
    Status.ANSWERED: "telah dijawab {institution}; tanggapi dalam batas waktu",
    Status.CLOSED: "selesai",
}


def status_text(report_id: str, status: Status, institution: str | None) -> str:
    detail = STATUS_TEXT[status].format(institution=institution or "instansi terkait")
    return f"LAPOR! Status laporan {report_id}: {detail}."
