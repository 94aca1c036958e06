"""End to end: a restart of `lapor serve` keeps every report; the operator and auditor commands work on it."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from tests.e2e.test_local_server import ROOT, _call, _token, _wait_for, server  # noqa: F401  (fixture)


def _lapor(home, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", "--home", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, check=check, timeout=120)


def _submit(base: str, title: str) -> dict:
    code, body = _call("POST", base + "/reports", {
        "title": title, "body": "Lampu jalan di Jl. Juanda padam sejak sepekan", "type": "complaint",
        "region_code": "64.72", "category_id": "infrastruktur.penerangan-jalan"})
    assert code == 201, body
    return body


def test_operator_commands_and_a_restart_keep_every_report(server, tmp_path):
    base, home, process = server
    national = {"Authorization": "Bearer " + _token(home, "--role", "admin_nasional")}
    first, second = _submit(base, "Lampu padam 1"), _submit(base, "Lampu padam 2")
    code, _ = _call("POST", f"{base}/reports/{first['report_id']}/verification",
                    {"institution_id": "pemkot-samarinda"}, national)
    assert code == 200
    reporter = {"X-Report-Token": first["access_token"]}
    _wait_for(base, first["report_id"], reporter, "disposed")
    _wait_for(base, second["report_id"], {"X-Report-Token": second["access_token"]}, "submitted")

    # The whole log verifies, and so does an export of it, offline.
    verified = _lapor(home, "verify")
    assert "OK: 3 events of 2 reports" in verified.stdout
    today = datetime.now(timezone.utc).date()
    export = tmp_path / "export.jsonl"
    _lapor(home, "export", "--from", (today - timedelta(days=1)).isoformat(), "--to",
           (today + timedelta(days=1)).isoformat(), "--out", str(export))
    lines = export.read_text().splitlines()
    assert len(lines) == 3 and "OK: 3 events" in _lapor(home, "verify", "--archive", str(export)).stdout

    # An altered event in an export is caught, and named.
    tampered = [json.loads(line) for line in lines]
    victim = next(e for e in tampered if e["type"] == "ReportVerified")
    victim["data"]["institution_id"] = "pemkot-balikpapan"
    forged = tmp_path / "forged.jsonl"
    forged.write_text("".join(json.dumps(e) + "\n" for e in tampered))
    refused = _lapor(home, "verify", "--archive", str(forged), check=False)
    assert refused.returncode == 1
    assert f"{first['report_id']}: first broken event is version 2: content does not match its hash" in refused.stdout

    # Replay as of an instant before the verification shows the report as it was then.
    submitted_at = json.loads(lines[0])["occurred_at"] if json.loads(lines[0])["stream_id"] == first["report_id"] \
        else next(json.loads(l)["occurred_at"] for l in lines if json.loads(l)["stream_id"] == first["report_id"])
    then = json.loads(_lapor(home, "replay", first["report_id"], "--as-of", submitted_at).stdout)
    assert (then["status"], then["version"]) == ("submitted", 1) and "access_token_hash" not in then
    assert json.loads(_lapor(home, "replay", first["report_id"]).stdout)["status"] == "disposed"

    # A rebuild into fresh tables serves the same views.
    before = _call("GET", f"{base}/reports/{first['report_id']}", headers=reporter)[1]
    rebuilt = _lapor(home, "rebuild", "report_views")
    assert "rebuilt report_views" in rebuilt.stdout and "events/s" in rebuilt.stderr
    after = _call("GET", f"{base}/reports/{first['report_id']}", headers=reporter)[1]
    assert after == before

    # Stop and start again: the archive restores every report.
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    restarted = subprocess.Popen([sys.executable, "-m", "chalicelib.cli", "serve"], cwd=ROOT,
                                 env=_restart_env(home, base), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True)
    try:
        _wait_for(base, first["report_id"], reporter, "disposed")
        _wait_for(base, second["report_id"], {"X-Report-Token": second["access_token"]}, "submitted")
        # Statistics are projected right after the view of the same event: wait for them too.
        deadline = time.monotonic() + 30
        while True:
            code, statistics = _call("GET", f"{base}/stats/regions/64.72?period={today.year}")
            if code == 200 and statistics["figures"]["received"] == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert code == 200 and statistics["figures"]["received"] == 2
    finally:
        restarted.send_signal(signal.SIGINT)
        code = restarted.wait(timeout=20)
    output = restarted.stdout.read()
    assert code == 0, output
    assert "Restored 2 reports (3 events) from the archive." in output


def _restart_env(home, base: str) -> dict[str, str]:
    from tests.e2e.test_local_server import _env

    return _env(home, int(base.rsplit(":", 1)[1]))
