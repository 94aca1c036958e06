"""Logs, metrics, traces and correlation ids: what the system says about itself while it runs (issue 11).

- **Correlation id.** Each HTTP request has one: its `X-Correlation-Id` header when that is short and of a
  safe charset (1-128 of A-Z a-z 0-9 . _ : -), else a new UUID. The API echoes it in every response and
  records it in every event the request writes; the stream Lambda logs each event under the id its request
  had; the sweep's events and logs share one id per run.
- **Logs.** Powertools Logger, one JSON object a line on stderr, `service` "lapor", the correlation id on
  every line — also on the lines of the app's other loggers (the JSON handler sits on the root logger).
  What is logged is the operation, its status, its error code and duration: never a body, a header, a
  query string or a token, so nothing a reporter typed (name, phone, e-mail, NIK) ever reaches a log.
- **Metrics.** CloudWatch EMF lines on stdout (namespace LAPOR, dimension `stage`), written once at the end
  of each invocation from what the code counted meanwhile (`count`, `measure`). Outside an invocation (the
  CLI, tests calling services directly) counting does nothing.
- **Traces.** Powertools Tracer (X-Ray) only with LAPOR_TRACING=1; otherwise nothing of it is imported.

None of it runs at import: the first invocation configures it from the settings. Under `lapor serve`
(stage "local") it stays off — no JSON logs, no EMF lines in the terminal (there is no CloudWatch to read
them); the correlation id still works (header and events).
"""
from __future__ import annotations

import json
import logging
import re
import sys
import threading
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from chalicelib.settings import Settings

SERVICE, NAMESPACE = "lapor", "LAPOR"
LOCAL_STAGE = "local"
CORRELATION_HEADER = "X-Correlation-Id"
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

# Metric names. The template's alarms use OUTBOX_DEAD_LETTERS and SWEEP_FAILURES with the `stage` dimension
# alone: those two must never get another dimension.
REPORTS_SUBMITTED = "ReportsSubmitted"  # by channel
COMMANDS = "Commands"  # by command and outcome: accepted, replayed (an Idempotency-Key retry) or the error code
PROJECTION_LAG = "ProjectionLag"  # seconds from an event's time to its projection (the stream Lambda)
SWEEP_ACTIONS = "SweepActions"  # by action (the event type the sweep recorded)
SWEEP_FAILURES = "SweepFailures"
OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_DEAD_LETTERS = "OutboxSent", "OutboxFailed", "OutboxDeadLetters"
COUNT, SECONDS = "Count", "Seconds"


def correlation_id_from(value: str | None) -> str:
    """The caller's id when it is safe to echo in a header and to record in events; else a fresh one."""
    if value and _CORRELATION_ID.fullmatch(value):
        return value
    return str(uuid.uuid4())


# ------------------------------------------------------------------------------------------------ metrics

