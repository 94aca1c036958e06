"""The one definition of every DynamoDB table: key schemas, indexes, streams, TTL.

Tests, `lapor serve` and the CloudFormation template (infra/template.py) all read these specs, so the
tables the code runs against locally are the tables it gets in AWS.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

EVENTS, IDEMPOTENCY, PERSONAL_DATA, REPORT_VIEWS, STATS, CONTROL, DEADLINES, OUTBOX, OPEN311_KEYS = (
    "events", "idempotency", "personal_data", "report_views", "stats", "control", "deadlines", "outbox",
    "open311_keys")
# Read models that `lapor rebuild` can rebuild into a fresh table generation and switch to.
REBUILDABLE = (REPORT_VIEWS, STATS, DEADLINES)
PITR_ATTEMPTS, PITR_RETRY_SECONDS = 30, 5.0
# Table waits: DynamoDB Local and moto answer ACTIVE at once (a waiter checks before it sleeps); DynamoDB
# itself takes seconds to a few minutes for a table with many indexes.
WAIT = {"Delay": 0.5, "MaxAttempts": 600}


@dataclass(frozen=True)
class TableSpec:
    logical_name: str  # the suffix of the physical name and the key of Settings.table_names
    cfn_resource: str
    keys: tuple[tuple[str, str, str], ...]  # (attribute, S|N, HASH|RANGE)
    indexes: tuple[dict[str, Any], ...] = ()
    index_attributes: tuple[tuple[str, str], ...] = ()
    stream: str | None = None
    ttl_attribute: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def create_table_kwargs(self, physical_name: str) -> dict[str, Any]:
        attributes = {name: kind for name, kind, _ in self.keys} | dict(self.index_attributes)
        kwargs: dict[str, Any] = {
            "TableName": physical_name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": name, "KeyType": key_type} for name, _, key_type in self.keys],
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in sorted(attributes.items())],
        }
        if self.indexes:
            kwargs["GlobalSecondaryIndexes"] = [dict(index) for index in self.indexes]
        if self.stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.stream}
        return kwargs


def _gsi(name: str, hash_key: str, range_key: str, include: tuple[str, ...] | None = None) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": "ALL"}
    if include:
        projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(include)}
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                          {"AttributeName": range_key, "KeyType": "RANGE"}],
            "Projection": projection}


# Work queues and the public list are sparse indexes over the report view: a report is in an index only
# while it carries that index's key, and the keys are written in the same guarded put as the view.
# Queue index -> (hash attribute); all sort by the nearest open deadline (`q_due`).
QUEUE_INDEXES = {
    "queue-national": "q_nat", "queue-national-bucket": "q_nat_b",
    "queue-institution": "q_inst", "queue-institution-bucket": "q_inst_b",
    "queue-unit": "q_unit", "queue-unit-bucket": "q_unit_b",
    "queue-ombudsman": "q_omb",
}
# Public list index -> hash attribute; all sort newest first by `p_at`. The reprimand list (reports 60
# days without a response, for supervisors) sorts the same way.
PUBLIC_INDEXES = {
    "public-all": "p_all", "public-province": "p_prov", "public-region": "p_region",
    "public-institution": "p_inst", "public-category": "p_cat",
    "reprimand-all": "r_all", "reprimand-province": "r_prov", "reprimand-region": "r_region",
    "reprimand-institution": "r_inst",
}
SUMMARY_ATTRIBUTES = ("summary",)


TABLES: dict[str, TableSpec] = {
    # The only source of truth: one immutable item per event. The stream feeds every projection.
    EVENTS: TableSpec(
        EVENTS, "EventsTable",
        keys=(("stream_id", "S", "HASH"), ("version", "N", "RANGE")),
        # All events of a UTC day in time order, so auditors and rebuilds read a date range without a Scan.
        indexes=(_gsi("by-day", "day", "at_key"),),
        index_attributes=(("day", "S"), ("at_key", "S")),
        stream="NEW_IMAGE"),
    IDEMPOTENCY: TableSpec(IDEMPOTENCY, "IdempotencyTable", keys=(("key", "S", "HASH"),),
                           ttl_attribute="expires_at"),
    PERSONAL_DATA: TableSpec(PERSONAL_DATA, "PersonalDataTable", keys=(("reporter_ref", "S", "HASH"),)),
    REPORT_VIEWS: TableSpec(
        REPORT_VIEWS, "ReportViewsTable", keys=(("report_id", "S", "HASH"),),
        indexes=tuple(_gsi(name, attr, "q_due", SUMMARY_ATTRIBUTES) for name, attr in QUEUE_INDEXES.items())
        + tuple(_gsi(name, attr, "p_at", SUMMARY_ATTRIBUTES) for name, attr in PUBLIC_INDEXES.items()),
        index_attributes=tuple((attr, "S") for attr in (*QUEUE_INDEXES.values(), *PUBLIC_INDEXES.values()))
        + (("q_due", "S"), ("p_at", "S"))),
    # Statistics counters per (scope, period), and per report the guard and what it currently contributes.
    STATS: TableSpec(STATS, "StatsTable", keys=(("key", "S", "HASH"),)),
    # The due-date index: per report, its state and when the sweep must next look at it. Only reports
    # with something pending carry `due_q`, so the sweep's Query reads what is due and nothing else.
    DEADLINES: TableSpec(DEADLINES, "DeadlinesTable", keys=(("report_id", "S", "HASH"),),
                         indexes=(_gsi("by-next-action", "due_q", "next_action"),),
                         index_attributes=(("due_q", "S"), ("next_action", "S"))),
    # Notifications to send: one item per (event, recipient). `state_q` is "pending" or "dead" (sparse:
    # sent messages leave the index); `all_q` lists every message newest first for the local /dev/outbox;
    # `to_q` (staff messages only: "staff#<role>/<institution>/<unit>") lists a scope's, newest first, for the
    # staff console — one Query a page.
    OUTBOX: TableSpec(OUTBOX, "OutboxTable", keys=(("message_id", "S", "HASH"),),
                      indexes=(_gsi("by-state", "state_q", "next_attempt"), _gsi("by-time", "all_q", "created"),
                               _gsi("by-recipient", "to_q", "created")),
                      index_attributes=(("state_q", "S"), ("next_attempt", "S"), ("all_q", "S"),
                                        ("created", "S"), ("to_q", "S"))),
    # Which generation of each read model is live, and the first day of the log.
    CONTROL: TableSpec(CONTROL, "ControlTable", keys=(("key", "S", "HASH"),)),
    # Open311 client apps' API keys (pk "keys", sk the key id: a handful of items, listed with one Query) and
    # their per-minute request counters (pk "rate#<key id>", sk the minute), which expire by TTL.
    OPEN311_KEYS: TableSpec(OPEN311_KEYS, "Open311KeysTable", keys=(("pk", "S", "HASH"), ("sk", "S", "RANGE")),
                            ttl_attribute="expires_at"),
}


def physical_name(prefix: str, logical_name: str, generation: int = 0) -> str:
    """Generation 0 is the table made at install; a rebuild makes generation n+1 beside it."""
    return f"{prefix}-{logical_name}" + (f"-g{generation}" if generation else "")


def create_table(client: Any, logical: str, name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
    """Create a table with the protections the stack gives its own tables (infra/template.py): deletion
    protection, and point-in-time recovery where the engine has it. A rebuilt read-model generation
    (`lapor rebuild`) is made here, outside the stack, so it must not be the one unprotected table."""
    spec = TABLES[logical]
    client.create_table(**spec.create_table_kwargs(name), DeletionProtectionEnabled=True)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAIT)
    if spec.ttl_attribute:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": spec.ttl_attribute})
    enable_point_in_time_recovery(client, name, sleep=sleep)


def enable_point_in_time_recovery(client: Any, name: str, *, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Turn PITR on; False only on an engine without backups at all (DynamoDB Local answers
    UnknownOperationException, which DynamoDB itself never does for this operation)."""
    for attempt in range(PITR_ATTEMPTS):
        try:
            client.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
            return True
        except client.exceptions.ContinuousBackupsUnavailableException:
            # DynamoDB enables backups on a new table asynchronously, for up to a minute or so after ACTIVE.
            if attempt == PITR_ATTEMPTS - 1:
                raise
            sleep(PITR_RETRY_SECONDS)
        except client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "UnknownOperationException":
                return False
            raise
    return False


def drop_table(client: Any, name: str) -> None:
    """Delete a table this code created: deletion protection goes off first (DeleteTable refuses otherwise)."""
    if client.describe_table(TableName=name)["Table"].get("DeletionProtectionEnabled"):
        client.update_table(TableName=name, DeletionProtectionEnabled=False)
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAIT)
    client.delete_table(TableName=name)
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=WAIT)


def create_tables(client: Any, prefix: str, only: tuple[str, ...] | None = None) -> dict[str, str]:
    """Create the tables (idempotently) with a boto3 DynamoDB client; returns logical -> physical names."""
    existing = set(client.list_tables().get("TableNames", []))
    names = {}
    for logical, spec in TABLES.items():
        if only is not None and logical not in only:
            continue
        name = names[logical] = physical_name(prefix, logical)
        if name not in existing:
            create_table(client, logical, name)
    return names
