"""Entry points behind app.py's non-HTTP functions, built on first call from the shared services."""
from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import get_services
from projections.runner import Projector


def projector() -> Projector:
    return Projector(get_services().read_models())


def project_stream_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return projector().handle_batch(event, context)
