"""LAPOR on AWS Lambda: wiring only. Routes live in chalicelib/http, read models in projections/."""
from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from chalicelib.http.endpoint import api
import chalicelib.http.list_routes  # noqa: F401  (each module registers its routes on the blueprint)
import chalicelib.http.open311_routes  # noqa: F401
import chalicelib.http.photo_routes  # noqa: F401
import chalicelib.http.routes  # noqa: F401
import chalicelib.http.sms_routes  # noqa: F401
import chalicelib.http.stats_routes  # noqa: F401
import chalicelib.http.dev_routes  # noqa: F401
import chalicelib.web.pages  # noqa: F401  (the citizen HTML pages)
import chalicelib.web.statistik  # noqa: F401  (the Statistik and Peringkat pages, their chart scripts)
import chalicelib.web.console  # noqa: F401  (the staff console /konsol)
from chalicelib.lambdas import project_stream_batch, send_notifications_at, sweep_deadlines_at

# configure_logs=False: Chalice's own handler would print every Powertools log line twice.
app = Chalice(app_name="lapor", configure_logs=False)
app.register_blueprint(api)


@app.lambda_function(name="project_events")
def project_events(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fed by the events table's stream (mapping in infra/: TRIM_HORIZON, ReportBatchItemFailures)."""
    return project_stream_batch(event, context)


@app.schedule(Rate(1, unit=Rate.HOURS), name="sweep_deadlines")
def sweep_deadlines(event: Any) -> dict[str, Any]:
    """Hourly: reminders, escalations, reprimands and automatic closures that deadlines oblige."""
    return sweep_deadlines_at(event.time)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="send_notifications")
def send_notifications(event: Any) -> dict[str, Any]:
    """Every minute: deliver due outbox messages (SMS via SNS, e-mail via SES, staff via an SNS topic)."""
    return send_notifications_at(event.time)
