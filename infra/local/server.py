"""`lapor serve`: the whole system on this machine, the same code paths as on AWS, only the triggers local.

DynamoDB Local (AWS's own engine, persistent under `.lapor/db/`, bound to 127.0.0.1) is the database; the
Chalice app is served over HTTP; a stream pump plays Lambda's event-source mapping (durable checkpoints,
partial-batch retries, bisect, a retry limit, a failure queue) and invokes the real projector function; two
schedulers play EventBridge.

Durability is the database's: an acknowledged command is in DynamoDB Local's files, and its stream records
reach the projections after any stop — a clean stop drains the stream first; after a kill the pump resumes
from its checkpoint. The archive is the auditors' independent copy, not how the system restarts.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any, Callable

import boto3

from chalicelib.auth import mint_token
from chalicelib.bootstrap import Services, build_services, use_services
from chalicelib.clock import iso, system_now
from chalicelib.domain.vocabulary import Role
from chalicelib.services.notifications import FileGateway
from chalicelib.services.operations import days_between, restore, verify_log
from chalicelib.settings import Settings, positive_int
from infra.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalMissing, find_installation
from infra.local.pump import Checkpoints, FailureQueue, StreamPump
from infra.local.s3_local import BUCKET as PHOTO_BUCKET
from infra.local.s3_local import S3Local, S3LocalMissing
from infra.local.s3_local import find_installation as find_s3_installation
from infra.local.state import LOCAL_ISSUER, LocalState
from infra.tables import create_tables
from projections.archive import FileArchive, read_archive

logger = logging.getLogger(__name__)
REGION = "ap-southeast-3"

DEMO_STAFF = (
    (Role.ADMIN_NASIONAL, None, None),
    (Role.ADMIN_INSTANSI, "pemkot-samarinda", None),
    (Role.ADMIN_PENGHUBUNG, "pemkot-samarinda", "dinas-pupr"),
    (Role.OMBUDSMAN, None, None),
    (Role.SUPERVISOR, None, None),
    (Role.AUDITOR, None, None),
)


@dataclass
class _Schedule:
    name: str
    thread: threading.Thread


@dataclass
class LocalSystem:
    """The running pieces. `stop()` ends them in the one order that loses nothing (see there)."""

    state: LocalState
    lock: IO[str]
    database: DynamoDBLocal
    photos: S3Local | None = None  # the local S3-compatible photo store (None: s3rver not installed)
    services: Services | None = None
    pump: StreamPump | None = None
    api_url: str = ""
    imported: tuple[int, int] = (0, 0)  # (reports, events) taken over from an old runtime's archive
    drained: bool = True  # False if the stop could not drain the stream (the next start delivers the rest)
    left_in_stream: bool = False  # the stop's time for draining ran out: the next start delivers the rest
    drain_seconds: float = 5.0  # how long a stop may spend delivering a backlog (LAPOR_STOP_DRAIN_SECONDS)
    _http: Any = None
    _pump_thread: threading.Thread | None = None
    _stop_pump: threading.Event = field(default_factory=threading.Event)
    _stop_schedules: threading.Event = field(default_factory=threading.Event)
    _schedules: list[_Schedule] = field(default_factory=list)

    @property
    def dynamodb_url(self) -> str:
        return self.database.url

    def stop(self) -> None:
        """1. stop taking requests and let those in flight finish; 2. stop the schedulers (a running sweep
        finishes its commands); 3. drain the stream to its end into every read model, the archive and the
        outbox; 4. only then stop the database."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("HTTP server", self._stop_http), ("schedulers", self._stop_schedulers),
            ("stream pump", self._drain_stream), ("DynamoDB Local", self.database.stop),
            ("photo store", self.photos.stop if self.photos else lambda: None),
            ("runtime file", self.state.clear_runtime), ("lock", self.lock.close)]
        for name, step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 — stopping must reach every piece
                logger.exception("error while stopping the %s", name)

    def _stop_http(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server.server_close()  # waits for the requests still being served

    def _stop_schedulers(self) -> None:
        self._stop_schedules.set()
        for schedule in self._schedules:
            schedule.thread.join(timeout=120)

    def _drain_stream(self) -> None:
        """For at most `drain_seconds` (the batch the pump is in counts): what is delivered is checkpointed;
        what is not stays in the stream — DynamoDB Local keeps stream records on disk, 24 hours like
        DynamoDB — and the next start delivers it from the checkpoint. So a stop is quick under any backlog."""
        deadline = time.monotonic() + self.drain_seconds
        if self.pump is not None:
            self.pump.finish_by(deadline)  # the batch being delivered now is the last one started that late
        if self._pump_thread is not None:
            self._stop_pump.set()
            self._pump_thread.join(timeout=60)
        if self.pump is not None:
            try:
                delivered, complete = self.pump.drain_for(max(0.0, deadline - time.monotonic()))
            except Exception:
                self.drained = False
                raise
            self.left_in_stream = not complete
            if delivered:
                logger.info("drained %d stream records before stopping", delivered)


def fake_aws_credentials() -> None:
    # DynamoDB Local (-sharedDb) accepts any credentials; botocore insists on having some.
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                        ("AWS_DEFAULT_REGION", REGION)):
        os.environ.setdefault(name, value)


