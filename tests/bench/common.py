"""What every part of the benchmark shares: fake credentials, the request counter, small helpers.

Imported first by `tests.bench.__main__`, before anything creates a botocore session: the counter is appended
to `botocore.handlers.BUILTIN_HANDLERS`, which only sessions created afterwards pick up.
"""
import os

# Fake credentials before any AWS client exists; nothing here may ever reach AWS.
REGION = "ap-southeast-3"
os.environ.update(AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_SESSION_TOKEN="testing", AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
                  POWERTOOLS_SERVICE_NAME="lapor-bench", POWERTOOLS_METRICS_NAMESPACE="lapor-bench")
for _name in ("DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(_name, None)

import functools  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

import botocore.handlers  # noqa: E402


def _tables_of(body: dict[str, Any], prefix: str) -> str:
    if "TableName" in body:
        names = [body["TableName"]]
    elif "TransactItems" in body:
        names = [next(iter(item.values()))["TableName"] for item in body["TransactItems"]]
    else:
        names = list(body.get("RequestItems", {}))
    return "+".join(dict.fromkeys(name.removeprefix(prefix) for name in names))


class RequestCounter:
    """Counts every HTTP request any botocore client in this process sends, by (service, operation).

    Hook point: `botocore.handlers.BUILTIN_HANDLERS`, the list every new botocore Session registers on its
    event emitter (clients copy their session's emitter when created). It is where moto's own `mock_aws`
    stubber hooks in. Appending a `before-send` handler here, before any session exists, reaches
    pynamodb's clients (pynamodb makes its own `botocore.session.get_session()` per Connection and thread),
    boto3's default session (the stream pump, the raw contender) and aett's private `boto3.Session`,
    without wrapping any of them. `before-send` fires once per HTTP attempt, so retries would count too.

    Two more handlers on the same list (`before-call` / `after-call`, once per API call) record, per
    (service, operation, table), the items each DynamoDB read returned (GetItem: 0 or 1; BatchGetItem: the
    items in Responses; Query/Scan: Count) and the client-side time of the call (request build, HTTP round
    trip, moto's work, response parse).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()  # (service, operation, table label) -> requests
        self._items: Counter = Counter()  # (service, operation, table label) -> items returned by reads
        self._seconds: Counter = Counter()  # (service, operation, table label) -> seconds in the call
        self.table_prefix: str | None = None  # set: attribute requests to tables (parses the request body)

    def __call__(self, event_name: str = "", request: Any = None, **_: object) -> None:
        # event_name is "before-send.<service-id>.<Operation>". Returning None lets the request go out.
        _, _, rest = event_name.partition(".")
        service, _, operation = rest.partition(".")
        label = self._tables(request) if self.table_prefix is not None else ""
        with self._lock:
            self._counts[(service, operation, label)] += 1
        return None

    def _tables(self, request: Any) -> str:
        try:
            body = json.loads(request.body or b"{}")
        except (AttributeError, TypeError, ValueError):
            return ""
        return _tables_of(body, self.table_prefix or "")

    def before_call(self, event_name: str = "", params: Any = None, context: Any = None, **_: object) -> None:
        if context is None:
            return None
        label = ""
        if self.table_prefix is not None and isinstance(params, dict):
            try:
                label = _tables_of(json.loads(params.get("body") or b"{}"), self.table_prefix)
            except (TypeError, ValueError):
                label = ""
        context["bench_label"] = label
        context["bench_started"] = time.perf_counter()
        return None

    def after_call(self, event_name: str = "", parsed: Any = None, context: Any = None, **_: object) -> None:
        if context is None or "bench_started" not in context:
            return None
        elapsed = time.perf_counter() - context["bench_started"]
        _, _, rest = event_name.partition(".")
        service, _, operation = rest.partition(".")
        key = (service, operation, context.get("bench_label", ""))
        items = 0
        if isinstance(parsed, dict):
            if operation == "GetItem":
                items = 1 if parsed.get("Item") else 0
            elif operation == "BatchGetItem":
                items = sum(len(found) for found in (parsed.get("Responses") or {}).values())
            elif operation in ("Query", "Scan"):
                items = int(parsed.get("Count", 0))
        with self._lock:
            self._seconds[key] += elapsed
            if items:
                self._items[key] += items
        return None

    def snapshot(self) -> Counter:
        with self._lock:
            return Counter(self._counts)

    def snapshot_all(self) -> tuple[Counter, Counter, Counter]:
        with self._lock:
            return Counter(self._counts), Counter(self._items), Counter(self._seconds)

    @contextmanager
    def measure(self):
        """`with counter.measure() as seen:` -> `seen` holds the requests sent inside the block."""
        seen: Counter = Counter()
        before = self.snapshot()
        try:
            yield seen
        finally:
            seen.update(self.snapshot() - before)

    @contextmanager
    def measure_all(self):
        """Like measure(), but `seen` is a Usage: requests, items returned, and seconds per operation."""
        usage = Usage()
        before = self.snapshot_all()
        try:
            yield usage
        finally:
            after = self.snapshot_all()
            usage.requests.update(after[0] - before[0])
            usage.items.update(after[1] - before[1])
            usage.seconds.update({k: v - before[2].get(k, 0.0) for k, v in after[2].items()
                                  if v - before[2].get(k, 0.0) > 0})


class Usage:
    def __init__(self) -> None:
        self.requests: Counter = Counter()
        self.items: Counter = Counter()
        self.seconds: Counter = Counter()

    def without(self, table: str) -> "Usage":
        """The same usage minus everything sent to one table (e.g. the control table's generation lookup)."""
        out = Usage()
        out.requests.update({k: n for k, n in self.requests.items() if k[2] != table})
        out.items.update({k: n for k, n in self.items.items() if k[2] != table})
        out.seconds.update({k: n for k, n in self.seconds.items() if k[2] != table})
        return out

    def only(self, table: str) -> "Usage":
        out = Usage()
        out.requests.update({k: n for k, n in self.requests.items() if k[2] == table})
        out.items.update({k: n for k, n in self.items.items() if k[2] == table})
        out.seconds.update({k: n for k, n in self.seconds.items() if k[2] == table})
        return out


def refuse_real_aws(request: Any = None, **_: object) -> None:
    """Every request goes to the local moto server, or to moto in-process while `in_process()` is active."""
    url = getattr(request, "url", "") or ""
    if url.startswith(("http://127.0.0.1:", "http://localhost:")):
        return None
    from moto.core.models import botocore_stubber

    if not botocore_stubber.enabled:
        raise RuntimeError(f"the benchmark refused a request to {url.split('?')[0]}: only moto may be called")
    return None


COUNTER = RequestCounter()
botocore.handlers.BUILTIN_HANDLERS.append(("before-send", refuse_real_aws))
botocore.handlers.BUILTIN_HANDLERS.append(("before-send", COUNTER))
botocore.handlers.BUILTIN_HANDLERS.append(("before-call", COUNTER.before_call))
botocore.handlers.BUILTIN_HANDLERS.append(("after-call", COUNTER.after_call))


class MotoTimer:
    """Server-side time inside moto's DynamoDB backend, per method (the server runs in this process).

    Wraps DynamoDBBackend methods after tests.moto_speedups.install(), so it measures moto as
    `lapor serve` and the tests run it. Nested calls (batch_write_item -> put_item) are counted at the
    outermost method only.
    """

    METHODS = ("get_item", "put_item", "update_item", "delete_item", "query", "scan", "batch_get_item",
               "batch_write_item", "transact_write_items")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.seconds: Counter = Counter()
        self.calls: Counter = Counter()
        self.samples: dict[str, list[float]] = {}  # every call's seconds, per method
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        import moto.dynamodb.models as models

        for name in self.METHODS:
            setattr(models.DynamoDBBackend, name, self._timed(name, getattr(models.DynamoDBBackend, name)))
        self._installed = True

    def _timed(self, name: str, method: Any) -> Any:
        timer = self

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(timer._local, "inside", False):
                return method(*args, **kwargs)
            timer._local.inside = True
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                timer._local.inside = False
                with timer._lock:
                    timer.seconds[name] += elapsed
                    timer.calls[name] += 1
                    timer.samples.setdefault(name, []).append(elapsed)
        return timed

    def snapshot(self) -> tuple[Counter, Counter]:
        with self._lock:
            return Counter(self.seconds), Counter(self.calls)

    def median_of(self, name: str, since: int) -> float:
        """Median seconds of the calls of `name` made after the first `since` (see calls[name])."""
        with self._lock:
            recent = self.samples.get(name, [])[since:]
        return statistics.median(recent) if recent else 0.0

    @contextmanager
    def measure(self):
        """`with MOTO.measure() as spent:` -> spent = {method: (seconds, calls)} inside the block."""
        spent: dict[str, tuple[float, int]] = {}
        seconds, calls = self.snapshot()
        try:
            yield spent
        finally:
            after_seconds, after_calls = self.snapshot()
            for name in after_calls:
                n = after_calls[name] - calls.get(name, 0)
                if n:
                    spent[name] = (after_seconds[name] - seconds.get(name, 0.0), n)


MOTO = MotoTimer()


@contextmanager
def in_process():
    """moto's DynamoDB in this process without HTTP: the same backend (and tables) the local server serves.

    `mock_aws` is started without resetting moto's data and stopped without removing it, so tables made here
    stay visible to the server and the other way round. Clients made inside (endpoint None: the AWS URL, which
    moto intercepts) must not be used after the block; `refuse_real_aws` makes sure they cannot reach AWS.
    """
    from moto import mock_aws

    mock = mock_aws()
    mock.start(reset=False)
    try:
        yield
    finally:
        mock.stop(remove_data=False)


@contextmanager
def query_without_table_sort():
    """Inside this block, moto 5.2.5's Table.query skips a sort of the WHOLE table.

    Table.query starts from Table.all_items(), which returns every item of the table sorted by key (O(n log n)
    DynamoType comparisons in Python: seconds per Query at 100,000 items), then filters the partition and
    sorts the matches again (a total order: index keys, then table keys). Skipping the first sort returns the
    same items in the same order; only the time changes. Scans and everything else keep moto's code.
    """
    from moto.dynamodb.models.table import Table

    original_all, original_query = Table.all_items, Table.query
    local = threading.local()

    def all_items(self: Any) -> list:
        if not getattr(local, "querying", False):
            return original_all(self)
        if self.range_key_attr:
            return [item for hash_set in self.items.values() for item in hash_set.values()]
        return list(self.items.values())

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        local.querying = True
        try:
            return original_query(self, *args, **kwargs)
        finally:
            local.querying = False

    Table.all_items, Table.query = all_items, functools.wraps(original_query)(query)
    try:
        yield
    finally:
        Table.all_items, Table.query = original_all, original_query

import boto3  # noqa: E402

# ----------------------------------------------------------------------------------------------- helpers

def ms(seconds: float) -> float:
    return seconds * 1000.0


def pct(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method), in the values' unit."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def operations(seen: Counter, service: str = "dynamodb") -> dict[str, int]:
    """Requests by operation name, whatever the table."""
    out: Counter = Counter()
    for (svc, op, _), n in seen.items():
        if svc == service:
            out[op] += n
    return dict(out)


def breakdown(seen: Counter, service: str = "dynamodb", per: float = 1) -> str:
    """E.g. "PutItem 1 (events), Query 1 (events)"; per divides the counts (requests per event)."""
    parts = [f"{op} {n / per:.3g}" + (f" ({table})" if table else "")
             for (svc, op, table), n in sorted(seen.items()) if svc == service and n]
    return ", ".join(parts) or "none"


def total(seen: Counter, service: str = "dynamodb") -> int:
    return sum(n for (svc, _, _), n in seen.items() if svc == service)


def dynamodb_client(url: str):
    return boto3.client("dynamodb", endpoint_url=url, region_name=REGION)


@contextmanager
def endpoint_env(url: str):
    """Point botocore's standard service-endpoint setting at moto while a third-party client is created."""
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = url
    try:
        yield
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)


def batch_put(client, table: str, items: list[dict[str, Any]]) -> int:
    """BatchWriteItem, 25 items per request, resending whatever comes back unprocessed; returns requests."""
    requests = 0
    for start in range(0, len(items), 25):
        request = {table: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
        while request:
            requests += 1
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or None
    return requests


def delete_tables(client, names) -> None:
    """Drop tables a part no longer needs, so moto's memory and per-table scans stay bounded."""
    from infra.tables import drop_table  # tables are made deletion-protected: protection goes off first

    for name in names:
        try:
            drop_table(client, name)
        except client.exceptions.ResourceNotFoundException:
            pass
