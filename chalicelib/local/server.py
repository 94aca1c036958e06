"""`lapor serve`: the whole system on this machine, the same code paths as on AWS, only the triggers local.

moto's DynamoDB server on 127.0.0.1 stands in for DynamoDB, the Chalice app is served over HTTP, and a
stream pump plays Lambda's event-source mapping, invoking the real projector function.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

import boto3

from chalicelib.auth import mint_token
from chalicelib.bootstrap import Services, build_services, use_services
from chalicelib.clock import iso, system_now
from chalicelib.local import moto_speedups
from chalicelib.local.pump import StreamPump
from chalicelib.notifications import FileGateway
from chalicelib.operations import restore, verify_log
from projections.archive import FileArchive, read_archive
from chalicelib.local.state import LOCAL_ISSUER, LocalState
from chalicelib.settings import Settings
from infra.tables import create_tables

logger = logging.getLogger(__name__)
REGION = "ap-southeast-3"

DEMO_STAFF = (
    ("admin_nasional", None, None),
    ("admin_instansi", "pemkot-samarinda", None),
    ("admin_penghubung", "pemkot-samarinda", "dinas-pupr"),
    ("ombudsman", None, None),
    ("supervisor", None, None),
    ("auditor", None, None),
)


@dataclass
class LocalSystem:
    """The running pieces; `stop()` ends them all, in reverse order of starting."""

    services: Services
    api_url: str
    dynamodb_url: str
    restored: tuple[int, int] = (0, 0)  # (reports, events) replayed from the archive at start
    _stoppers: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        while self._stoppers:
            stopper = self._stoppers.pop()
            try:
                stopper()
            except Exception:  # noqa: BLE001 — stopping must reach every piece
                logger.exception("error while stopping")


def fake_aws_credentials() -> None:
    # moto accepts any credentials; botocore insists on having some.
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                        ("AWS_DEFAULT_REGION", REGION)):
        os.environ.setdefault(name, value)


def start(state: LocalState, host: str = "127.0.0.1", port: int = 8000) -> LocalSystem:
    from moto.server import ThreadedMotoServer
    from chalice.config import Config
    from chalice.local import create_local_server

    import app as app_module

    fake_aws_credentials()
    moto_speedups.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_host, moto_port = moto.get_host_and_port()
    dynamodb_url = f"http://{moto_host}:{moto_port}"
    system_stoppers: list[Callable[[], None]] = [moto.stop]
    try:
        secrets = state.secrets()
        settings = Settings(stage="local", region=REGION, dynamodb_endpoint=dynamodb_url, table_prefix="lapor-local",
                            jwt_secret=secrets["jwt_secret"], jwt_issuer=LOCAL_ISSUER,
                            token_secret=secrets["token_secret"])
        dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_url, region_name=REGION)
        create_tables(dynamodb, settings.table_prefix)
        services = build_services(settings, clock=system_now)
        restored = _restore_archive(state, services)
        services.extra_read_models.append(FileArchive(state.archive_path))
        services.gateway = FileGateway(state.home / "outbox.jsonl")
        use_services(services)

        streams = boto3.client("dynamodbstreams", endpoint_url=dynamodb_url, region_name=REGION)
        pump = StreamPump(dynamodb, streams, settings.table_names["events"],
                          deliver=lambda event: app_module.project_events(event, None))
        stop_pump = threading.Event()
        pump_thread = threading.Thread(target=pump.run, args=(stop_pump,), name="stream-pump", daemon=True)
        pump_thread.start()
        system_stoppers += [lambda: (stop_pump.set(), pump_thread.join(timeout=5))]

        stop_scheduler = threading.Event()
        schedules = (("sweep_deadlines", float(os.environ.get("LAPOR_SWEEP_SECONDS", "3600"))),
                     ("send_notifications", float(os.environ.get("LAPOR_SEND_SECONDS", "2"))))
        for name, seconds in schedules:
            scheduler = threading.Thread(target=_run_schedule, name=f"schedule-{name}", daemon=True,
                                         args=(name, getattr(app_module, name), stop_scheduler, seconds))
            scheduler.start()
            system_stoppers.append(lambda thread=scheduler: (stop_scheduler.set(), thread.join(timeout=5)))

        config = Config.create(chalice_stage="local", app_name="lapor", lambda_timeout=30, lambda_memory_size=512)
        http = create_local_server(app_module.app, config, host, port)
        http_thread = threading.Thread(target=http.server.serve_forever, name="http", daemon=True)
        http_thread.start()
        system_stoppers += [lambda: (http.shutdown(), http.server.server_close())]
    except BaseException:
        for stopper in reversed(system_stoppers):
            stopper()
        raise
    bound_port = http.server.server_address[1]
    api_url = f"http://{host}:{bound_port}"
    state.write_runtime({"pid": os.getpid(), "api_url": api_url, "dynamodb_url": dynamodb_url,
                         "table_prefix": settings.table_prefix, "region": REGION})
    system_stoppers.insert(1, state.clear_runtime)
    return LocalSystem(services=services, api_url=api_url, dynamodb_url=dynamodb_url, restored=restored,
                       _stoppers=system_stoppers)


def _run_schedule(name: str, function: Any, stop: threading.Event, every_seconds: float) -> None:
    """EventBridge's part: invoke the same scheduled function Lambda would, with a real-shaped event."""
    while not stop.wait(every_seconds):
        event = {"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "000000000000", "time": iso(system_now()), "region": REGION,
                 "resources": [f"arn:aws:events:local:000000000000:rule/{name}"], "detail": {}}
        try:
            function(event, None)
        except Exception:  # noqa: BLE001 — the next tick tries again
            logger.exception("scheduled %s failed", name)


