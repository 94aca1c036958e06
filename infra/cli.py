"""The `lapor` command: run the local system and operate it."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

from chalicelib.auth import STAFF_ROLES, mint_token
from chalicelib.clock import system_now
from infra import open311_keys
from infra.local.state import LOCAL_ISSUER, LocalState


def _state(args: argparse.Namespace) -> LocalState:
    return LocalState.at(args.home)


def cmd_serve(args: argparse.Namespace) -> int:
    from infra.local.server import serve

    return serve(_state(args), args.host, args.port)


def cmd_token(args: argparse.Namespace) -> int:
    from chalicelib.reference import load_reference

    reference = load_reference()
    if args.institution:
        institution = reference.institution(args.institution)
        if institution is None:
            raise SystemExit(f"lapor token: unknown institution {args.institution!r} (see GET /institutions)")
        if args.unit and institution.unit(args.unit) is None:
            raise SystemExit(f"lapor token: {args.institution} has no unit {args.unit!r}")
    elif args.unit:
        raise SystemExit("lapor token: --unit needs --institution")
    if args.region and (reference.region(args.region) is None or reference.region(args.region).level != "province"):
        raise SystemExit(f"lapor token: --region must be a province code, not {args.region!r}")
    secrets = _state(args).secrets()
    try:
        token = mint_token(secrets["jwt_secret"], LOCAL_ISSUER, role=args.role, subject=args.subject or f"local-{args.role}",
                           now=system_now(), institution_id=args.institution, unit_id=args.unit,
                           region_code=args.region, lifetime=timedelta(hours=args.hours))
    except Exception as exc:  # claims that make no sense for the role
        raise SystemExit(f"lapor token: {exc}") from None
    print(token)
    return 0


def _services(args: argparse.Namespace):
    """The system an operator command acts on: a deployed stage (`--stage`, the caller's AWS credentials, the
    stage's own settings: infra/aws_stage.py), else the `lapor serve` running from this home folder."""
    if getattr(args, "stage", None):
        from chalicelib.bootstrap import build_services

        return build_services(_deployed(args).settings)
    return _running(args)


def _deployed(args: argparse.Namespace):
    import boto3

    from infra.aws_stage import StageNotFound, find_stage

    try:
        return find_stage(boto3.session.Session(), args.stage, stack=args.stack)
    except StageNotFound as missing:
        raise SystemExit(f"lapor: {missing}") from None


def _running(args: argparse.Namespace):
    """Services pointed at the DynamoDB of the `lapor serve` running from the same home folder."""
    from chalicelib.bootstrap import build_services
    from chalicelib.settings import Settings
    from infra.local.server import fake_aws_credentials

    state = _state(args)
    runtime = state.runtime()
    if runtime is None:
        raise SystemExit("lapor: no running `lapor serve` found for this home folder; start it with `make run`")
    secrets = state.secrets()
    fake_aws_credentials()
    return build_services(Settings(stage="local", region=str(runtime["region"]),
                                   dynamodb_endpoint=str(runtime["dynamodb_url"]),
                                   table_prefix=str(runtime["table_prefix"]), jwt_secret=secrets["jwt_secret"],
                                   jwt_issuer=LOCAL_ISSUER, token_secret=secrets["token_secret"]))


def _instant(text: str, option: str):
    from chalicelib.clock import parse_instant

    try:
        return parse_instant(text)
    except ValueError:
        raise SystemExit(f"lapor: {option} must be an ISO-8601 instant with an offset, e.g. 2026-03-05T10:00:00+07:00"
                         f" (got {text!r})") from None


def _day(text: str, option: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise SystemExit(f"lapor: {option} must be a date YYYY-MM-DD (got {text!r})") from None


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


def cmd_rebuild(args: argparse.Namespace) -> int:
    import time

    from chalicelib.generations import LeaseLost, RebuildBusy
    from chalicelib.services.operations import (
        DEFAULT_READERS,
        DEFAULT_WORKERS,
        UnknownLogStart,
        rebuild,
    )
    from infra.tables import REBUILDABLE

    services = _services(args)
    since = _day(args.since, "--since") if args.since else None
    targets = REBUILDABLE if args.projection == "all" else (args.projection,)

    def show(progress) -> None:
        print(f"\r{_rebuild_line(progress)}", end="", file=sys.stderr, flush=True)

    for logical in targets:
        try:
            result = rebuild(services, logical, now=system_now, since=since, on_progress=show,
                             settle=lambda: time.sleep(services.generations.refresh_seconds + 0.5),
                             workers=args.workers or DEFAULT_WORKERS, readers=args.readers or DEFAULT_READERS)
        except (UnknownLogStart, RebuildBusy, LeaseLost) as refused:
            raise SystemExit(f"\nlapor rebuild: {refused}") from None
        print(file=sys.stderr)
        print(f"rebuilt {logical}: {result.events:,} events in {result.seconds:.1f} s "
              f"({result.rate:,.0f} events/s, {result.workers} workers, {result.readers} readers); "
              f"now serving generation {services.generations.current()[logical]}")
    return 0


def _rebuild_line(progress) -> str:
    """One progress line: the days read (the bar), events applied, the rate and the time left."""
    eta = progress.eta
    left = "--:--" if eta is None else (f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
                                        if eta >= 3600 else f"{int(eta // 60):02d}:{int(eta % 60):02d}")
    of = f"/{progress.expected:,}" if progress.expected else ""
    return (f"{progress.projection:<13} {_bar(progress.days_done, progress.days_total)} "
            f"{progress.days_done}/{progress.days_total} days  {progress.events:,}{of} events  "
            f"{progress.rate:,.0f} events/s  ETA {left}")


def cmd_replay(args: argparse.Namespace) -> int:
    import json

    from chalicelib.services.operations import replay_as_of

    as_of = _instant(args.as_of, "--as-of") if args.as_of else system_now()
    state = replay_as_of(_services(args).store, args.report, as_of)
    if state is None:
        raise SystemExit(f"lapor: report {args.report} has no events up to {as_of.isoformat()}")
    print(json.dumps(state, indent=2, default=str))
    return 0


def _log_events(services, first: str, last: str):
    return services.store.read_days(first, last)


def _archive_to_compare(args: argparse.Namespace, services, existing, events_in):
    """What the live log is compared with, and how to read it: an auditor's earlier export (`--against`), the
    deployed stage's S3 archive (one object per event), or the local server's archive file."""
    if args.against:
        path = existing(args.against)
        return path, lambda: events_in(path)
    if args.stage:
        import boto3

        from projections.archive import read_s3_archive

        bucket = services.settings.archive_bucket
        if not bucket:
            raise SystemExit(f"lapor verify: stage {args.stage} has no archive bucket (LAPOR_ARCHIVE_BUCKET)")
        s3 = boto3.client("s3", region_name=services.settings.region)
        return f"s3://{bucket}/events/", lambda: read_s3_archive(bucket, s3)
    path = _state(args).archive_path
    if not path.exists():
        print(f"WARNING: there is no archive at {path}: only the log's own hash chains can be checked, and they "
              "cannot show that a chain's newest events were removed")
    return path, lambda: events_in(path)


def cmd_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chalicelib.services.operations import verify_against_archive, verify_log
    from projections.archive import read_archive

    def existing(name: str) -> Path:
        path = Path(name)
        if not path.exists():
            raise SystemExit(f"lapor: no such file {path}")
        return path

    def events_in(path: Path):
        try:
            yield from read_archive(path)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SystemExit(f"lapor: {path} is not a LAPOR export: {exc}") from None

    def counted(count: int, noun: str) -> str:
        return f"{count:,} {noun}{'' if count == 1 else 's'}"

    if args.archive and not args.against:  # one file on its own: only its own chains can be checked
        if args.drained:
            raise SystemExit("lapor: --drained needs something to compare with: add --against FILE")
        path = existing(args.archive)
        verifier = verify_log(events_in(path))
        if verifier.broken:
            print(f"BROKEN: {len(verifier.broken)} of {verifier.streams} reports in {path} fail verification")
            for check in verifier.broken.values():
                print(f"  {check.stream_id}: first broken event is version {check.first_broken_version}: "
                      f"{check.problem}")
            return 1
        print(f"OK: {verifier.events:,} events of {verifier.streams:,} reports in {path}; every hash chain is intact")
        return 0

    if args.archive:  # a new export against one kept from before, offline
        path, reference = existing(args.archive), existing(args.against)
        log, archive = events_in(path), events_in(reference)
        source, log_name, archive_name = str(path), str(path), str(reference)
        ahead = f"newer than {reference} (not in it, so not compared)"
    else:  # the running system's log against the archive its stream consumer writes (or an export)
        services = _services(args)
        reference, archive_events = _archive_to_compare(args, services, existing, events_in)
        archive_span: dict[str, str] = {}  # the first and last UTC day of the archive's events

        def archived():
            for event in archive_events():
                archive_span["first"] = min(archive_span.get("first", event.day), event.day)
                archive_span["last"] = max(archive_span.get("last", event.day), event.day)
                yield event

        def logged():
            # A generator, so nothing is read before the whole archive was: every archived event was committed
            # to the log before, so the archive's lag cannot pass for removed events. The days to read are
            # chosen now, to cover every archived day even if the control table's record of them lags behind.
            first, last = services.generations.log_days()
            days = [system_now().date().isoformat(), *(day for day in (first, last) if day),
                    *archive_span.values()]
            yield from _log_events(services, min(days), max(days))

        log, archive = logged(), archived()
        source, log_name = "the running system's event log", "the event log"
        archive_name = str(reference) if args.against else "the archive"
        ahead = (f"not yet in {reference}, which trails the log by the stream's lag: run again, or add --drained "
                 "once writes have stopped")
    check = verify_against_archive(log, archive, drained=args.drained, log_name=log_name, archive_name=archive_name)

    if check.broken:
        print(f"BROKEN: {len(check.broken)} of {counted(check.reports, 'report')} in {source} fail verification "
              f"against {reference}")
        for stream_id in sorted(check.broken):
            print(f"  {stream_id}: {check.broken[stream_id].problem}")
    if check.archive_broken:
        print(f"BROKEN: in {reference}, the hash chain of {counted(len(check.archive_broken), 'report')} is broken")
        for stream_id in sorted(check.archive_broken):
            broken = check.archive_broken[stream_id]
            print(f"  {stream_id}: first broken event is version {broken.first_broken_version}: {broken.problem}")
    if check.valid:
        agrees = f" and holds the {check.archived_events:,} events of {reference} unchanged" \
            if check.archived_events else ""
        print(f"OK: {check.events:,} events of {counted(check.reports, 'report')} in {source}; every hash chain is "
              f"intact{agrees}")
    if check.not_archived:
        events = counted(sum(check.not_archived.values()), "event")
        print(f"  {counted(len(check.not_archived), 'report')} with {events} {ahead}")
    return 0 if check.valid else 1


def cmd_sweep(args: argparse.Namespace) -> int:
    import json

    from chalicelib.services.sweep import sweep

    now = _instant(args.now, "--now") if args.now else system_now()
    result = sweep(_services(args), now)
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def cmd_sms(args: argparse.Namespace) -> int:
    """Play an inbound SMS through the running server's real webhook, signed as the gateway signs it."""
    import base64
    import json
    import secrets as random
    import urllib.error
    import urllib.parse
    import urllib.request

    state = _state(args)
    runtime = state.runtime()
    if runtime is None:
        raise SystemExit("lapor sms: no running `lapor serve` found for this home folder; start it with `make run`")
    keys = state.secrets()
    url = f"{runtime['api_url']}/sms/{args.gateway}"
    message_id = args.id or ("SM" if args.gateway == "twilio" else "") + random.token_hex(16)
    if args.gateway == "twilio":
        from twilio.request_validator import RequestValidator

        params = {"MessageSid": message_id, "SmsSid": message_id, "AccountSid": keys["twilio_account_sid"],
                  "From": args.phone, "To": "1708", "Body": args.text, "NumSegments": "1", "NumMedia": "0"}
        body = urllib.parse.urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": RequestValidator(keys["twilio_auth_token"]).compute_signature(url, params)}
    else:
        body = json.dumps({"results": [{"messageId": message_id, "from": args.phone.lstrip("+"), "to": "1708",
                                        "text": args.text, "cleanText": args.text, "smsCount": 1,
                                        "receivedAt": system_now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")}],
                           "messageCount": 1, "pendingMessageCount": 0}).encode()
        credentials = base64.b64encode(f"infobip:{keys['infobip_secret']}".encode()).decode()
        headers = {"Content-Type": "application/json", "Authorization": f"Basic {credentials}"}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(f"{response.status} {message_id}: {response.read().decode()}")
    except urllib.error.HTTPError as refused:
        print(f"{refused.code} {message_id}: {refused.read().decode()}", file=sys.stderr)
        return 1
    print("Replies appear in .lapor/outbox.jsonl and at /dev/outbox once sent (within a few seconds).")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from chalicelib.services.operations import export

    first, last = _day(args.from_day, "--from"), _day(args.to_day, "--to")
    if first > last:
        raise SystemExit("lapor: --from is after --to")
    out = Path(args.out or f"lapor-events-{first}-to-{last}.jsonl")
    count = export(_log_events(_services(args), first, last), out)
    print(f"wrote {count:,} events ({first} .. {last}, UTC days) to {out}; check it with "
          f"`lapor verify --archive {out}`")
    return 0


def cmd_failures(args: argparse.Namespace) -> int:
    """The stream pump's failure queue: records the projector gave up on after the retry limit."""
    import json

    from infra.local.pump import read_failures

    if args.stage:
        return _stage_failures(args)
    path = _state(args).failures_path
    entries = read_failures(path)
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        print(f"no failed stream records ({path} is empty or absent)")
        return 0
    print(f"{len(entries)} stream record(s) in {path} failed every retry; their reports' read models and archive "
          "stop at the version before. Once the cause is fixed, the next `lapor serve` delivers them again:")
    for entry in entries:
        keys = entry.get("keys") or {}
        report = keys.get("stream_id", {}).get("S", "?")
        version = keys.get("version", {}).get("N", "?")
        print(f"  {entry['failed_at']}  {report} v{version}  sequence {entry['sequence_number']}  "
              f"after {entry['attempts']} attempts")
    return 1


def _stage_failures(args: argparse.Namespace) -> int:
    """A deployed stage's on-failure queue: where each failed batch was (the messages are peeked, not taken)."""
    import json

    import boto3

    stage = _deployed(args)
    if not stage.failure_queue_url:
        raise SystemExit(f"lapor failures: stack {stage.stack} has no projector failure queue")
    sqs = boto3.client("sqs", region_name=stage.region)
    count = sqs.get_queue_attributes(QueueUrl=stage.failure_queue_url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
    if count == "0":
        print(f"no failed stream batches in {stage.failure_queue_url}")
        return 0
    peeked = sqs.receive_message(QueueUrl=stage.failure_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    print(f"about {count} failed stream batch(es) in {stage.failure_queue_url}; their reports' read models and "
          "archive stop before them. Once the cause is fixed: `lapor reproject --failures --stage "
          f"{args.stage}`. The first ones:")
    for message in peeked.get("Messages", []):
        info = json.loads(message["Body"]).get("DDBStreamBatchInfo", {})
        print(f"  {info.get('approximateArrivalOfFirstRecord', '?')}  {info.get('batchSize', '?')} record(s), "
              f"shard {info.get('shardId', '?')}, sequence {info.get('startSequenceNumber', '?')}.."
              f"{info.get('endSequenceNumber', '?')}")
    return 1


def cmd_reproject(args: argparse.Namespace) -> int:
    """Feed reports' events from the log to every read model and the archive again (after a poison record's
    cause is fixed): named reports, and/or every report of the failure queue."""
    from chalicelib.services.reproject import (
        Reprojected,
        drain_failure_queue,
        reproject,
    )

    if not args.reports and not args.failures:
        raise SystemExit("lapor reproject: name one or more reports (LAP-…), or give --failures")
    if args.stage:
        import boto3

        stage = _deployed(args)
        from chalicelib.bootstrap import build_services

        services = build_services(stage.settings)

        def one(report_id: str) -> Reprojected:
            return reproject(services.store.load, services.read_models(), report_id)
    else:
        one = _local_reprojection(args)
    results = [one(report_id) for report_id in args.reports]
    kept: list[str] = []
    if args.failures and args.stage:
        if not stage.failure_queue_url:
            raise SystemExit(f"lapor reproject: stack {stage.stack} has no projector failure queue")
        drained = drain_failure_queue(boto3.client("sqs", region_name=stage.region), stage.failure_queue_url,
                                      boto3.client("dynamodbstreams", region_name=stage.region), one)
        results += drained.reprojected
        kept = drained.kept
        print(f"{drained.messages} failure message(s) read; {drained.messages - len(kept)} deleted")
    elif args.failures:
        from infra.local.pump import read_failures

        entries = read_failures(_state(args).failures_path)
        reports = sorted({(entry.get("keys") or {}).get("stream_id", {}).get("S") for entry in entries} - {None})
        results += [one(report_id) for report_id in reports]
        if entries:
            print(f"{len(entries)} record(s) in the failure queue; the next `lapor serve` delivers them again "
                  "(harmless now: every read model has them) and empties the queue")
    for result in results:
        state = "every read model has them" if result.clean else "STILL FAILING: " + "; ".join(result.failures)
        print(f"{result.report_id}: {result.events} event(s); {state}")
    for reason in kept:
        print(f"kept in the queue: {reason}")
    return 0 if all(result.clean for result in results) and not kept else 1


def _local_reprojection(args: argparse.Namespace):
    """Through the running server: only its process appends to the local archive file (exactly once)."""
    import json
    import urllib.error
    import urllib.request

    from chalicelib.services.reproject import Reprojected

    runtime = _state(args).runtime()
    if runtime is None:
        raise SystemExit("lapor reproject: no running `lapor serve` found for this home folder; start it with "
                         "`make run`")

    def one(report_id: str) -> Reprojected:
        request = urllib.request.Request(f"{runtime['api_url']}/dev/reports/{report_id}/reprojection",
                                         data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as refused:
            raise SystemExit(f"lapor reproject: {report_id}: {json.loads(refused.read()).get('message')}") from None
        return Reprojected(answer["report_id"], answer["events"], tuple(answer["failures"]))

    return one


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if not 1 <= count <= 256:
        raise argparse.ArgumentTypeError("must be from 1 to 256")
    return count


def _positive_hours(text: str) -> float:
    hours = float(text)
    if not 0 < hours <= 24 * 365:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 8760 (a year)")
    return hours


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lapor", description="LAPOR: public-service complaints, event-sourced.")
    root.add_argument("--home", default=os.environ.get("LAPOR_HOME", ".lapor"),
                      help="local state folder (secrets, archive); default .lapor or $LAPOR_HOME")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the whole system locally")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.set_defaults(run=cmd_serve)

    token = commands.add_parser("token", help="mint a staff token that a local `lapor serve` accepts")
    token.add_argument("--role", required=True, choices=STAFF_ROLES)
    token.add_argument("--institution")
    token.add_argument("--unit")
    token.add_argument("--region", help="a supervisor's province scope")
    token.add_argument("--subject", help="user id recorded in events (default local-ROLE)")
    token.add_argument("--hours", type=_positive_hours, default=12)
    token.set_defaults(run=cmd_token)

    rebuild = commands.add_parser("rebuild", help="rebuild a read model from the whole log and switch to it")
    rebuild.add_argument("projection", choices=("report_views", "stats", "deadlines", "all"))
    rebuild.add_argument("--since", help="first UTC day of the log, if the control table does not know it")
    rebuild.add_argument("--workers", type=_count,
                         help="projection threads, each report always on the same one (default 16; "
                              "--workers 1 --readers 1: strictly sequential, one event after the other)")
    rebuild.add_argument("--readers", type=_count, help="days of the log read ahead in parallel (default 4)")
    rebuild.set_defaults(run=cmd_rebuild)

    replay = commands.add_parser("replay", help="print a report's state as of an instant")
    replay.add_argument("report")
    replay.add_argument("--as-of", dest="as_of", help="ISO-8601 instant with offset (default: now)")
    replay.set_defaults(run=cmd_replay)

    verify = commands.add_parser("verify", help="check every report's hash chain and compare the log with the "
                                                "archive, which shows removed newest events (or an export, offline)")
    verify.add_argument("--archive", help="a JSON-lines archive or export to verify offline, instead of the log")
    verify.add_argument("--against", help="an earlier export or archive to compare with, instead of the local "
                                          "archive: every event it holds must still be there, unchanged")
    verify.add_argument("--drained", action="store_true",
                        help="the stream has caught up (writes stopped): log events missing from the archive are "
                             "errors too, not lag")
    verify.set_defaults(run=cmd_verify)

    sweep = commands.add_parser("sweep", help="record the reminders, escalations and closures deadlines oblige")
    sweep.add_argument("--now", help="act as of this ISO-8601 instant with offset (default: the clock)")
    sweep.set_defaults(run=cmd_sweep)

    failures = commands.add_parser("failures", help="list the stream records the projector gave up on")
    failures.add_argument("--json", action="store_true", help="print the whole entries, records included")
    failures.set_defaults(run=cmd_failures)

    export = commands.add_parser("export", help="write the events of a date range for auditors (JSON lines)")
    export.add_argument("--from", dest="from_day", required=True, help="first UTC day, YYYY-MM-DD")
    export.add_argument("--to", dest="to_day", required=True, help="last UTC day, YYYY-MM-DD")
    export.add_argument("--out", help="output file (default lapor-events-FROM-to-TO.jsonl)")
    export.set_defaults(run=cmd_export)

    sms = commands.add_parser("sms", help="play an inbound SMS 1708 through the running server's gateway webhook")
    sms.add_argument("phone", help="the sender, e.g. +6281234567890 or 081234567890")
    sms.add_argument("text", help="the message, e.g. \"Jalan rusak di depan pasar\", \"CEK LAP-…\", STOP")
    sms.add_argument("--gateway", choices=("twilio", "infobip"), default="twilio")
    sms.add_argument("--id", help="the gateway's message id (default: a new one); repeat it to play a retry")
    sms.set_defaults(run=cmd_sms)

    reproject = commands.add_parser("reproject", help="feed reports' events from the log to every read model and "
                                                      "the archive again, once a failing record's cause is fixed")
    reproject.add_argument("reports", nargs="*", metavar="REPORT", help="tracking ids (LAP-…)")
    reproject.add_argument("--failures", action="store_true",
                           help="also every report of the failure queue (on a stage: then delete its messages)")
    reproject.set_defaults(run=cmd_reproject)

    for operator in (rebuild, replay, verify, sweep, failures, export, reproject):
        operator.add_argument("--stage", help="act on this deployed stage in AWS (the caller's credentials and "
                                              "region) instead of the local `lapor serve`")
        operator.add_argument("--stack", help="its CloudFormation stack (default lapor-STAGE)")

    open311_keys.register(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
