"""A server `lapor serve` runs as its child (DynamoDB Local, the S3-compatible store): started in its own
session, so a Ctrl-C in the terminal reaches only `lapor serve` (which drains the stream before it stops them);
with PR_SET_PDEATHSIG, so a `kill -9` of `lapor serve` cannot leave one behind holding its files; its output
appended to a log file; stopped with SIGTERM, then SIGKILL if it does not go."""
from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Sequence

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: be killed when `lapor serve` dies, however it dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class ChildServer:
    """One child server process on 127.0.0.1:`port`."""

    def __init__(self, *, port: int | None, log_path: Path | None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _spawn(self, command: Sequence[str], cwd: Path) -> None:
        output: Any = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(list(command), stdout=output, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True,
                                             preexec_fn=_die_with_parent, cwd=str(cwd))
        finally:
            if self.log_path:
                output.close()

    def _wait_until(self, answers: Callable[[], Any], name: str, timeout: float) -> None:
        """Poll `answers` until it stops raising: the server listens. Its exit, or the timeout, is an error."""
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {self._process.returncode} at start"
                                   + (f"; see {self.log_path}" if self.log_path else ""))
            try:
                answers()
                return
            except Exception:  # noqa: BLE001 — not listening yet
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s") from None
                time.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (the server closes its files), then SIGKILL if it does not go."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