def start(state: LocalState, host: str = "127.0.0.1", port: int = 8000) -> LocalSystem:
    import app as app_module

    lock = state.lock()
    try:
        installation = find_installation(os.environ.get("LAPOR_DYNAMODB_LOCAL"))
    except DynamoDBLocalMissing as missing:
        lock.close()
        raise SystemExit(f"lapor serve: {missing}") from None
    fake_aws_credentials()
    database = DynamoDBLocal(installation, db_path=state.db_path, log_path=state.home / "dynamodb-local.log")
    try:  # the photo store; without it (an old .venv: `make setup` installs it) LAPOR runs without photos
        photos: S3Local | None = S3Local(find_s3_installation(os.environ.get("LAPOR_S3_LOCAL")),
                                         data_dir=state.home / "s3", log_path=state.home / "s3-local.log")
    except S3LocalMissing as missing:
        logger.warning("no photos: %s", missing)
        photos = None
    system = LocalSystem(state=state, lock=lock, database=database, photos=photos,
                         drain_seconds=float(os.environ.get("LAPOR_STOP_DRAIN_SECONDS", "5")))
    try:
        database.start()
        secrets = state.secrets()
        settings = Settings(stage="local", region=REGION, dynamodb_endpoint=database.url, table_prefix="lapor-local",
                            jwt_secret=secrets["jwt_secret"], jwt_issuer=LOCAL_ISSUER,
                            token_secret=secrets["token_secret"], twilio_auth_token=secrets["twilio_auth_token"],
                            twilio_account_sid=secrets["twilio_account_sid"], infobip_secret=secrets["infobip_secret"],
                            sms_per_number_per_hour=positive_int(os.environ, "LAPOR_SMS_PER_NUMBER_PER_HOUR", 20),
                            photo_bucket=PHOTO_BUCKET if photos else None, s3_endpoint=photos.url if photos else None)
        dynamodb = boto3.client("dynamodb", endpoint_url=database.url, region_name=REGION)
        create_tables(dynamodb, settings.table_prefix)
        services = system.services = build_services(settings, clock=system_now)
        system.imported = _import_old_archive(state, services, dynamodb)
        services.extra_read_models.append(FileArchive(state.archive_path))
        services.gateway = FileGateway(state.home / "outbox.jsonl")
        use_services(services)

        streams = boto3.client("dynamodbstreams", endpoint_url=database.url, region_name=REGION)
        system.pump = StreamPump(dynamodb, streams, settings.table_names["events"],
                                 deliver=lambda event: app_module.project_events(event, None),
                                 checkpoints=Checkpoints(state.checkpoint_path),
                                 failures=FailureQueue(state.failures_path),
                                 on_trimmed=lambda since: _catch_up_from_log(services, since))
        retried, left = system.pump.retry_failures()  # what an earlier run gave up on, now that it restarted
        if retried or left:
            print(f"Stream failure queue: {retried} record(s) delivered now, {left} still failing "
                  "(`lapor failures`).", flush=True)
        poll_seconds = float(os.environ.get("LAPOR_STREAM_POLL_SECONDS", "0.1"))  # when the stream is idle
        system._pump_thread = threading.Thread(target=system.pump.run, args=(system._stop_pump, poll_seconds),
                                               name="stream-pump", daemon=True)
        system._pump_thread.start()

        schedules = (("sweep_deadlines", float(os.environ.get("LAPOR_SWEEP_SECONDS", "3600"))),
                     ("send_notifications", float(os.environ.get("LAPOR_SEND_SECONDS", "2"))))
        for name, seconds in schedules:
            thread = threading.Thread(target=_run_schedule, name=f"schedule-{name}", daemon=True,
                                      args=(name, getattr(app_module, name), system._stop_schedules, seconds))
            thread.start()
            system._schedules.append(_Schedule(name, thread))

        http = _http_server(app_module.app, host, port)
        if photos is not None:  # after binding: the bucket's CORS rule names the web origin, port included
            bound = http.server.server_address[1]
            photos.start([f"http://{host}:{bound}", f"http://localhost:{bound}", f"http://127.0.0.1:{bound}"])
            photos.expire_incoming()
        threading.Thread(target=http.server.serve_forever, name="http", daemon=True).start()
        system._http = http  # only once serving: shutdown() would wait forever for a loop never started
    except BaseException:
        system.stop()
        raise
    system.api_url = f"http://{host}:{system._http.server.server_address[1]}"
    state.write_runtime({"pid": os.getpid(), "api_url": system.api_url, "dynamodb_url": database.url,
                         "dynamodb_pid": database.pid, "table_prefix": settings.table_prefix, "region": REGION,
                         "s3_url": photos.url if photos else None, "photo_bucket": settings.photo_bucket})
    return system


