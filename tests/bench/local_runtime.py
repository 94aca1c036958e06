"""Section 8: the local runtime's pieces on DynamoDB Local beside moto — submit throughput over HTTP beside
raw PutItem to the same backend, and projection lag through the stream pump, in one run, same code on both.

For each backend: the tables from infra/, the Chalice app on the local HTTP server (infra/local/
http_server.py), the stream pump with a file checkpoint invoking the real projector — what `lapor serve`
runs, minus the schedulers. First CLIENTS threads send REPORTS raw PutItem calls (one item of an event's
size, one shared boto3 client, into a table without a stream): the backend's own pace. Then CLIENTS threads
submit REPORTS reports over HTTP, each client on one kept-alive connection (HTTP/1.1, as a browser or an app
does); every submission's acknowledgement time and the time the pump handed its event to the projector are
recorded. Lag = projected - acknowledged (0 when the projection came first). The ratio submissions/s over
PutItem/s is issue 12's "HTTP submissions vs raw PutItem" (goal >= 0.7x).

Run alone: `python -m tests.bench.local_runtime` (a few minutes); `make bench` runs it as section 8.
"""
from tests.bench.common import REGION, dynamodb_client, ms, pct  # noqa: I001  (sets credentials first)

import json
import statistics
import sys
import tempfile
import threading
import time
import http.client as http_client
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPORTS = 600
CLIENTS = 8
REPORT = {"title": "Lampu jalan padam", "body": "Lampu jalan di Jl. Juanda padam sejak sepekan",
          "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.penerangan-jalan"}


@dataclass
class LocalRun:
    backend: str
    reports: int
    seconds: float  # first request sent .. last acknowledgement
    lags: list[float]  # per report, seconds
    visible_after_burst: float  # last acknowledgement .. last projection
    puts_per_second: float = 0.0  # raw PutItem from the same number of client threads, same backend
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.reports / self.seconds


