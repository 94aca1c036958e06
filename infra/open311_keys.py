"""`lapor open311-key`: issue, list and revoke the API keys of Open311 client apps (being built)."""
from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the open311-key subcommands to the `lapor` parser."""
