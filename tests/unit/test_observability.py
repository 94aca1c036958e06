"""Observability (chalicelib/observability.py): correlation ids, EMF metrics (namespace LAPOR, dimension
`stage`), JSON logs under the invocation's correlation id, the Tracer only when asked for, and nothing of it
under `lapor serve` or outside an invocation."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import observability as obs
from chalicelib.clock import iso
from chalicelib.services.notifications import Rejected, TemporaryFailure, send_due
from chalicelib.services.sweep import sweep
from tests.support.api import body_of
from tests.support.builders import REPORT_JALAN_BERLUBANG, VERIFICATION_DUE
from tests.support.settings import T0, test_settings

ROOT = Path(__file__).resolve().parents[2]


def _json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                pass
    return found


def emf(text: str) -> list[dict[str, Any]]:
    """The EMF blobs printed: each with its namespace, dimension names, and metric values."""
    return [line for line in _json_lines(text) if "_aws" in line]


def values(blobs: list[dict[str, Any]], metric: str, **dimensions: str) -> list[float]:
    """Every value of `metric` in blobs whose dimensions are exactly stage + `dimensions`."""
    found: list[float] = []
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        names = [m["Name"] for m in directive["Metrics"]]
        if metric in names and directive["Dimensions"] == [["stage", *sorted(dimensions)]] \
                and all(blob[k] == v for k, v in dimensions.items()):
            value = blob[metric]
            found.extend(value if isinstance(value, list) else [value])
    return found


def settings_of(stage: str = "dev", **changes: Any):
    return lambda: test_settings(stage=stage, **changes)


# ------------------------------------------------------------------------------------------------ ids

@pytest.mark.parametrize("sent", ["abc", "mobile-app:req.42_A", "a" * 128, "0b5e4a3c-9d7f-4f7e-8f21-2c6f0e9b1a55"])
def test_a_short_safe_correlation_id_is_kept(sent):
    assert obs.correlation_id_from(sent) == sent


@pytest.mark.parametrize("sent", [None, "", "a" * 129, "two words", "a\nb", "ümlaut", "a;b", "x\x00"])
def test_anything_else_is_replaced_by_a_fresh_uuid(sent):
    made = obs.correlation_id_from(sent)
    assert made != sent and str(uuid.UUID(made)) == made
    assert obs.correlation_id_from(sent) != made  # fresh each time


# ------------------------------------------------------------------------------------------------ metrics

def test_metrics_are_emf_in_namespace_lapor_with_the_stage_dimension_and_no_service(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "someone-else")  # would add a `service` dimension
    with obs.invocation("test", "corr-1", settings_of("prod")):
        obs.count(obs.REPORTS_SUBMITTED, channel="web")
        obs.count(obs.REPORTS_SUBMITTED, channel="sms")
        obs.count(obs.REPORTS_SUBMITTED, channel="web")
        obs.count(obs.OUTBOX_DEAD_LETTERS, 2)
        obs.count(obs.SWEEP_FAILURES, 0)
        obs.measure(obs.PROJECTION_LAG, 1.5, obs.SECONDS)
        assert emf(capsys.readouterr().out) == []  # written at the end of the invocation, not before
    blobs = emf(capsys.readouterr().out)
    assert {blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] for blob in blobs} == {"LAPOR"}
    assert all(blob["stage"] == "prod" and "service" not in blob for blob in blobs)
    assert values(blobs, obs.REPORTS_SUBMITTED, channel="web") == [1, 1]
    assert values(blobs, obs.REPORTS_SUBMITTED, channel="sms") == [1]
    # The template's alarms match these two by namespace, name and the `stage` dimension alone.
    assert values(blobs, "OutboxDeadLetters") == [2] and values(blobs, "SweepFailures") == [0]
    assert values(blobs, obs.PROJECTION_LAG) == [1.5]
    lag = next(b for b in blobs if obs.PROJECTION_LAG in b)
    assert {"Name": "ProjectionLag", "Unit": "Seconds"} in lag["_aws"]["CloudWatchMetrics"][0]["Metrics"]


def test_outside_an_invocation_counting_does_nothing(capsys):
    obs.count(obs.REPORTS_SUBMITTED, channel="web")
    with obs.invocation("test", "corr-2", settings_of()):
        pass  # nothing counted inside: no EMF line at all
    obs.count(obs.OUTBOX_SENT, 3)
    assert emf(capsys.readouterr().out) == []


def test_under_lapor_serve_nothing_is_written_and_bad_settings_only_switch_it_off(capfd):
    with obs.invocation("test", "corr-3", settings_of("local")):
        obs.count(obs.OUTBOX_SENT, 3)
        obs.log_request("op", "GET", 200, 0.01)

    def broken():
        raise RuntimeError("no settings")

    with obs.invocation("test", "corr-4", broken):
        obs.count(obs.OUTBOX_SENT, 3)
    captured = capfd.readouterr()
    assert "OutboxSent" not in captured.out and "corr-3" not in captured.err and "corr-4" not in captured.err


def test_a_hundred_values_of_one_metric_are_all_written(capsys):
    with obs.invocation("test", "corr-5", settings_of()):
        for n in range(150):
            obs.measure(obs.PROJECTION_LAG, n, obs.SECONDS)
    assert sorted(values(emf(capsys.readouterr().out), obs.PROJECTION_LAG)) == list(range(150))


def test_the_sweep_counts_its_actions_by_type_and_its_failures(capsys):
    def execute(report_id, command, request, channel):
        if report_id == "LAP-BROKEN":
            raise RuntimeError("corrupt stream")
        return {"events": ["ReminderSent", "ReprimandIssued"] if report_id == "LAP-B" else ["ReminderSent"]}

    services = SimpleNamespace(calendar=None, reference=None,
                               deadlines=SimpleNamespace(due=lambda now: ["LAP-A", "LAP-BROKEN", "LAP-B"]),
                               commands=SimpleNamespace(execute=execute))
    with obs.invocation("sweep_deadlines", "sweep-1", settings_of()):
        result = sweep(services, T0, correlation_id="sweep-1")
    assert result.failed == ["LAP-BROKEN"]
    blobs = emf(capsys.readouterr().out)
    assert values(blobs, obs.SWEEP_ACTIONS, action="ReminderSent") == [2]
    assert values(blobs, obs.SWEEP_ACTIONS, action="ReprimandIssued") == [1]
    assert values(blobs, "SweepFailures") == [1]


class _Outbox:
    def __init__(self, messages):
        self.messages = messages

    def due(self, now, limit):
        return self.messages

    def claim(self, *args):
        return True

    def mark_sent(self, *args):
        pass

    def mark_failed(self, *args, **kwargs):
        pass


class _Gateway:
    def send(self, delivery):
        if delivery.message_id == "m-rejected":
            raise Rejected("no such address")
        if delivery.message_id.startswith("m-flaky"):
            raise TemporaryFailure("throttled")
        return "gw-1"


def test_the_sender_counts_sent_retried_and_dead_lettered_messages(capsys):
    staff = {"kind": "staff", "role": "admin_nasional"}
    messages = [{"message_id": m, "attempts": attempts, "recipient": staff, "channel": "staff",
                 "report_id": "LAP-A", "text": "Ada laporan baru."}
                for m, attempts in (("m-ok", 0), ("m-ok-2", 0), ("m-rejected", 0), ("m-flaky", 0),
                                    ("m-flaky-last", 4))]
    with obs.invocation("send_notifications", "send-1", settings_of()):
        result = send_due(_Outbox(messages), None, _Gateway(), T0)
    assert (result.sent, result.retried, result.dead) == (2, 1, 2)
    blobs = emf(capsys.readouterr().out)
    assert (values(blobs, "OutboxSent"), values(blobs, "OutboxFailed"), values(blobs, "OutboxDeadLetters")) \
        == ([2], [1], [2])


# ------------------------------------------------------------------------------------------------ commands

def test_commands_are_counted_by_type_and_outcome(api, services, capsys):
    from tests.support.tokens import NASIONAL

    report_id = body_of(api.post("/reports", REPORT_JALAN_BERLUBANG, headers={"Idempotency-Key": "key-00001"}),
                        201)["report_id"]
    body_of(api.post("/reports", REPORT_JALAN_BERLUBANG, headers={"Idempotency-Key": "key-00001"}), 201)
    api.post(f"/reports/{report_id}/assignment", {"unit_id": "dinas-pupr"}, token=NASIONAL)  # refused: 403/409
    blobs = emf(capsys.readouterr().out)
    assert values(blobs, obs.COMMANDS, command="SubmitReport", outcome="accepted") == [1]
    assert values(blobs, obs.COMMANDS, command="SubmitReport", outcome="replayed") == [1]
    refused = [b for b in blobs if b.get("command") == "AssignReport"]
    assert len(refused) == 1 and refused[0]["outcome"] not in ("accepted", "replayed", "error")
    assert values(blobs, obs.REPORTS_SUBMITTED, channel="web") == [1]  # the retry is no second report


# ------------------------------------------------------------------------------------------------ stream

def test_the_stream_lambda_logs_each_event_under_the_correlation_id_of_its_request(api, services, pump, clock,
                                                                                    capfd):
    class Failing:
        def handles(self, stored):
            return True

        def project(self, stored):
            raise RuntimeError("read model down")

    report_id = body_of(api.post("/reports", REPORT_JALAN_BERLUBANG, headers={"X-Correlation-Id": "from-http-9"}),
                        201)["report_id"]
    failing = Failing()
    services.extra_read_models.append(failing)
    pump.drain(timeout=60)  # the record fails on every try (then the failure queue); the warnings are read here
    services.extra_read_models.remove(failing)
    captured = capfd.readouterr()
    warnings = [line for line in _json_lines(captured.err)
                if line.get("level") == "WARNING" and "read model down" in line.get("message", "")]
    assert warnings and {line["correlation_id"] for line in warnings} == {"from-http-9"}
    assert report_id in warnings[0]["message"]


def test_projection_lag_is_the_time_from_the_event_to_its_projection(api, services, pump, clock, capsys):
    body_of(api.post("/reports", REPORT_JALAN_BERLUBANG), 201)
    clock.advance(seconds=90)
    capsys.readouterr()
    pump.drain(timeout=60)
    assert values(emf(capsys.readouterr().out), obs.PROJECTION_LAG) == [90.0]


# ------------------------------------------------------------------------------------------------ scheduled

def test_the_scheduled_sweep_records_its_events_under_the_id_its_log_line_carries(api, services, pump, clock,
                                                                                  capfd):
    from chalicelib.lambdas import sweep_deadlines_at

    report_id = body_of(api.post("/reports", REPORT_JALAN_BERLUBANG), 201)["report_id"]
    pump.drain(timeout=60)
    capfd.readouterr()
    due = T0 + timedelta(days=3, hours=8)
    assert iso(due) == VERIFICATION_DUE
    assert sweep_deadlines_at(iso(due))["recorded"] == {"ReminderSent": 1}
    reminder = services.store.load(report_id)[-1]
    assert reminder.type == "ReminderSent" and reminder.correlation_id.startswith("sweep-")
    captured = capfd.readouterr()
    done = [line for line in _json_lines(captured.err) if line.get("message") == "sweep done"]
    assert [line["correlation_id"] for line in done] == [reminder.correlation_id]
    assert values(emf(captured.out), obs.SWEEP_ACTIONS, action="ReminderSent") == [1]
    assert values(emf(captured.out), "SweepFailures") == [0]


# ------------------------------------------------------------------------------------------------ tracing

_TRACE_PROBE = """
import sys
from chalicelib import observability as obs
from chalicelib.settings import Settings
settings = Settings(stage="dev", jwt_secret="s" * 32, token_secret="t" * 32, tracing={tracing})
with obs.invocation("probe", "corr-t", lambda: settings):
    obs.count(obs.OUTBOX_SENT, 1)
