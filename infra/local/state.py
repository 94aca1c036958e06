"""Where a local installation keeps what must survive a restart.

`.lapor/` (or $LAPOR_HOME): `db/` (DynamoDB Local's files: every table, item and stream record),
`stream-checkpoint.json` (where the stream pump has got to), `stream-failures.jsonl` (the pump's failure
queue), `archive.jsonl` (the auditors' independent copy of every event), `outbox.jsonl`, `secrets.json`,
and, while a server runs, `runtime.json` and the lock `serve.lock`.
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

LOCAL_ISSUER = "lapor-local"


@dataclass(frozen=True)
class LocalState:
    home: Path

    @classmethod
    def at(cls, home: str | os.PathLike[str]) -> LocalState:
        path = Path(home)
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    @property
    def archive_path(self) -> Path:
        return self.home / "archive.jsonl"

    @property
    def db_path(self) -> Path:
        return self.home / "db"

    @property
    def checkpoint_path(self) -> Path:
        return self.home / "stream-checkpoint.json"

    @property
    def failures_path(self) -> Path:
        return self.home / "stream-failures.jsonl"

    @property
    def migration_marker(self) -> Path:
        """Written once the first DynamoDB Local start has taken over (or found nothing to take over)."""
        return self.db_path / "lapor-archive-import.json"

    def lock(self) -> IO[str]:
        """Held while a server runs from this folder: two servers on one database would fight over it."""
        handle = (self.home / "serve.lock").open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            running = self.runtime() or {}
            raise SystemExit(f"lapor serve: another server is already running from {self.home}"
                             + (f" (pid {running['pid']}, {running.get('api_url')})" if running else "")) from None
        return handle

    @property
    def runtime_path(self) -> Path:
        return self.home / "runtime.json"

    def write_runtime(self, values: dict[str, object]) -> None:
        """Where the running `lapor serve` can be reached, for `lapor sweep|rebuild|verify` beside it."""
        self.runtime_path.write_text(json.dumps(values))

    def runtime(self) -> dict[str, object] | None:
        if not self.runtime_path.exists():
            return None
        values = json.loads(self.runtime_path.read_text())
        try:
            os.kill(int(values["pid"]), 0)
        except (OSError, KeyError, ValueError):
            return None  # left behind by a server that is gone
        return values

    def clear_runtime(self) -> None:
        self.runtime_path.unlink(missing_ok=True)

    def secrets(self) -> dict[str, str]:
        """The local secrets, each made once: the staff-JWT and reporter-token keys (`lapor serve` and
        `lapor token` share them) and the SMS gateways' (`lapor sms` signs with them as the gateway would)."""
        path = self.home / "secrets.json"
        if not path.exists():
            path.touch(mode=0o600)
        values = json.loads(path.read_text() or "{}")
        made = {"jwt_secret": secrets.token_hex(32), "token_secret": secrets.token_hex(32),
                "twilio_auth_token": secrets.token_hex(16), "twilio_account_sid": "AC" + secrets.token_hex(16),
                "infobip_secret": secrets.token_urlsafe(24)}
        missing = {name: value for name, value in made.items() if name not in values}
        if missing:  # a home made by an earlier version keeps its secrets and gains the new ones
            values |= missing
            path.write_text(json.dumps(values))
        return values
