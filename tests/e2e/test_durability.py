"""Nothing acknowledged is ever lost: `lapor serve` on DynamoDB Local, driven over HTTP, stopped every way.

A 2xx means the event is on disk and will reach every read model, the archive and the outbox — across
concurrent retries, colliding commands, Ctrl-C, SIGTERM, kill -9 and restarts.
"""
from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from tests.e2e.support import REPORT, LocalServer, bearer, call, eventually, wait_for

# The pump sleeps this long when the stream is idle: what it has not delivered yet is left to the stop (or the
# restart) to deliver.
PUMP_ASLEEP = {"LAPOR_STREAM_POLL_SECONDS": "3600"}


def submit_many(base: str, n: int, workers: int = 16) -> list[dict]:
    def one(i: int) -> tuple[int, dict]:
        return call("POST", base + "/reports", REPORT | {"title": f"Lampu jalan padam nomor {i}"})

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, range(n)))
    assert [code for code, _ in results] == [201] * n, [body for code, body in results if code != 201][:3]
    return [body for _, body in results]


def received_in_samarinda(base: str) -> int:
    code, body = call("GET", f"{base}/stats/regions/64.72?period={datetime.now(timezone.utc).year}")
    return body["figures"]["received"] if code == 200 else -1


def national_queue(base: str, national: dict) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        code, page = call("GET", f"{base}/queue?limit=100" + (f"&cursor={cursor}" if cursor else ""),
                          headers=national)
        assert code == 200, page
        ids |= {item["report_id"] for item in page["reports"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def every_report_is_there(server: LocalServer, acknowledged: list[dict], timeout: float = 90) -> None:
    """Each acknowledged report is readable by its reporter (after a crash, once the pump has caught up)."""
    for report in acknowledged:
        def readable() -> bool:
            code, view = call("GET", f"{server.base}/reports/{report['report_id']}",
                              headers={"X-Report-Token": report["access_token"]})
            return (code, view.get("version")) == (200, 1)
        eventually(readable, f"report {report['report_id']} to be readable", timeout)


def archived(server: LocalServer) -> list[tuple[str, int]]:
    path = server.home / "archive.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(event["stream_id"], event["version"]) for event in map(json.loads, lines)]


def test_200_concurrent_submissions_then_ctrl_c_and_a_restart_keep_every_report_counted_once(new_server):
    # Time enough for the stop to drain all 200 (a stop's drain is bounded; test_load.py covers a backlog).
    server = new_server.start(**PUMP_ASLEEP, LAPOR_STOP_DRAIN_SECONDS="300")
    acknowledged = submit_many(server.base, 200)
    assert len(archived(server)) < 200  # the pump is asleep: much is not projected yet
    output = server.stop(signal.SIGINT)
    assert "Stopped." in output and "Traceback" not in output

    # The clean stop drained the stream before stopping the database: the archive already has all 200.
    assert sorted(archived(server)) == sorted((report["report_id"], 1) for report in acknowledged)
    server.start()
    every_report_is_there(server, acknowledged)
    assert received_in_samarinda(server.base) == 200
    national = bearer(server.home, "--role", "admin_nasional")
    assert {report["report_id"] for report in acknowledged} <= national_queue(server.base, national)
    assert "Imported" not in server.stop(signal.SIGTERM)  # the database, not an archive replay, kept them


def test_kill_minus_9_loses_no_acknowledged_report_and_the_restart_projects_what_was_pending(new_server):
    server = new_server.start(**PUMP_ASLEEP)
    acknowledged = submit_many(server.base, 120)
    projected_before_the_kill = len(archived(server))
    server.kill()  # no drain, no clean stop: DynamoDB Local dies with it (PR_SET_PDEATHSIG)
    assert projected_before_the_kill < 120 and len(archived(server)) == projected_before_the_kill

    server.start()
    every_report_is_there(server, acknowledged)
    eventually(lambda: received_in_samarinda(server.base) == 120, "statistics of all 120 reports")
    server.stop()
    # Redelivered records after the restart were not archived (or counted) twice.
    assert sorted(archived(server)) == sorted((report["report_id"], 1) for report in acknowledged)


def test_the_same_key_sent_ten_times_at_once_is_one_report_and_the_system_keeps_projecting(local_server):
    server = local_server
    headers = {"Idempotency-Key": "phone-retry-0001"}
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: call("POST", server.base + "/reports", REPORT, headers), range(10)))
    assert {code for code, _ in results} == {201}
    assert len({body["report_id"] for _, body in results}) == 1
    assert len({body["access_token"] for _, body in results}) == 1  # every retry can track the report
    (keyed_id,) = {body["report_id"] for _, body in results}

    code, other = call("POST", server.base + "/reports", REPORT | {"title": "Laporan berikutnya"})
    assert code == 201
    national = bearer(server.home, "--role", "admin_nasional")
    queue = eventually(lambda: (ids := national_queue(server.base, national)) >= {keyed_id, other["report_id"]}
                       and ids, "both reports in the national admin's queue", timeout=15)
    assert queue == {keyed_id, other["report_id"]}  # no phantom from a refused write
    assert eventually(lambda: received_in_samarinda(server.base) == 2 or None, "statistics")
    server.stop()
    assert sorted(archived(server)) == sorted([(keyed_id, 1), (other["report_id"], 1)])


