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

    def secrets(self) -> dict[str, str]:
        """The local JWT and reporter-token secrets, made once; `lapor serve` and `lapor token` share them."""
        path = self.home / "secrets.json"
        if not path.exists():
            values = {"jwt_secret": secrets.token_hex(32), "token_secret": secrets.token_hex(32)}
            path.touch(mode=0o600)
            path.write_text(json.dumps(values))
        return json.loads(path.read_text())
