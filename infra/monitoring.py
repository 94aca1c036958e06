"""What tells an operator that LAPOR is failing: log groups, CloudWatch alarms to an SNS topic, a dashboard.

Merged into the stack by infra/template.py. Every alarm here has a runbook section in the README ("When an
alarm fires"), named by the alarm's logical id; tests/infra/test_monitoring.py holds the two together.

Why these alarms: each is a way the house rules ("nothing acknowledged is ever lost", "never a 500") can
break without anybody noticing. The stream's failure queue and iterator age say that read models stopped
following the log; a function's errors and throttles say that code crashed or could not run; API 5xx is a
citizen who got no answer; a high 4xx *rate* is a broken client or page (or an attack), not one bad input;
dead-lettered outbox messages are citizens who were never told; a failed or a missing sweep means deadlines
stopped enforcing themselves. Thresholds are "any" wherever the healthy count is zero.

Logs. Each function writes to a log group the stack owns (Lambda's LoggingConfig), so retention is set and
the group exists before the function's first invocation (the stream mapping invokes the projector as soon
as it is created: a group declared by name beside Lambda's own would race it and fail "already exists").
Log lines are JSON (LogFormat JSON: Lambda's own START/REPORT lines too), so they can be queried in Logs
Insights by field. The groups are retained with the tables: an incident is investigated after the fact.
"""
from __future__ import annotations

import json
from typing import Any

ALARM_TOPIC = "AlarmTopic"
ALARM_SUBSCRIPTION = "AlarmEmailSubscription"
ALARM_EMAIL_PARAMETER = "AlarmEmail"
HAS_ALARM_EMAIL = "HasAlarmEmail"
LOG_RETENTION_PARAMETER = "LogRetentionDays"
DASHBOARD = "OperationsDashboard"

# The values CloudWatch Logs accepts for RetentionInDays.
RETENTION_VALUES = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                    2922, 3288, 3653)
# One year: covers a yearly audit cycle and the investigation of any complaint about how a report was handled
# (the record itself is the event log and its 10-year Object Lock archive, not these logs), while keeping
# what a log line might hold by mistake from living forever.
DEFAULT_RETENTION_DAYS = 365

# Custom metrics the application emits (namespace LAPOR, dimension `stage`), e.g. with Powertools Metrics
# (CloudWatch embedded metric format: log lines, no IAM grant needed).
NAMESPACE = "LAPOR"
OUTBOX_DEAD_LETTERS = "OutboxDeadLetters"  # messages the sender gave up on (state "dead")
SWEEP_FAILURES = "SweepFailures"  # reports the deadline sweep could not act on


def log_group_id(function: str) -> str:
    return f"{function}LogGroup"


def log_group_name(table_prefix: str, short: str) -> str:
    return f"/aws/lambda/{table_prefix}-{short}"


def logging_config(function: str) -> dict[str, Any]:
    """The function's LoggingConfig: our log group, JSON lines."""
    return {"LogGroup": {"Ref": log_group_id(function)}, "LogFormat": "JSON",
            "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"}


def parameters() -> dict[str, Any]:
    return {
        ALARM_EMAIL_PARAMETER: {
            "Type": "String", "Default": "", "AllowedPattern": "^([^@\\s]+@[^@\\s]+)?$",
            "Description": "Who gets the alarms by e-mail (confirm the subscription mail); empty: no "
                           "subscription (subscribe a pager or chat to the AlarmTopic output instead)."},
        LOG_RETENTION_PARAMETER: {
            "Type": "Number", "Default": DEFAULT_RETENTION_DAYS, "AllowedValues": list(RETENTION_VALUES),
            "Description": "Days the functions' logs are kept."},
    }


def conditions() -> dict[str, Any]:
    return {HAS_ALARM_EMAIL: {"Fn::Not": [{"Fn::Equals": [{"Ref": ALARM_EMAIL_PARAMETER}, ""]}]}}


