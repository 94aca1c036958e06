"""A server `lapor serve` runs as its child (DynamoDB Local, the S3-compatible store): started in its own
session, so a Ctrl-C in the terminal reaches only `lapor serve` (which drains the stream before it stops them);
with PR_SET_PDEATHSIG, so a `kill -9` of `lapor serve` cannot leave one behind holding its files; its output
appended to a log file; stopped with SIGTERM, then SIGKILL if it does not go."""
from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any, Sequence

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