def test_colliding_commands_on_one_report_lose_with_409_and_write_nothing(local_server):
    server = local_server
    code, report = call("POST", server.base + "/reports", REPORT)
    assert code == 201
    report_id = report["report_id"]
    national = bearer(server.home, "--role", "admin_nasional")

    def verify(n: int) -> tuple[int, dict]:
        return call("POST", f"{server.base}/reports/{report_id}/verification", {"institution_id": "pemkot-samarinda"},
                    national | {"Idempotency-Key": f"verify-attempt-{n:04d}"})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(verify, range(8)))
    codes = sorted(code for code, _ in results)
    assert codes.count(200) == 1 and set(codes) == {200, 409}, results
    assert {body["code"] for code, body in results if code == 409} <= {"concurrency_conflict", "invalid_transition"}

    auditor = bearer(server.home, "--role", "auditor")
    code, history = call("GET", f"{server.base}/reports/{report_id}/events", headers=auditor)
    assert code == 200 and [event["type"] for event in history["events"]] == ["ReportSubmitted", "ReportVerified"]
    wait_for(server.base, report_id, {"X-Report-Token": report["access_token"]}, "disposed", timeout=15)
    code, later = call("POST", server.base + "/reports", REPORT | {"title": "Sesudah tabrakan"})
    assert code == 201
    wait_for(server.base, later["report_id"], {"X-Report-Token": later["access_token"]}, "submitted", timeout=15)


def test_sigint_stops_a_server_started_in_the_background_with_sigint_ignored(tmp_path):
    server = LocalServer(tmp_path / "home")
    server.home.mkdir()
    server.start(ignore_sigint=True)
    try:
        code, report = call("POST", server.base + "/reports", REPORT)
        assert code == 201
        assert "Stopped." in server.stop(signal.SIGINT, timeout=60)
        assert archived(server) == [(report["report_id"], 1)]
    finally:
        server.kill()


def test_a_second_server_on_the_same_folder_is_refused(local_server):
    import subprocess
    import sys

    from tests.e2e.support import ROOT, env, free_port

    refused = subprocess.run([sys.executable, "-m", "infra.cli", "serve"], cwd=ROOT, timeout=60,
                             env=env(local_server.home, free_port()), capture_output=True, text=True)
    assert refused.returncode != 0
    assert "another server is already running" in refused.stderr
    assert call("GET", local_server.base + "/health")[0] == 200  # the first one is untouched