def _alarm(description: str, *, namespace: str, metric: str, dimensions: dict[str, Any], statistic: str,
           threshold: float, comparison: str = "GreaterThanOrEqualToThreshold", period: int = 300,
           evaluation_periods: int = 1, missing: str = "notBreaching") -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description + " Runbook: README, 'When an alarm fires'.",
        "Namespace": namespace, "MetricName": metric,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()],
        "Statistic": statistic, "Period": period, "EvaluationPeriods": evaluation_periods,
        "DatapointsToAlarm": evaluation_periods, "Threshold": threshold, "ComparisonOperator": comparison,
        "TreatMissingData": missing,
        "AlarmActions": [{"Ref": ALARM_TOPIC}], "OKActions": [{"Ref": ALARM_TOPIC}]}}


def alarms(*, stage: str, api_name: str, api_stage: str, functions: dict[str, str], projector: str,
           sweep: str, sender: str, failure_queue: str) -> dict[str, Any]:
    """Alarm logical id -> resource. `functions`: logical id -> short name, for the per-function alarms."""
    lam = "AWS/Lambda"
    resources: dict[str, Any] = {
        "ProjectorFailuresAlarm": _alarm(
            "Stream records the projector gave up on are waiting in the failure queue: read models and the "
            "archive stop at the version before for those reports.",
            namespace="AWS/SQS", metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": {"Fn::GetAtt": [failure_queue, "QueueName"]}}, statistic="Maximum",
            threshold=1),
        # Normally well under a second; 10 minutes for 10 minutes means the projector is not keeping up. Records
        # older than the mapping's 6 h limit go to the failure queue, and the stream drops them after 24 h.
        "ProjectorIteratorAgeAlarm": _alarm(
            "The projector is more than 10 minutes behind the event log.",
            namespace=lam, metric="IteratorAge", dimensions={"FunctionName": {"Ref": projector}},
            statistic="Maximum", threshold=600_000, evaluation_periods=2),
        "ApiServerErrorsAlarm": _alarm(
            "API Gateway answered 5xx: an unhandled error, a timeout or a throttled function.",
            namespace="AWS/ApiGateway", metric="5XXError", dimensions={"ApiName": api_name, "Stage": api_stage},
            statistic="Sum", threshold=1),
        "OutboxDeadLettersAlarm": _alarm(
            "Notifications were dead-lettered after every retry: those reporters or staff were not told.",
            namespace=NAMESPACE, metric=OUTBOX_DEAD_LETTERS, dimensions={"stage": stage}, statistic="Sum",
            threshold=1),
        "SweepFailuresAlarm": _alarm(
            "The deadline sweep could not record the due actions of some reports.",
            namespace=NAMESPACE, metric=SWEEP_FAILURES, dimensions={"stage": stage}, statistic="Sum",
            threshold=1, period=3600),
        # Silence is a failure too: a disabled rule or a broken schedule stops every clock without an error.
        "SweepNotRunningAlarm": _alarm(
            "The hourly deadline sweep has not run for 2 hours.",
            namespace=lam, metric="Invocations", dimensions={"FunctionName": {"Ref": sweep}}, statistic="Sum",
            threshold=1, comparison="LessThanThreshold", period=3600, evaluation_periods=2, missing="breaching"),
        "SenderNotRunningAlarm": _alarm(
            "The notification sender (every minute) has not run for 15 minutes.",
            namespace=lam, metric="Invocations", dimensions={"FunctionName": {"Ref": sender}}, statistic="Sum",
            threshold=1, comparison="LessThanThreshold", period=900, missing="breaching"),
    }
    for function, short in functions.items():
        resources[f"{function}ErrorsAlarm"] = _alarm(
            f"The {short} function failed (an unhandled exception or a timeout).",
            namespace=lam, metric="Errors", dimensions={"FunctionName": {"Ref": function}}, statistic="Sum",
            threshold=1)
        resources[f"{function}ThrottlesAlarm"] = _alarm(
            f"The {short} function was throttled: the account's or its concurrency limit was reached.",
            namespace=lam, metric="Throttles", dimensions={"FunctionName": {"Ref": function}}, statistic="Sum",
            threshold=1)
    # A 4xx *rate*: one bad input is normal, a quarter of all requests for 15 minutes is not. Only with
    # enough traffic to mean anything (at least 100 requests in 5 minutes).
    api = [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": api_stage}]

    def metric(id_: str, name: str) -> dict[str, Any]:
        return {"Id": id_, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": name, "Dimensions": api},
            "Period": 300, "Stat": "Sum"}}

    resources["ApiClientErrorRateAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": "More than a quarter of API requests were refused (4xx) for 15 minutes, with at "
                            "least 100 requests per 5 minutes. Runbook: README, 'When an alarm fires'.",
        "Metrics": [metric("requests", "Count"), metric("refused", "4XXError"),
                    {"Id": "rate", "Label": "4xx rate", "ReturnData": True,
                     "Expression": "IF(requests >= 100, refused / requests, 0)"}],
        "EvaluationPeriods": 3, "DatapointsToAlarm": 3, "Threshold": 0.25,
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": ALARM_TOPIC}], "OKActions": [{"Ref": ALARM_TOPIC}]}}
    return resources


def topic(table_prefix: str) -> dict[str, Any]:
    return {
        ALARM_TOPIC: {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": f"{table_prefix}-alarms", "DisplayName": f"LAPOR {table_prefix} alarms"}},
        ALARM_SUBSCRIPTION: {"Type": "AWS::SNS::Subscription", "Condition": HAS_ALARM_EMAIL, "Properties": {
            "TopicArn": {"Ref": ALARM_TOPIC}, "Protocol": "email", "Endpoint": {"Ref": ALARM_EMAIL_PARAMETER}}},
    }


def log_groups(table_prefix: str, functions: dict[str, str]) -> dict[str, Any]:
    return {log_group_id(function): {
        "Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {"LogGroupName": log_group_name(table_prefix, short),
                       "RetentionInDays": {"Ref": LOG_RETENTION_PARAMETER}}}
        for function, short in functions.items()}


def dashboard(table_prefix: str, alarm_ids: list[str], *, api_name: str, api_stage: str, stage: str,
              functions: dict[str, str], projector: str, failure_queue: str) -> dict[str, Any]:
    """One page: alarm states, then the metric behind each alarm. The body is Fn::Sub'd for ARNs and names."""
    region = "${AWS::Region}"
    api = ["ApiName", api_name, "Stage", api_stage]

    def graph(title: str, metrics: list[list[Any]], stat: str = "Sum", x: int = 0, y: int = 0) -> dict[str, Any]:
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {
            "title": title, "region": region, "stat": stat, "period": 300, "view": "timeSeries",
            "metrics": metrics}}

    widgets: list[dict[str, Any]] = [{
        "type": "alarm", "x": 0, "y": 0, "width": 24, "height": 4, "properties": {
            "title": "Alarms", "alarms": [f"arn:${{AWS::Partition}}:cloudwatch:{region}:${{AWS::AccountId}}:alarm:"
                                          f"${{{alarm}}}" for alarm in alarm_ids]}}]
    panels = [
        ("API requests and errors", [["AWS/ApiGateway", "Count", *api], [".", "4XXError", *api],
                                     [".", "5XXError", *api]], "Sum"),
        ("API latency (p50, p99)", [["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                                    [".", ".", *api, {"stat": "p99"}]], "Average"),
        ("Projector iterator age (ms)", [["AWS/Lambda", "IteratorAge", "FunctionName", f"${{{projector}}}"]],
         "Maximum"),
        ("Projector failure queue", [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
                                      f"${{{failure_queue}.QueueName}}"]], "Maximum"),
        ("Function errors", [["AWS/Lambda", "Errors", "FunctionName", f"${{{fn}}}", {"label": short}]
                             for fn, short in functions.items()], "Sum"),
        ("Function throttles", [["AWS/Lambda", "Throttles", "FunctionName", f"${{{fn}}}", {"label": short}]
                                for fn, short in functions.items()], "Sum"),
        ("Function duration (p99, ms)", [["AWS/Lambda", "Duration", "FunctionName", f"${{{fn}}}",
                                          {"label": short, "stat": "p99"}] for fn, short in functions.items()],
         "p99"),
        ("Outbox dead letters and sweep failures", [[NAMESPACE, OUTBOX_DEAD_LETTERS, "stage", stage],
                                                    [".", SWEEP_FAILURES, ".", "."]], "Sum"),
    ]
    for n, (title, metrics, stat) in enumerate(panels):
        widgets.append(graph(title, metrics, stat, x=12 * (n % 2), y=4 + 6 * (n // 2)))
    return {DASHBOARD: {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": table_prefix, "DashboardBody": {"Fn::Sub": json.dumps({"widgets": widgets})}}}}