def run_backend(backend: str, url: str, workdir: Path, reports: int = REPORTS, clients: int = CLIENTS) -> LocalRun:
    import boto3
    from chalice.config import Config

    import app as app_module
    from chalicelib.bootstrap import build_services, use_services
    from chalicelib.clock import system_now
    from infra.local.http_server import create_http_server
    from infra.local.pump import Checkpoints, StreamPump
    from chalicelib.services.notifications import FileGateway
    from chalicelib.settings import Settings
    from infra.tables import create_tables

    prefix = f"bench-local-{backend}"
    client = dynamodb_client(url)
    puts_per_second = raw_puts(client, f"{prefix}-raw", reports, clients)
    create_tables(client, prefix)
    settings = Settings(stage="local", region=REGION, dynamodb_endpoint=url, table_prefix=prefix,
                        jwt_secret="bench-jwt-secret-0123456789", jwt_issuer="lapor-local",
                        token_secret="bench-token-secret-0123456789")
    services = build_services(settings, clock=system_now)
    services.gateway = FileGateway(workdir / f"outbox-{backend}.jsonl")
    use_services(services)

    projected: dict[str, float] = {}
    lock = threading.Lock()

    def deliver(event: dict[str, Any]) -> dict[str, Any]:
        result = app_module.project_events(event, None)
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        now = time.perf_counter()
        with lock:
            for record in event["Records"]:
                if record["dynamodb"]["SequenceNumber"] not in failed:
                    projected.setdefault(record["dynamodb"]["Keys"]["stream_id"]["S"], now)
        return result

    streams = boto3.client("dynamodbstreams", endpoint_url=url, region_name=REGION)
    pump = StreamPump(client, streams, settings.table_names["events"], deliver=deliver,
                      checkpoints=Checkpoints(workdir / f"checkpoint-{backend}.json"))
    stop = threading.Event()
    pump_thread = threading.Thread(target=pump.run, args=(stop, 0.05), daemon=True)
    pump_thread.start()
    config = Config.create(chalice_stage="local", app_name="lapor", lambda_timeout=30, lambda_memory_size=512)
    http = create_http_server(app_module.app, config, "127.0.0.1", 0)
    threading.Thread(target=http.server.serve_forever, daemon=True).start()

    acknowledged: dict[str, float] = {}
    errors: list[str] = []
    counter = iter(range(reports))

    host, port = http.server.server_address[:2]

    def submit_all() -> None:
        connection = http_client.HTTPConnection(host, port, timeout=60)  # kept alive between requests
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                connection.close()
                return
            body = json.dumps(REPORT | {"title": f"Lampu jalan padam nomor {n}"}).encode()  # one send
            try:
                connection.request("POST", "/reports", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                if response.status != 201:
                    raise RuntimeError(f"HTTP {response.status}: {answer[:200]!r}")
                acknowledged[json.loads(answer)["report_id"]] = time.perf_counter()
            except Exception as error:  # noqa: BLE001 — counted and shown, never hidden
                errors.append(f"{type(error).__name__}: {error}")
                connection.close()  # the next request opens a new one

    started = time.perf_counter()
    workers = [threading.Thread(target=submit_all) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    burst_end = max(acknowledged.values(), default=started)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not set(acknowledged) <= set(projected):
        time.sleep(0.01)
    http.shutdown()
    http.server.server_close()
    stop.set()
    pump_thread.join(timeout=30)
    use_services(None)
    missing = set(acknowledged) - set(projected)
    if missing:
        errors.append(f"{len(missing)} acknowledged reports never projected")
    lags = [max(0.0, projected[r] - acknowledged[r]) for r in acknowledged if r in projected]
    last = max((projected[r] for r in acknowledged if r in projected), default=burst_end)
    return LocalRun(backend=backend, reports=len(acknowledged), seconds=burst_end - started, lags=lags,
                    visible_after_burst=max(0.0, last - burst_end), puts_per_second=puts_per_second, errors=errors)


def raw_puts(client: Any, table: str, count: int, clients: int) -> float:
    """PutItem/s of `count` items of an event's size from `clients` threads sharing one client (as the app's
    threads share theirs), into a table of their own (no stream, so nothing downstream runs)."""
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    client.get_waiter("table_exists").wait(TableName=table)
    payload = json.dumps(REPORT | {"padding": "x" * 600})  # about a submitted event's stored size

    def put(n: int) -> None:
        client.put_item(TableName=table, Item={"pk": {"S": f"raw-{n}"}, "version": {"N": "1"},
                                               "data": {"S": payload}})

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(put, range(count)))
    return count / (time.perf_counter() - started)


def with_backends(run: Callable[[str, str], LocalRun]) -> list[LocalRun]:
    """DynamoDB Local on disk (as `make run`), then moto's server with the test suite's fixes."""
    from moto.server import ThreadedMotoServer

    from infra.local.dynamodb_local import DynamoDBLocal, find_installation
    from tests import moto_speedups

    results = []
    with tempfile.TemporaryDirectory() as folder:
        database = DynamoDBLocal(find_installation(), db_path=Path(folder) / "db")
        database.start()
        try:
            results.append(run("dynamodb-local", database.url))
        finally:
            database.stop()
    moto_speedups.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        results.append(run("moto", f"http://{host}:{port}"))
    finally:
        server.stop()
    return results


def measure() -> list[LocalRun]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        return with_backends(lambda backend, url: run_backend(backend, url, Path(folder)))


def render(runs: list[LocalRun]) -> list[str]:
    lines = ["## 8. Local runtime: DynamoDB Local beside moto", "",
             f"{REPORTS} submissions over HTTP from {CLIENTS} client threads (each on one kept-alive connection), "
             "through the local HTTP server, the command handler and the stream pump with a file checkpoint into "
             f"every read model, beside {REPORTS} raw PutItem calls from {CLIENTS} threads to the same backend; same "
             "code, same run, two backends (DynamoDB Local 3.3.1 on disk, as `make run`; moto's server with "
             "tests/moto_speedups.py). Reproduce alone: `python -m tests.bench.local_runtime`.", "",
             "| backend | raw PutItem/s | submissions/s | submissions / PutItem | lag p50 | lag p95 | lag max "
             "| all projected after the burst | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        lags = run.lags or [0.0]
        ratio = run.per_second / run.puts_per_second if run.puts_per_second else 0.0
        lines.append(f"| {run.backend} | {run.puts_per_second:,.0f} | {run.per_second:,.0f} | {ratio:.2f}x | "
                     f"{ms(statistics.median(lags)):,.0f} ms | {ms(pct(lags, 95)):,.0f} ms | {ms(max(lags)):,.0f} ms "
                     f"| {run.visible_after_burst:.2f} s | {len(run.errors)} |")
    if len(runs) == 2 and runs[1].per_second:
        lines += ["", f"DynamoDB Local / moto submissions per second: {runs[0].per_second / runs[1].per_second:.2f}x "
                      "(ratios in one run; absolute figures depend on this machine's load)."]
    for run in runs:
        for error in run.errors[:5]:
            lines.append(f"- {run.backend}: {error}")
    return lines + [""]


def main() -> int:
    runs = measure()
    text = "\n".join(render(runs))
    print(text)
    return 0 if all(not run.errors for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
