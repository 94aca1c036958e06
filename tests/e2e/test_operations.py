"""End to end: a restart of `lapor serve` keeps every report; the operator and auditor commands work on it."""
from __future__ import annotations

import json
import signal
from datetime import datetime, timedelta, timezone

from tests.e2e.support import call as _call
from tests.e2e.support import eventually
from tests.e2e.support import lapor as _lapor
from tests.e2e.support import token as _token
from tests.e2e.support import wait_for as _wait_for


def _submit(base: str, title: str) -> dict:
    code, body = _call("POST", base + "/reports", {
        "title": title, "body": "Lampu jalan di Jl. Juanda padam sejak sepekan", "type": "complaint",
        "region_code": "64.72", "category_id": "infrastruktur.penerangan-jalan"})
    assert code == 201, body
    return body


def test_operator_commands_and_a_restart_keep_every_report(local_server, tmp_path):
    base, home = local_server.base, local_server.home
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

    # Reprojecting a report through the running server (which alone appends to the archive file) adds nothing
    # where everything is already there: the archive still holds each event once.
    again = _lapor(home, "reproject", first["report_id"])
    assert f"{first['report_id']}: 2 event(s); every read model has them" in again.stdout
    assert "OK: 3 events of 2 reports" in _lapor(home, "verify", "--drained").stdout
    missing = _lapor(home, "reproject", "LAP-2222222222", check=False)
    assert missing.returncode == 1 and "LAP-2222222222" in missing.stderr

    # Stop and start again: DynamoDB Local kept every report (nothing is replayed from the archive).
    assert "Stopped." in local_server.stop(signal.SIGINT)
    local_server.start()
    _wait_for(base, first["report_id"], reporter, "disposed")
    _wait_for(base, second["report_id"], {"X-Report-Token": second["access_token"]}, "submitted")
    eventually(lambda: _call("GET", f"{base}/stats/regions/64.72?period={today.year}")[1]["figures"]["received"] == 2,
               "statistics of both reports after the restart")
    assert "Imported" not in local_server.stop(signal.SIGINT)
