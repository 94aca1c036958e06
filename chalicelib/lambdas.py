"""Entry points behind app.py's non-HTTP functions, built on first call from the shared services.

Each is one observed invocation (chalicelib/observability.py): its logs carry a correlation id — in the
stream Lambda each event's own, the one its request had — and what it counted is written as EMF at its end.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Callable, Iterable

from chalicelib import observability
from chalicelib.bootstrap import get_services
from chalicelib.clock import parse_instant
from events.base import StoredEvent
from projections.runner import Projector, ReadModel


class ObservedProjector(Projector):
    """The projector, logging a read model's failure under the event's request correlation id and measuring
    how long after its time each event was projected (ProjectionLag, seconds; only once every read model has
    it)."""

    def __init__(self, read_models: Iterable[ReadModel], clock: Callable[[], datetime]) -> None:
        super().__init__(read_models)
        self._clock = clock

    def apply(self, stored: StoredEvent) -> None:
        super().apply(stored)
        self._applied([stored])

    def _failed(self, read_model: Any, stored: StoredEvent, failure: BaseException) -> None:
        with observability.correlation(stored.correlation_id):
            super()._failed(read_model, stored, failure)

    def _applied(self, events: list[StoredEvent]) -> None:
        now = self._clock()
        for stored in events:
            lag = (now - parse_instant(stored.occurred_at)).total_seconds()
            observability.measure(observability.PROJECTION_LAG, max(lag, 0.0), observability.SECONDS)


def projector() -> Projector:
    services = get_services()
    return ObservedProjector(services.read_models(), services.clock)


def _settings() -> Any:
    return get_services().settings


def project_stream_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or [{}]
    correlation_id = f"stream-{records[0].get('eventID') or uuid.uuid4()}"
    with observability.invocation("project_events", correlation_id, _settings, context):
        return projector().handle_batch(event, context)


def sweep_deadlines_at(event_time: str) -> dict[str, Any]:
    """The scheduled sweep, as of the instant EventBridge says it fired (time is passed in, not read here).
    Its events are recorded under the correlation id its logs carry."""
    from chalicelib.services.sweep import sweep

    correlation_id = f"sweep-{uuid.uuid4()}"
    with observability.invocation("sweep_deadlines", correlation_id, _settings):
        result = sweep(get_services(), parse_instant(event_time), correlation_id=correlation_id)
        observability.info("sweep done", due_reports=result.due_reports, recorded=result.recorded,
                           conflicts=result.conflicts, failed=len(result.failed))
        return result.to_dict()


def send_notifications_at(event_time: str) -> dict[str, Any]:
    """The scheduled sender, as of the instant EventBridge says it fired."""
    from chalicelib.services.notifications import send_due

    with observability.invocation("send_notifications", f"send-{uuid.uuid4()}", _settings):
        services = get_services()
        result = send_due(services.outbox, services.store, services.notification_gateway(),
                          parse_instant(event_time), numbers=services.sms_numbers)
        if result.sent or result.retried or result.dead or result.suppressed:
            observability.info("notifications sent", **result.to_dict())
        return result.to_dict()
