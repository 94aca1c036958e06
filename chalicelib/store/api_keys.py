"""Open311 client apps' API keys and their per-minute request counters, in the `open311_keys` table.

A key is `<key id>.<secret>`. Only the SHA-256 of the whole key is stored; the plain key is shown once, when
it is issued. Checking a presented key is one consistent GetItem by the id before the dot (so a revocation
holds from the next request on) and a constant-time comparison of the hashes. A key is never deleted: a
revoked one stays, with who revoked it when, so the channel detail of old reports still names a known app.

The rate limit is one conditional UpdateItem per request on the counter of (key, current UTC minute): it
adds one only while the count is below the limit, so concurrent requests can never exceed it, and a refused
request writes nothing. Counters expire by TTL an hour after their minute.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from botocore.exceptions import ClientError

from chalicelib.clock import iso
from chalicelib.errors import Forbidden, NotFound, RateLimited
from infra.tables import OPEN311_KEYS

KEY_ID = re.compile(r"k[0-9a-f]{12}")
DEFAULT_RATE_PER_MINUTE = 60
MAX_RATE_PER_MINUTE = 10_000
_KEYS_PARTITION = "keys"
_COUNTER_LIFETIME = timedelta(hours=1)  # long after its minute, so TTL's lag (up to days) never matters


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str  # the client app; recorded as the channel detail of the reports it submits
    rate_per_minute: int
    created_at: str
    created_by: str | None = None
    revoked_at: str | None = None
    revoked_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """What admins see of a key: never its hash."""
        return {"key_id": self.key_id, "name": self.name, "rate_per_minute": self.rate_per_minute,
                "created_at": self.created_at, "created_by": self.created_by, "revoked_at": self.revoked_at,
                "revoked_by": self.revoked_by}


def _forbidden() -> Forbidden:
    # One answer for a missing, malformed, unknown, wrong and revoked key: nothing to learn by probing.
    return Forbidden("api_key is missing, invalid or revoked", "api_key tidak ada, tidak sah atau sudah dicabut")


class ApiKeys:
    """The DynamoDB table (a boto3 client, low-level attribute values)."""

    def __init__(self, table_name: str, client: Callable[[], Any]) -> None:
        self._table, self._client = table_name, client

    @staticmethod
    def _key(key_id: str) -> dict[str, Any]:
        return {"pk": {"S": _KEYS_PARTITION}, "sk": {"S": key_id}}

    @staticmethod
    def _from_item(item: dict[str, Any]) -> ApiKey:
        optional = {name: item[name]["S"] for name in ("created_by", "revoked_at", "revoked_by") if name in item}
        return ApiKey(key_id=item["sk"]["S"], name=item["name"]["S"], rate_per_minute=int(item["rate"]["N"]),
                      created_at=item["created_at"]["S"], **optional)

    def issue(self, name: str, rate_per_minute: int, now: datetime, created_by: str | None) -> tuple[ApiKey, str]:
        """A new key for the app `name`; returns it and the plain key, which exists nowhere else afterwards."""
        key_id = "k" + secrets.token_hex(6)
        plain = f"{key_id}.{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id=key_id, name=name, rate_per_minute=rate_per_minute, created_at=iso(now),
                        created_by=created_by)
        item = self._key(key_id) | {"name": {"S": name}, "rate": {"N": str(rate_per_minute)},
                                    "key_hash": {"S": hash_key(plain)}, "created_at": {"S": record.created_at}}
        if created_by:
            item["created_by"] = {"S": created_by}
        # Create-only: 48 random bits will not collide, and if they ever did no key would be overwritten.
        self._client().put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        return record, plain

    def list(self) -> list[ApiKey]:
        keys, start = [], None
        while True:
            request: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": "pk = :p",
                                       "ExpressionAttributeValues": {":p": {"S": _KEYS_PARTITION}}}
            if start:
                request["ExclusiveStartKey"] = start
            response = self._client().query(**request)
            keys += [self._from_item(item) for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if not start:
                return sorted(keys, key=lambda key: key.created_at)

    def revoke(self, key_id: str, now: datetime, revoked_by: str | None) -> ApiKey:
        """Revoke a key from the next request on; revoking it again keeps the first revocation."""
        if not KEY_ID.fullmatch(key_id):
            raise NotFound(f"no API key {key_id[:40]!r}", f"kunci API {key_id[:40]!r} tidak ada")
        try:
            response = self._client().update_item(
                TableName=self._table, Key=self._key(key_id), ConditionExpression="attribute_exists(pk)",
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at), "
                                 "revoked_by = if_not_exists(revoked_by, :by)",
                ExpressionAttributeValues={":at": {"S": iso(now)}, ":by": {"S": revoked_by or "-"}},
                ReturnValues="ALL_NEW")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            raise NotFound(f"no API key {key_id}", f"kunci API {key_id} tidak ada") from None
        return self._from_item(response["Attributes"])

    def authenticate(self, presented: str | None) -> ApiKey:
        """The live key behind a presented plain key, or 403."""
        key_id, dot, _ = (presented or "").partition(".")
        if not dot or not KEY_ID.fullmatch(key_id) or len(presented or "") > 200:
            raise _forbidden()  # refused before any DynamoDB call
        item = self._client().get_item(TableName=self._table, Key=self._key(key_id), ConsistentRead=True).get("Item")
        if item is None or not hmac.compare_digest(item["key_hash"]["S"], hash_key(presented or "")):
            raise _forbidden()
        key = self._from_item(item)
        if key.revoked_at:
            raise _forbidden()
        return key

    def count_request(self, key: ApiKey, now: datetime) -> None:
        """Count one request in the key's current minute, or refuse it (429) and count nothing."""
        minute = now.replace(second=0, microsecond=0)
        try:
            self._client().update_item(
                TableName=self._table,
                Key={"pk": {"S": f"rate#{key.key_id}"}, "sk": {"S": iso(minute)}},
                UpdateExpression="ADD n :one SET expires_at = if_not_exists(expires_at, :ttl)",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(key.rate_per_minute)},
                                           ":ttl": {"N": str(int((minute + _COUNTER_LIFETIME).timestamp()))}})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            retry_after = max(1, int((minute + timedelta(minutes=1) - now).total_seconds() + 0.999))
            raise RateLimited(key.rate_per_minute, retry_after) from None


def api_keys_of(services: Any) -> ApiKeys:
    """The keys table of these services (chalicelib.bootstrap.Services)."""
    return ApiKeys(services.settings.table_names[OPEN311_KEYS], services.dynamodb)