print("XRAY", "aws_xray_sdk" in sys.modules, obs._State.tracer is not None)
"""


@pytest.mark.parametrize("tracing", [False, True])
def test_the_tracer_is_built_only_when_tracing_is_on(tracing):
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-southeast-3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _TRACE_PROBE.format(tracing=tracing)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"XRAY {tracing} {tracing}" in done.stdout
    assert '"OutboxSent"' in done.stdout  # the invocation ran to its end either way


_RUNTIME_PROBE = """
import logging, sys
class LambdaLoggerHandlerWithFrameType(logging.Handler):  # named as the Lambda runtime's
    def emit(self, record):
        sys.stdout.write("RUNTIME " + record.getMessage() + "\\n")
logging.getLogger().addHandler(LambdaLoggerHandlerWithFrameType())
from chalicelib import observability as obs
from chalicelib.settings import Settings
settings = Settings(stage="dev", jwt_secret="s" * 32, token_secret="t" * 32)
with obs.invocation("probe", "corr-r", lambda: settings):
    logging.getLogger("chalicelib.services.sweep").warning("sweep failed on LAP-X")
"""


def test_the_lambda_runtimes_own_root_handler_gives_way_so_no_line_is_written_twice():
    env = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "ap-southeast-3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _RUNTIME_PROBE], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "RUNTIME" not in done.stdout
    (line,) = [line for line in _json_lines(done.stderr) if line.get("message") == "sweep failed on LAP-X"]
    assert (line["correlation_id"], line["service"], line["name"], line["level"]) == (
        "corr-r", "lapor", "chalicelib.services.sweep", "WARNING")
