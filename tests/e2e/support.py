"""Driving `lapor serve` as a real subprocess (DynamoDB Local underneath) over real HTTP."""
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPORT = {"title": "Lampu jalan padam", "body": "Lampu jalan di Jl. Juanda padam sejak sepekan",
          "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.penerangan-jalan"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(method: str, url: str, body: dict | None = None, headers: dict | None = None,
         timeout: float = 30) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} | (headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def lapor(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.cli", "--home", str(home), *args], cwd=ROOT,
                          capture_output=True, text=True, check=check, timeout=300)


def token(home: Path, *args: str) -> str:
    return lapor(home, "token", *args).stdout.strip()


def bearer(home: Path, *args: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token(home, *args)}


def env(home: Path, port: int) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "DYNAMODB_ENDPOINT"}
    return values | {"PORT": str(port), "LAPOR_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def eventually(check: Callable[[], Any], what: str, timeout: float = 60, every: float = 0.1) -> Any:
    """Read models follow commands through the stream: poll until `check` returns something truthy."""
    deadline, last_error = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, KeyError) as error:  # (re)starting server
            last_error = error
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def wait_for(base: str, report_id: str, headers: dict, status: str, timeout: float = 60) -> dict:
    def seen() -> dict | None:
        code, body = call("GET", f"{base}/reports/{report_id}", headers=headers)
        return body if code == 200 and body["status"] == status else None
    return eventually(seen, f"{report_id} to show {status}", timeout)


@dataclass
class LocalServer:
    """One `lapor serve` process on a fixed port and home folder; can be stopped, killed and started again."""

    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    outputs: list[str] = field(default_factory=list)  # what each run printed, once it ended
    _log: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ignore_sigint: bool = False, timeout: float = 90, **settings: str) -> LocalServer:
        # A shell starts background jobs with SIGINT ignored; `ignore_sigint` starts it the same way.
        preexec = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
        # Output to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
        self._log = self.home.parent / f"serve-{len(self.outputs) + 1}.log"
        with self._log.open("w") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "infra.cli", "serve"], cwd=ROOT,
                                            env=env(self.home, self.port) | settings, stdout=log, stderr=subprocess.STDOUT,
                                            text=True, preexec_fn=preexec)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if call("GET", self.base + "/health", timeout=5)[0] == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"lapor serve did not start:\n{self.kill()}")
            time.sleep(0.2)

    def stop(self, signum: int = signal.SIGINT, timeout: float = 120) -> str:
        """Stop it with a signal, as a person or a service manager would; returns everything it printed."""
        assert self.process is not None
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        output = self._collect()
        assert code == 0, output
        return output

    def kill(self) -> str:
        """kill -9: no clean stop at all."""
        if self.process is None:
            return ""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        return self._collect()

    def _collect(self) -> str:
        output = self._log.read_text()
        self.outputs.append(output)
        self.process = None
        return output

    def dynamodb(self) -> Any:
        """A client of this server's DynamoDB Local (what an intruder with local access could use)."""
        import boto3

        runtime = json.loads((self.home / "runtime.json").read_text())
        return boto3.client("dynamodb", endpoint_url=runtime["dynamodb_url"], region_name="ap-southeast-3",
                            aws_access_key_id="local", aws_secret_access_key="local")


@pytest.fixture
def new_server(tmp_path):
    """A server not yet started, in a fresh home folder; killed at the end whatever happened."""
    server = LocalServer(tmp_path / "home")
    server.home.mkdir()
    yield server
    server.kill()


@pytest.fixture
def local_server(new_server):
    return new_server.start()
