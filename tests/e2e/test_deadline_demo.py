"""The deadline issue's "Done means", end to end: `lapor serve` as a real subprocess, a report over HTTP, a
`lapor sweep --now` four working days later as another process, and the reminder seen three ways — on the
Ombudsman's timeline, on the local /dev/outbox page, and in the local outbox file the sender writes.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from chalicelib.clock import iso, parse_instant
from chalicelib.domain.working_days import default_calendar

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "warga.samarinda@example.id"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, str, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} | (headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode("utf-8")


def _json(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, Any]:
    status, _, text = _request(method, url, body, headers)
    return status, json.loads(text)


def _env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DYNAMODB_ENDPOINT"}
    return env | {"PORT": str(port), "LAPOR_HOME": str(home), "PYTHONUNBUFFERED": "1", "LAPOR_SEND_SECONDS": "0.5"}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DYNAMODB_ENDPOINT"}
    return subprocess.run([sys.executable, "-m", "infra.cli", "--home", str(home), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _eventually(what: str, probe: Callable[[], Any], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"never saw {what}")
        time.sleep(0.2)


def _outbox_lines(home: Path) -> list[dict[str, Any]]:
    path = home / "outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def server(tmp_path):
    home, port = tmp_path / "home", _free_port()
    home.mkdir()
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "infra.cli", "serve"], cwd=ROOT, env=_env(home, port),
                               stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _request("GET", base + "/health")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.seek(0)
            pytest.fail(f"lapor serve did not start:\n{log.read()}")
        time.sleep(0.2)
    yield base, home, process, log
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    log.close()


def test_a_missed_verification_deadline_is_reminded_on_the_timeline_the_outbox_page_and_the_outbox_file(server):
    base, home, process, log = server

    code, submitted = _json("POST", base + "/reports", {
        "title": "Jalan berlubang di Jl. Juanda", "body": "Lubang besar di depan pasar Segiri sejak Januari.",
        "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.jalan-rusak",
        "reporter": {"name": "Warga Samarinda", "email": EMAIL}})
    assert code == 201, submitted
    report_id, verification_due = submitted["report_id"], submitted["verification_due"]

    # The confirmation reaches the reporter's e-mail through the local gateway: by then the stream has also
    # put the report in the due-date index (the projector feeds the index before the outbox).
    confirmation = _eventually("the confirmation in outbox.jsonl", lambda: [
        line for line in _outbox_lines(home) if report_id in line["text"] and line["channel"] == "email"])
    assert confirmation[0]["address"] == EMAIL and "Nomor pelacakan" in confirmation[0]["text"]

    # Four working days after submission (Indonesian calendar, WIB): one past the 3-day verification clock.
    four_days_later = default_calendar().deadline(datetime.now(timezone.utc), 4, "WIB")
    assert four_days_later > parse_instant(verification_due)
    swept = _cli(home, "sweep", "--now", iso(four_days_later))
    assert swept.returncode == 0, swept.stderr
    result = json.loads(swept.stdout)
    assert result["recorded"] == {"ReminderSent": 1} and result["due_reports"] == 1, result
    again = json.loads(_cli(home, "sweep", "--now", iso(four_days_later)).stdout)
    assert again["recorded"] == {}  # a second sweep records nothing new

    ombudsman = _cli(home, "token", "--role", "ombudsman")
    assert ombudsman.returncode == 0, ombudsman.stderr
    code, timeline = _json("GET", f"{base}/reports/{report_id}/timeline",
                           headers={"Authorization": "Bearer " + ombudsman.stdout.strip()})
    assert code == 200, timeline
    reminders = [step for step in timeline["steps"] if step["type"] == "ReminderSent"]
    assert len(reminders) == 1
    assert reminders[0]["by"]["role"] == "system" and "reminder" in reminders[0]["flags"]
    assert reminders[0]["at"] == iso(four_days_later)

    def outbox_page() -> str | None:
        status, content_type, page = _request("GET", base + "/dev/outbox")
        assert status == 200 and content_type.startswith("text/html")
        return page if "PENGINGAT" in page else None

    page = _eventually("PENGINGAT on /dev/outbox", outbox_page)
    assert report_id in page and "admin_nasional" in page

    reminder_lines = _eventually("the reminder in outbox.jsonl", lambda: [
        line for line in _outbox_lines(home) if "PENGINGAT" in line["text"]])
    assert len(reminder_lines) == 1
    assert report_id in reminder_lines[0]["text"] and reminder_lines[0]["channel"] == "staff"
    assert reminder_lines[0]["address"] == "admin_nasional"

    bad = _cli(home, "sweep", "--now", "garbage")
    assert bad.returncode != 0
    assert "--now must be an ISO-8601 instant" in bad.stderr and "'garbage'" in bad.stderr
    assert bad.stdout == ""
    naive = _cli(home, "sweep", "--now", "2026-03-05T10:00:00")  # no offset: which of WIB, WITA, WIT?
    assert naive.returncode != 0 and "--now must be an ISO-8601 instant with an offset" in naive.stderr

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    log.seek(0)
    assert "Stopped." in log.read()
    # Stopped: the reminder was sent once, however many sender ticks ran.
    assert len([line for line in _outbox_lines(home) if "PENGINGAT" in line["text"]]) == 1