class _Metrics:
    """What one invocation counted; `flush` writes one EMF line per set of dimensions."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.points: list[tuple[str, str, float, tuple[tuple[str, str], ...]]] = []

    def add(self, name: str, unit: str, value: float, dimensions: dict[str, str]) -> None:
        self.points.append((name, unit, value, tuple(sorted(dimensions.items()))))

    def flush(self) -> None:
        if not self.points:
            return
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

        groups: dict[tuple[tuple[str, str], ...], list[tuple[str, str, float]]] = {}
        for name, unit, value, dimensions in self.points:
            groups.setdefault(dimensions, []).append((name, unit, value))
        for dimensions, points in groups.items():
            provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE)
            provider.service = None  # POWERTOOLS_SERVICE_NAME would add a `service` dimension the alarms lack
            provider.add_dimension(name="stage", value=self.stage)
            for name, value in dimensions:
                provider.add_dimension(name=name, value=value)
            for name, unit, value in points:
                provider.add_metric(name=name, unit=unit, value=value)  # (it prints itself at 100 values)
            if provider.metric_set:
                print(json.dumps(provider.serialize_metric_set(), separators=(",", ":")), flush=True)
        self.points.clear()


_metrics: ContextVar[_Metrics | None] = ContextVar("lapor_metrics", default=None)
_active: ContextVar[bool] = ContextVar("lapor_observed", default=False)  # inside an observed invocation


def count(name: str, value: float = 1, **dimensions: str) -> None:
    measure(name, value, COUNT, **dimensions)


def measure(name: str, value: float, unit: str, **dimensions: str) -> None:
    metrics = _metrics.get()
    if metrics is not None:
        metrics.add(name, unit, value, dimensions)


# ------------------------------------------------------------------------------------------------ logs

class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (tests swap it), not what it was at start."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _State:
    configured = False
    logger: Any = None
    tracer: Any = None
    lock = threading.Lock()


def _configure(settings: Settings) -> None:
    """Once per process: Powertools Logger's JSON on the root logger (so every logger of the app writes JSON
    with the correlation id), and the Tracer if asked for."""
    if _State.configured:
        return
    with _State.lock:
        if _State.configured:
            return
        from aws_lambda_powertools import Logger

        # The Powertools logger formats; the one handler on the root logger writes, for its lines and everyone's.
        logger = Logger(service=SERVICE, level="INFO", logger_handler=logging.NullHandler())
        logger.append_keys(name="%(name)s")  # which module's logger wrote the line (Powertools fills it in)
        handler = _StderrHandler()
        handler.setFormatter(logger.registered_formatter)
        root = logging.getLogger()
        for existing in list(root.handlers):
            # The Lambda runtime's own (LambdaLoggerHandler, …WithFrameType): with ours beside it every line of
            # every logger would be written twice. Powertools removed it for the same reason (its v1.1.3).
            if type(existing).__name__.startswith("LambdaLoggerHandler"):
                root.removeHandler(existing)
        root.addHandler(handler)
        _State.logger = logger
        if settings.tracing:
            from aws_lambda_powertools import Tracer

            _State.tracer = Tracer(service=SERVICE)  # patches botocore: DynamoDB calls become subsegments
        _State.configured = True


def log_request(operation: str, method: str, status: int, seconds: float, code: str | None = None) -> None:
    """The one line per HTTP request: what ran and how it ended — nothing the caller sent."""
    if _State.logger is not None and _active.get():
        fields: dict[str, Any] = {"operation": operation, "method": method, "status": status,
                                  "duration_ms": round(seconds * 1000, 1)}
        if code:
            fields["code"] = code
        _State.logger.info("request", extra=fields)


def info(message: str, **fields: Any) -> None:
    if _State.logger is not None and _active.get():
        _State.logger.info(message, extra=fields)


@contextmanager
def correlation(correlation_id: str) -> Iterator[None]:
    """Log under this correlation id meanwhile (the stream Lambda: each event under its request's id)."""
    logger = _State.logger
    if logger is None or not _active.get():
        yield
        return
    previous = logger.thread_safe_get_current_keys().get("correlation_id")
    logger.thread_safe_append_keys(correlation_id=correlation_id)
    try:
        yield
    finally:
        logger.thread_safe_append_keys(correlation_id=previous)


@contextmanager
def invocation(name: str, correlation_id: str, settings: Callable[[], Settings], context: Any = None
               ) -> Iterator[None]:
    """One Lambda invocation (an HTTP request, a stream batch, a scheduled run): logs carry its correlation id,
    what it counts is written as EMF at its end, and with tracing it is one X-Ray subsegment. `settings` is
    asked once, here; if it cannot answer, or under `lapor serve`, the invocation is simply not observed."""
    try:
        resolved = settings()
    except Exception:  # noqa: BLE001 — bad settings are the caller's error to report, not ours
        resolved = None
    if resolved is None or resolved.stage == LOCAL_STAGE:
        yield
        return
    try:
        _configure(resolved)
    except Exception:  # noqa: BLE001 — an unobserved answer beats no answer
        logging.getLogger(__name__).exception("logging and metrics could not be set up")
        yield
        return
    logger = _State.logger
    keys = {"correlation_id": correlation_id, "invocation": name}
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        keys["function_request_id"] = request_id
    logger.thread_safe_append_keys(**keys)
    metrics = _Metrics(resolved.stage)
    metrics_token, active_token = _metrics.set(metrics), _active.set(True)
    try:
        if _State.tracer is not None:
            with _State.tracer.provider.in_subsegment(f"## {name}") as subsegment:
                subsegment.put_annotation(key="correlation_id", value=correlation_id)
                yield
        else:
            yield
    finally:
        _metrics.reset(metrics_token)
        _active.reset(active_token)
        logger.thread_safe_remove_keys(list(keys))
        try:
            metrics.flush()
        except Exception:  # noqa: BLE001 — a metric must never turn an answered request into a failure
            logging.getLogger(__name__).exception("could not write the metrics of %s", name)

