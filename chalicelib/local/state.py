"""Where a local installation keeps what must survive a restart: its secrets (and its event archive)."""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

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
        """The local JWT and reporter-token secrets, made once; `lapor serve` and `lapor token` share them."""
        path = self.home / "secrets.json"
        if not path.exists():
            values = {"jwt_secret": secrets.token_hex(32), "token_secret": secrets.token_hex(32)}
            path.touch(mode=0o600)
            path.write_text(json.dumps(values))
        return json.loads(path.read_text())
