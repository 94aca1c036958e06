"""Entry points behind app.py's non-HTTP functions, built on first call from the shared services."""
from __future__ import annotations

from typing import Any

from chalicelib.bootstrap import get_services
from projections.runner import Projector


def projector() -> Projector:
    return Projector(get_services().read_models())


def project_stream_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return projector().handle_batch(event, context)


def sweep_deadlines_at(event_time: str) -> dict[str, Any]:
    """The scheduled sweep, as of the instant EventBridge says it fired (time is passed in, not read here)."""
    from chalicelib.clock import parse_instant
    from chalicelib.services.sweep import sweep

    return sweep(get_services(), parse_instant(event_time)).to_dict()


def send_notifications_at(event_time: str) -> dict[str, Any]:
    """The scheduled sender, as of the instant EventBridge says it fired."""
    from chalicelib.clock import parse_instant
    from chalicelib.services.notifications import send_due

    services = get_services()
    return send_due(services.outbox, services.store, services.notification_gateway(),
                    parse_instant(event_time), numbers=services.sms_numbers).to_dict()
