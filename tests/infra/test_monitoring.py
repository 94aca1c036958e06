"""Alarms for every way LAPOR can fail unseen, to one SNS topic; log groups with retention; the dashboard."""
from __future__ import annotations

import json
import re

import pytest

from infra import monitoring as m
from infra import template as t

STAGE, PREFIX = "dev", "lapor-dev"


@pytest.fixture(scope="module")
def doc() -> dict:
    return t.merge_template(STAGE, PREFIX)


@pytest.fixture(scope="module")
def alarms(doc) -> dict:
    return {name: r["Properties"] for name, r in doc["Resources"].items() if r.get("Type") == "AWS::CloudWatch::Alarm"}


def _watching(alarms: dict, metric: str, **dimensions) -> list[dict]:
    found = []
    for props in alarms.values():
        if props.get("MetricName") == metric:
            dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            if all(dims.get(k) == v for k, v in dimensions.items()):
                found.append(props)
    return found


def test_every_function_has_an_errors_and_a_throttles_alarm(alarms):
    for function in t.FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            [alarm] = _watching(alarms, metric, FunctionName={"Ref": function})
            assert alarm["Namespace"] == "AWS/Lambda" and alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1


def test_the_stream_is_watched_for_failures_and_lag(alarms):
    [queue] = _watching(alarms, "ApproximateNumberOfMessagesVisible",
                        QueueName={"Fn::GetAtt": [t.FAILURE_QUEUE, "QueueName"]})
    assert queue["Namespace"] == "AWS/SQS" and queue["Threshold"] == 1
    [age] = _watching(alarms, "IteratorAge", FunctionName={"Ref": t.PROJECTOR_FUNCTION})
    # Well before the mapping's record-age limit sends records to the failure queue.
    assert age["Statistic"] == "Maximum" and age["Threshold"] < t.MAXIMUM_RECORD_AGE_SECONDS * 1000


def test_the_api_is_watched_for_5xx_and_a_high_4xx_rate(alarms):
    [five] = _watching(alarms, "5XXError", ApiName=PREFIX, Stage=t.API_STAGE)
    assert five["Threshold"] == 1
    rate = alarms["ApiClientErrorRateAlarm"]
    expression = [metric for metric in rate["Metrics"] if "Expression" in metric]
    assert len(expression) == 1 and expression[0]["ReturnData"] is True
    names = {metric["MetricStat"]["Metric"]["MetricName"] for metric in rate["Metrics"] if "MetricStat" in metric}
    assert names == {"Count", "4XXError"}
    assert 0 < rate["Threshold"] < 1


@pytest.mark.parametrize("metric", [m.OUTBOX_DEAD_LETTERS, m.SWEEP_FAILURES])
def test_the_applications_own_failure_metrics_are_alarmed_per_stage(alarms, metric):
    [alarm] = _watching(alarms, metric, stage=STAGE)
    assert alarm["Namespace"] == "LAPOR" and alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"  # no failures: no data points at all


@pytest.mark.parametrize("function", [t.SWEEP_FUNCTION, t.SENDER_FUNCTION])
def test_a_schedule_that_stops_running_alarms(alarms, function):
    [alarm] = _watching(alarms, "Invocations", FunctionName={"Ref": function})
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["TreatMissingData"] == "breaching"


def test_every_alarm_notifies_the_topic_and_names_its_runbook(doc, alarms):
    assert len(alarms) == 2 * len(t.FUNCTIONS) + 8
    for name, props in alarms.items():
        assert props["AlarmActions"] == [{"Ref": m.ALARM_TOPIC}] == props["OKActions"], name
        assert "Runbook" in props["AlarmDescription"], name
    resources = doc["Resources"]
    assert resources[m.ALARM_TOPIC]["Type"] == "AWS::SNS::Topic"
    subscription = resources[m.ALARM_SUBSCRIPTION]
    assert subscription["Condition"] == m.HAS_ALARM_EMAIL  # no e-mail given: no subscription
    assert subscription["Properties"]["Endpoint"] == {"Ref": m.ALARM_EMAIL_PARAMETER}
    assert doc["Parameters"][m.ALARM_EMAIL_PARAMETER]["Default"] == ""
    assert re.fullmatch(doc["Parameters"][m.ALARM_EMAIL_PARAMETER]["AllowedPattern"], "")
    assert doc["Conditions"][m.HAS_ALARM_EMAIL] == {"Fn::Not": [{"Fn::Equals": [{"Ref": m.ALARM_EMAIL_PARAMETER}, ""]}]}


def test_every_function_logs_json_to_its_own_retained_group(doc):
    resources = doc["Resources"]
    retention = doc["Parameters"][m.LOG_RETENTION_PARAMETER]
    assert retention["Default"] in retention["AllowedValues"]
    names = set()
    for function in t.FUNCTIONS:
        config = resources[function]["Properties"]["LoggingConfig"]
        group = resources[config["LogGroup"]["Ref"]]
        assert config["LogFormat"] == "JSON"
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": m.LOG_RETENTION_PARAMETER}
        names.add(group["Properties"]["LogGroupName"])
    assert len(names) == len(t.FUNCTIONS) and all(name.startswith(f"/aws/lambda/{PREFIX}-") for name in names)


def test_the_dashboard_shows_every_alarm(doc, alarms):
    body = doc["Resources"][m.DASHBOARD]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(body, str)
    widgets = json.loads(body)["widgets"]
    [status] = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(re.search(r"\$\{(\w+)\}$", arn).group(1) for arn in status["properties"]["alarms"]) == sorted(alarms)
    # Every ${...} is a pseudo parameter or a resource of this template.
    for reference in re.findall(r"\$\{([\w:.]+)\}", body):
        assert reference.startswith("AWS::") or reference.split(".")[0] in doc["Resources"], reference
