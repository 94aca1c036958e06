"""The disk fills up under `lapor serve`, or its database dies: nothing more is acknowledged (a 503 the client
may retry), and every report acknowledged before is there once the disk has room again."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import datetime, timezone

import pytest

from tests.e2e.support import REPORT, LocalServer, call, eventually

LONG = REPORT | {"body": "Jalan berlubang di depan pasar. " * 120}  # ~4 KB: fills a small disk quickly


def _mount(path, size: str, remount: bool = False) -> str | None:
    """None when mounted; else why not (mount's own message)."""
    options = f"remount,size={size}" if remount else f"size={size}"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stderr.strip() or f"mount exited {done.returncode}")


@pytest.fixture
def small_disk(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    # Root machines like this one and CI mount a 6 MB tmpfs; elsewhere the reason is the machine's own.
    refused = "not root" if os.geteuid() != 0 else _mount(home, "6m")
    if refused:
        pytest.skip(f"a small disk for lapor serve needs a tmpfs mount, and this machine refused it: {refused}")
    yield LocalServer(home)
    subprocess.run(["umount", "-l", str(home)], capture_output=True)


def test_a_full_disk_refuses_with_503_and_loses_no_acknowledged_report(small_disk):
    server = small_disk.start()
    try:
        acknowledged, refusal = [], None
        for _ in range(5000):
            code, body = call("POST", server.base + "/reports", LONG)
            if code != 201:
                refusal = (code, body)
                break
            acknowledged.append(body)
        assert refusal is not None and acknowledged, "the disk never filled up"
        assert refusal[0] == 503 and refusal[1]["code"] == "storage_unavailable", refusal
        assert call("POST", server.base + "/reports", LONG)[0] == 503  # still full: still refused, still JSON
        server.kill()

        assert _mount(server.home, "256m", remount=True) is None  # the operator frees space
        server.start()
        year = datetime.now(timezone.utc).year
        eventually(lambda: call("GET", f"{server.base}/stats/regions/64.72?period={year}")[1]["figures"]
                   ["received"] == len(acknowledged), f"all {len(acknowledged)} acknowledged reports counted",
                   timeout=240)
        for report in acknowledged:
            code, view = call("GET", f"{server.base}/reports/{report['report_id']}",
                              headers={"X-Report-Token": report["access_token"]})
            assert code == 200 and view["version"] == 1
        server.stop()
        archived = [json.loads(line)["stream_id"] for line in (server.home / "archive.jsonl").read_text().splitlines()]
        assert sorted(archived) == sorted(report["report_id"] for report in acknowledged)
    finally:
        server.kill()


def test_a_dead_database_refuses_with_503_and_the_stop_says_what_it_could_not_drain(local_server):
    server = local_server
    runtime = json.loads((server.home / "runtime.json").read_text())
    os.kill(int(runtime["dynamodb_pid"]), signal.SIGKILL)
    code, body = call("POST", server.base + "/reports", REPORT)
    assert (code, body["code"]) == (503, "storage_unavailable")
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=120) == 1
    assert "the stream could not be drained" in server.kill()
