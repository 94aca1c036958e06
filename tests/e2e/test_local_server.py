"""End to end: `lapor serve` as a real subprocess on a free port, driven over real HTTP."""
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
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} | (headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DYNAMODB_ENDPOINT"}
    return env | {"PORT": str(port), "LAPOR_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def _token(home: Path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "chalicelib.cli", "--home", str(home), "token", *args],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "chalicelib.cli", "serve"], cwd=ROOT,
                               env=_env(tmp_path, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _call("GET", base + "/health")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"lapor serve did not start:\n{process.stdout.read()}")
        time.sleep(0.2)
    yield base, tmp_path, process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _wait_for(base: str, report_id: str, headers: dict, status: str) -> dict:
    """The projection is eventually consistent: poll the read model until it shows `status`."""
    deadline = time.monotonic() + 30
    code, body = None, None
    while True:
        try:
            code, body = _call("GET", f"{base}/reports/{report_id}", headers=headers)
        except (urllib.error.URLError, ConnectionError):  # a (re)starting server is not listening yet
            pass
        if code == 200 and body["status"] == status:
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"report never reached {status}: last {code} {body}")
        time.sleep(0.1)


def test_a_report_travels_its_whole_life_through_the_running_local_server(server):
    base, home, process = server
    national = {"Authorization": "Bearer " + _token(home, "--role", "admin_nasional")}
    institution = {"Authorization": "Bearer " + _token(home, "--role", "admin_instansi",
                                                       "--institution", "pemkot-samarinda")}
    liaison = {"Authorization": "Bearer " + _token(home, "--role", "admin_penghubung",
                                                   "--institution", "pemkot-samarinda", "--unit", "dinas-pupr")}

    code, submitted = _call("POST", base + "/reports", {
        "title": "Drainase tersumbat", "body": "Saluran air di Jl. Pahlawan tersumbat sampah, banjir tiap hujan",
        "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.drainase"})
    assert code == 201 and submitted["status"] == "submitted"
    report_id, reporter = submitted["report_id"], {"X-Report-Token": submitted["access_token"]}
    assert _wait_for(base, report_id, reporter, "submitted")["title"] == "Drainase tersumbat"
    assert _call("GET", f"{base}/reports/{report_id}")[0] == 404  # unverified: not public yet

    steps = [
        (national, "verification", {"institution_id": "pemkot-samarinda"}, "disposed"),
        (institution, "assignment", {"unit_id": "dinas-pupr"}, "assigned"),
        (liaison, "follow-ups", {"message": "Petugas dijadwalkan membersihkan saluran"}, "in_progress"),
        (liaison, "follow-ups", {"message": "Saluran sudah dibersihkan", "final": True}, "answered"),
        (reporter, "acceptance", {"rating": 5, "comment": "Terima kasih"}, "closed"),
    ]
    for headers, action, body, expected in steps:
        code, result = _call("POST", f"{base}/reports/{report_id}/{action}", body, headers)
        assert (code, result["status"]) == (200, expected), result
        seen = _wait_for(base, report_id, reporter, expected)
        assert seen["version"] == result["version"]

    public = _call("GET", f"{base}/reports/{report_id}")
    assert public[0] == 200 and public[1]["bucket"] == "selesai"
    code, chain = _call("GET", f"{base}/reports/{report_id}/chain-verification",
                        headers={"Authorization": "Bearer " + _token(home, "--role", "auditor")})
    assert code == 200 and chain["valid"] and chain["events"] == 7

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    assert "Stopped." in process.stdout.read()