def _restore_archive(state: LocalState, services: Services) -> tuple[int, int]:
    """moto keeps nothing on disk: put the archived log back before serving (projections follow from the stream)."""
    events = list(read_archive(state.archive_path))
    if not events:
        return 0, 0
    verifier = verify_log(events)
    for check in verifier.broken.values():
        logger.warning("archive: %s is broken at version %s: %s", check.stream_id, check.first_broken_version,
                       check.problem)
        print(f"WARNING: archived report {check.stream_id} fails its hash chain at version "
              f"{check.first_broken_version}: {check.problem}", flush=True)
    return restore(services.store, events)


def staff_tokens(services: Services) -> list[tuple[str, str]]:
    settings, now = services.settings, services.clock()
    tokens = []
    for role, institution, unit in DEMO_STAFF:
        label = role + (f" ({institution}{'/' + unit if unit else ''})" if institution else "")
        tokens.append((label, mint_token(settings.jwt_secret or "", settings.jwt_issuer, role=role,
                                         subject=f"demo-{role}", now=now, institution_id=institution,
                                         unit_id=unit, lifetime=timedelta(days=7))))
    return tokens


def banner(system: LocalSystem) -> str:
    url = system.api_url
    lines = [
        "",
        "LAPOR is running locally."
        + (f" Restored {system.restored[0]} reports ({system.restored[1]} events) from the archive."
           if system.restored[1] else ""),
        f"  API            {url}",
        f"  OpenAPI        {url}/openapi.json",
        f"  Health         {url}/health",
        f"  Outbox         {url}/dev/outbox   (notifications; also .lapor/outbox.jsonl)",
        f"  DynamoDB (moto) {system.dynamodb_url}",
        "",
        "Submit a report:",
        f"  curl -s -X POST {url}/reports -H 'Content-Type: application/json' \\",
        "    -d '{\"title\":\"Jalan rusak\",\"body\":\"Jalan berlubang di depan pasar Segiri\","
        "\"type\":\"complaint\",\"region_code\":\"64.72\",\"category_id\":\"infrastruktur.jalan-rusak\"}'",
        "",
        "Staff tokens (valid 7 days; more with `lapor token --role ROLE [--institution ID] [--unit ID]`):",
    ]
    for label, token in staff_tokens(system.services):
        lines += [f"  {label}:", f"    {token}"]
    lines += ["", "Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


def serve(state: LocalState, host: str, port: int) -> int:
    try:
        system = start(state, host, port)  # cleans up after itself if interrupted
    except KeyboardInterrupt:
        print("Stopped before LAPOR was up.", flush=True)
        return 130
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    print(banner(system), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean stop short
    print("Stopping LAPOR...", flush=True)
    system.stop()
    use_services(None)
    print("Stopped.", flush=True)
    return 0