def _http_server(app: Any, host: str, port: int) -> Any:
    from chalice.config import Config

    from infra.local.http_server import create_http_server

    config = Config.create(chalice_stage="local", app_name="lapor", lambda_timeout=30, lambda_memory_size=512)
    return create_http_server(app, config, host, port)


def _import_old_archive(state: LocalState, services: Services, dynamodb: Any) -> tuple[int, int]:
    """Once, on the first start on DynamoDB Local: take over the reports of a `.lapor/` made by the old
    moto runtime, which kept them only in its archive (the stream then projects them like any write)."""
    if state.migration_marker.exists():
        return 0, 0
    imported = (0, 0)
    events_table = services.settings.table_names["events"]
    if state.archive_path.exists() and not dynamodb.scan(TableName=events_table, Limit=1).get("Items"):
        events = list(read_archive(state.archive_path))
        verifier = verify_log(events)
        for check in verifier.broken.values():
            print(f"WARNING: archived report {check.stream_id} fails its hash chain at version "
                  f"{check.first_broken_version}: {check.problem}; imported as it is", flush=True)
        imported = restore(services.store, events)
    state.migration_marker.write_text(
        f'{{"imported_reports": {imported[0]}, "imported_events": {imported[1]}, "at": "{iso(system_now())}"}}\n')
    return imported


def _catch_up_from_log(services: Services, since: float | None) -> None:
    """The stream no longer holds what the checkpoint says is next: feed every event since then from the
    log itself. Every read model is version-guarded, so what was already applied is skipped."""
    from datetime import datetime, timezone

    from chalicelib.lambdas import projector

    today = system_now().date()
    first_logged, last_logged = services.generations.log_days()
    first = (datetime.fromtimestamp(since, timezone.utc).date().isoformat() if since
             else first_logged or today.isoformat())
    last = max((today + timedelta(days=1)).isoformat(), last_logged or "")
    apply = projector().apply
    for day in days_between(first, last):
        for event in services.store.read_days(day, day):
            apply(event)


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
    url, database = system.api_url, system.database
    where = "127.0.0.1 only" if database.loopback_only else "EVERY interface: install a JDK to bind it to 127.0.0.1"
    lines = [
        "",
        "LAPOR is running locally."
        + (f" Imported {system.imported[0]} reports ({system.imported[1]} events) from the old runtime's archive."
           if system.imported[1] else ""),
        f"  Web pages      {url}/   (Lapor, Lacak, Laporan publik)",
        f"  API            {url}",
        f"  OpenAPI        {url}/openapi.json",
        f"  Health         {url}/health",
        f"  Outbox         {url}/dev/outbox   (notifications; also {system.state.home}/outbox.jsonl)",
        f"  DynamoDB Local {database.url}   (data in {system.state.db_path}; listening on {where})",
        (f"  Photos (S3)    {system.photos.url}   (s3rver, bucket {PHOTO_BUCKET}, data in {system.state.home / 's3'})"
         if system.photos else "  Photos         off: s3rver is not installed (`make setup`)"),
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
    lines += ["", f"Press Ctrl-C to stop (the stream is drained into every read model first, for at most "
                  f"{system.drain_seconds:g} s; the next start delivers any rest).", ""]
    return "\n".join(lines)


def serve(state: LocalState, host: str, port: int) -> int:
    # Our own handlers, always: a shell starts a background job with SIGINT ignored, and Python then
    # installs no KeyboardInterrupt for it. While starting, both signals interrupt the start (which cleans up).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        system = start(state, host, port)
    except KeyboardInterrupt:
        print("Stopped before LAPOR was up.", flush=True)
        return 130
    # A plain flag: a handler calling Event.set() would deadlock on the lock Event.wait() holds in this thread.
    stop_requested: list[int] = []

    def request_stop(signum: int, frame: Any) -> None:
        stop_requested.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(banner(system), flush=True)
    while not stop_requested:
        time.sleep(0.2)
    # A second Ctrl-C must not cut the clean stop short: nothing acknowledged may be left unprojected.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("Stopping LAPOR: no new requests; draining the stream into every read model "
          f"(for at most {system.drain_seconds:g} s)...", flush=True)
    began = time.monotonic()
    system.stop()
    use_services(None)
    if not system.drained:
        print("Stopped, but the stream could not be drained (see the error above): every acknowledged command "
              "is in the database, and the next `lapor serve` projects what is left.", flush=True)
        return 1
    if system.left_in_stream:
        print(f"The stream still had records after {system.drain_seconds:g} s: they are in the database, "
              "and the next `lapor serve` projects them first.", flush=True)
    print(f"Stopped. ({time.monotonic() - began:.1f} s)", flush=True)
    return 0
