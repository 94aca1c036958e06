"""`python -m tests.bench` (or `make bench`): DynamoDB request counts, event-store and projection throughput,
rebuild speed, and read costs against data volume, on moto.

One ThreadedMotoServer on 127.0.0.1 serves every measured request, over real HTTP, as Lambda would talk to
DynamoDB. Large tables are filled, and the 100,000-event rebuild runs, against the same moto backend in-process
(tests/bench/common.py `in_process`).

1. Request counts: a report's whole life through the real CommandHandler (submit, verify, assign, follow-up,
   final answer, accept), the projector, and GET /reports/{id}. Every HTTP request any botocore client in this
   process sends is counted (see tests/bench/common.py RequestCounter for the hook point).
2. Correctness gate: two writers at the same version, exactly one wins (our store, raw boto3, aett).
3. Throughput of load + append, same server, same run, a fresh table per contender with the same number of
   pre-seeded background items (moto's Query cost grows with the whole table, not the partition):
   raw boto3 (the floor), raw boto3 + ReturnConsumedCapacity=TOTAL (what pynamodb sends on every request),
   our DynamoDBEventStore, and aett 3.4.1. Commands are interleaved one by one across contenders.
4. Projection throughput: a 400-event log through every read model (and all of them as the projector), against
   the speed of reading the same log back (tests/bench/read_models.py).
5. `lapor rebuild` (chalicelib.services.operations.rebuild): that log over HTTP, and 100,000 events in-process
   (tests/bench/rebuild.py).
6. Requests and items read per GET /stats/regions/{code}, GET /queue (first and cursor page) and GET /rankings
   at 1,000 and at 100,000 reports: they must be equal (tests/bench/read_models.py).
7. Requests per deadline sweep at 1,000 and at 100,000 open reports with the same 10 due: equal
   (tests/bench/sweep.py).
8. The local runtime on DynamoDB Local beside moto: submissions over HTTP and projection lag through the
   stream pump (tests/bench/local_runtime.py; runs alone too).

Takes about 15-20 minutes on 2 CPUs (section 5 is most of it). Results go to stdout and to
tests/bench/RESULTS.md. Numbers from moto are NOT predictive of AWS; they compare client-side overhead under
identical server conditions, and count requests, which do carry over.

Sections 1-3 (requests per command, the correctness gate, event-store throughput) live in
tests/bench/event_stores.py, 4-7 in read_models.py, rebuild.py and sweep.py, 8 in local_runtime.py; this module
runs them and writes the report.

No `from __future__ import annotations` here: aett reads `apply_memento`'s annotation at run time.
"""
from tests.bench.common import (MOTO, REGION, breakdown, dynamodb_client,  # noqa: E402,I001
                                operations, pct, total)

# Everything below may create botocore sessions.
import datetime as dt  # noqa: E402
import os  # noqa: E402
from collections import Counter  # noqa: E402
import importlib.metadata  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from moto.server import ThreadedMotoServer  # noqa: E402


from tests import moto_speedups  # noqa: E402
from chalicelib.store.dynamodb import DynamoDBEventStore  # noqa: E402
from infra.tables import create_tables  # noqa: E402

from tests.bench.event_stores import (  # noqa: E402
    BACKGROUND_ITEMS, BACKGROUND_STREAM_LENGTH, Contender, CountResults, EVENTS_PER_STREAM, GATE_TRIALS, Gate,
    MOTO_ROLLBACK, RESULTS, STREAMS, TARGET_RATIO, WARMUP_EVENTS, WARMUP_STREAMS, check_streams, count_requests,
    gate_aett, gate_lapor, gate_raw, make_aett, median_ratio_ci, throughput)

# ------------------------------------------------------------------------------------------------ report

def versions() -> dict[str, str]:
    out = {}
    for name in ("moto", "boto3", "botocore", "pynamodb", "aett", "pydantic", "werkzeug"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def per_command(seen: Counter, commands: int) -> str:
    parts = [f"{op} {n / commands:g}" for op, n in sorted(operations(seen).items())]
    return ", ".join(parts)


def render(counts: CountResults, gates: list[Gate], contenders: list[Contender], sizes: dict[str, int],
           elapsed: float, problems: list[str], started_at: dt.datetime, wall: float,
           more: list[str], part_seconds: dict[str, float]) -> tuple[str, bool]:
    raw, raw_rcc, ours, aett = contenders
    lines: list[str] = []
    add = lines.append
    facts = versions()
    add("# LAPOR benchmark (moto server): event store, projections, rebuild, read costs, deadline sweep")
    add("")
    add(f"- Date: {started_at:%Y-%m-%d %H:%M} UTC; whole run {wall:.0f} s ("
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in part_seconds.items())
        + f"; section 3's timed run {elapsed:.0f} s)")
    end_load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    add(f"- Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, load average (1/5/15 min) "
        f"at start {', '.join(f'{x:.2f}' for x in LOADAVG)}, at end {', '.join(f'{x:.2f}' for x in end_load)} "
        f"(a shared machine: other processes compete); Python {platform.python_version()}")
    add("- Versions: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
    add("- Server: one moto ThreadedMotoServer on 127.0.0.1 in the same process (client and server share the "
        "GIL and the CPUs); every request is real HTTP (moto answers `Connection: close`, so each request opens "
        "a new TCP connection, for every contender alike). Where sections 4-7 say *in-process*, the same moto "
        "backend (same tables, same moto_speedups) is called in this process without HTTP.")
    add("- Reproduce: `make bench` (installs the `bench` extra of pyproject.toml, runs `python -m tests.bench`); with the "
        "benchmark venv: `python -m tests.bench` from the repository root.")
    add("- Numbers from moto are **not predictive of AWS**. They compare client-side work under identical "
        "server conditions.")
    add("")

    add("## 1. DynamoDB requests per command (real CommandHandler, counted with a botocore `before-send` hook)")
    add("")
    add("With an Idempotency-Key a command first reads the key's record (one consistent GetItem): a retry is "
        "answered from it without deciding or writing anything (issue 7), so that read is expected.")
    add("")
    add("| command | requests | by operation | expected | ok |")
    add("|---|---|---|---|---|")
    all_ok = True
    for label, steps in (("", counts.plain), (" + Idempotency-Key", counts.idempotent)):
        for step in steps:
            expected = ", ".join(f"{op} {n}" for op, n in sorted(step.expected.items()))
            all_ok &= step.ok
            add(f"| {step.name}{label} | {total(step.seen)} | {breakdown(step.seen)} | {expected} | "
                f"{'yes' if step.ok else '**NO**'} |")
    view_ok = operations(counts.view_get) == {"GetItem": 1}
    http_ok = operations(counts.http_get) == {"GetItem": 1} and counts.http_status == 200
    all_ok &= view_ok and http_ok
    add(f"| `services.views.get(id)` | {total(counts.view_get)} | {breakdown(counts.view_get)} | GetItem 1 | "
        f"{'yes' if view_ok else '**NO**'} |")
    add(f"| GET /reports/{{id}} (Chalice route, HTTP {counts.http_status}) | {total(counts.http_get)} | "
        f"{breakdown(counts.http_get)} | GetItem 1 | {'yes' if http_ok else '**NO**'} |")
    events = counts.projected_events
    views = Counter({k: n for k, n in counts.projection.items() if k[0] == "dynamodb" and k[2] == "report_views"})
    views_ok = {op: n / events for op, n in operations(views).items()} == {"GetItem": 1, "PutItem": 1}
    all_ok &= views_ok
    add(f"| projector, report view, per event ({events} events) | {total(views) / events:.3g} | "
        f"{breakdown(views, per=events)} | GetItem 1 (consistent), PutItem 1 (version-guarded) | "
        f"{'yes' if views_ok else '**NO**'} |")
    add(f"| projector, all read models, per event | {total(counts.projection) / events:.3g} | "
        f"{breakdown(counts.projection, per=events)} | (informational) | |")
    add("")
    add("Table names are shown without the run's prefix. The projector is the one the `project_events` Lambda "
        f"runs, over every read model ({', '.join(counts.read_models)}). Reads of the report view look up the "
        "live blue/green generation in the control table at most once per 5 s per process (one GetItem, "
        "cached), never per request; the rows above are measured with that lookup cached.")
    add(f"The stream pump itself made {total(counts.pump_calls, 'dynamodb-streams')} DynamoDB Streams calls "
        f"({breakdown(counts.pump_calls, 'dynamodb-streams')}) for that drain. The report ended "
        f"`{counts.final_status}`; its hash chain verified: {'yes' if counts.chain_ok else '**NO**'}.")
    add("Without an Idempotency-Key a one-event command is one conditional PutItem; with one (or with the "
        "reporter's identity on submit, or two events as in accept) it is one TransactWriteItems.")
    add("")

    add(f"## 2. Correctness gate: two writers at the same version ({GATE_TRIALS} concurrent races per row)")
    add("")
    add("| store | write path | sequential: 2nd refused | concurrent: exactly one winner | "
        "stream = seed + winner only | winner's write erased by moto | loser's events stored | result |")
    add("|---|---|---|---|---|---|---|---|")
    for gate in gates:
        add(f"| {gate.contender} | {gate.path} | {'yes' if gate.sequential else '**NO**'} | "
            f"{gate.one_winner}/{gate.trials} | {gate.intact}/{gate.trials} | {gate.wiped}/{gate.trials} | "
            f"{gate.loser_persisted}/{gate.trials} | {'PASS' if gate.passed else '**FAIL** ' + gate.detail} |")
    add("")
    add("Sequential: both writers load version 1, A appends, then B appends at the same expected version and "
        "must be refused. Concurrent: both load version 1, wait on a barrier, then write at once from two "
        "threads; the loser must be refused (ConcurrencyConflict; aett: Conflicting/NonConflictingCommitException) "
        "and never stored; afterwards the stream must hold the seed and the winner's events (ours: hash chain "
        "valid).")
    if any(gate.wiped for gate in gates):
        add("")
        add(f"**Winner's write erased by moto:** {MOTO_ROLLBACK} tests.moto_speedups serializes every "
            "moto write under one lock to prevent exactly this, yet it happened here: a regression to look at. The "
            "refusal itself (exactly one winner) held every time.")
    add("")

    add(f"## 3. Throughput: {STREAMS} streams x {EVENTS_PER_STREAM} events per contender "
        f"(each event = one command: load + decide + append)")
    add("")
    add(f"Fresh table per contender, {BACKGROUND_ITEMS} background items pre-seeded in each "
        f"({BACKGROUND_ITEMS // BACKGROUND_STREAM_LENGTH} other streams x {BACKGROUND_STREAM_LENGTH}); "
        f"{WARMUP_STREAMS * WARMUP_EVENTS} warm-up commands each, discarded; commands interleaved one by one "
        "across contenders in rotating order. Items at the end: "
        + ", ".join(f"{k} {v}" for k, v in sizes.items()) + ".")
    add("")
    add("| contender | append p50 | append p95 | load p50 | load p95 | command p50 | command p95 | "
        "append / raw (p50) | load / raw (p50) | requests per command |")
    add("|---|---|---|---|---|---|---|---|---|---|")
    raw_append, raw_load = pct(raw.timings.append, 50), pct(raw.timings.load, 50)
    for contender in contenders:
        t = contender.timings
        add(f"| {contender.name} | {pct(t.append, 50):.2f} | {pct(t.append, 95):.2f} | {pct(t.load, 50):.2f} | "
            f"{pct(t.load, 95):.2f} | {pct(t.command, 50):.2f} | {pct(t.command, 95):.2f} | "
            f"{pct(t.append, 50) / raw_append:.2f}x | {pct(t.load, 50) / raw_load:.2f}x | "
            f"{per_command(t.requests, t.commands)} |")
    add("")
    add("All times in ms per operation. *append* = raw: PutItem; ours: chain_events + store.append; aett: "
        "raise_event + repository.save. *load* = raw: Query (all pages); ours: store.load; aett: repository.get. "
        "*command* = the whole load + decide + append.")
    add("")
    ours_ratio = pct(ours.timings.append, 50) / raw_append
    ours_ratio95 = pct(ours.timings.append, 95) / pct(raw.timings.append, 95)
    envelope = pct(ours.timings.envelope, 50)
    put_only = [a - b for a, b in zip(ours.timings.append, ours.timings.envelope)]
    met = ours_ratio <= TARGET_RATIO
    low, high = median_ratio_ci(ours.timings.append, raw.timings.append)
    add("### Verdict")
    add("")
    add(f"- Target: our append within {TARGET_RATIO}x of raw boto3 conditional PutItem (p50). Measured "
        f"{ours_ratio:.2f}x at p50 (95% bootstrap interval {low:.2f}-{high:.2f}x; {ours_ratio95:.2f}x at p95): "
        f"**{'MET' if met else 'MISSED'}**.")
    rcc_append = pct(raw_rcc.timings.append, 50)
    ours_append = pct(ours.timings.append, 50)
    add(f"- Where our append time goes (p50): chain_events (envelope + SHA-256 over canonical JSON) "
        f"{envelope:.3f} ms ({100 * envelope / ours_append:.0f}% of an append); store.append (pynamodb model "
        f"build and serialization, condition expression, ReturnConsumedCapacity=TOTAL, HTTP round trip) "
        f"{pct(put_only, 50):.2f} ms. Floor: raw PutItem {raw_append:.2f} ms; raw PutItem with "
        f"ReturnConsumedCapacity=TOTAL (which pynamodb adds to every data-plane request) {rcc_append:.2f} ms.")
    if low > 1.0:
        add(f"- The gap over the floor is {ours_append - raw_append:.2f} ms at p50, of which the hash chain is "
            f"{envelope:.2f} ms; the rest is pynamodb's client-side work and the ReturnConsumedCapacity it always "
            "asks for (compare the raw + RCC row).")
    else:
        add(f"- Ours is not measurably slower than the floor here: the interval of the ratio "
            f"{'includes 1.0' if high >= 1.0 else 'lies below 1.0, which can only be noise'} (a shared machine). "
            "The HTTP round trip to moto and "
            "moto's own work dominate every append; the client-side work (hash chain, pynamodb) is a small part.")
    add(f"- Load: ours {pct(ours.timings.load, 50) / raw_load:.2f}x raw Query at p50, "
        f"aett {pct(aett.timings.load, 50) / raw_load:.2f}x (aett's get is two Queries: the snapshot table, then "
        "the commits table's RevisionIndex). On moto, Query time is dominated by moto scanning the whole table, "
        "which is why load dwarfs append for everyone.")
    add("- aett writes one item per commit (all of a commit's events as one JSON blob, plus 2 LSI entries); "
        "ours writes one item per event (plus the by-day GSI entry). With one event per command both write one "
        "item. aett does not page its Query (truncates streams over 1 MB) and has no global read order.")
    if problems:
        add("- **Post-run stream check failed:** " + "; ".join(problems))
    else:
        add(f"- Post-run check: sampled streams of every contender hold exactly {EVENTS_PER_STREAM} events "
            "(ours with a valid hash chain).")
    add("")
    add("### Notes on the setup")
    add("")
    add("- Requests are counted by appending a `before-send` handler to `botocore.handlers.BUILTIN_HANDLERS` "
        "before any session exists (moto's `mock_aws` hooks in at the same place). Every botocore session, and "
        "so every client, in the process gets it: pynamodb's per-Connection sessions, boto3's default session "
        "and aett's own `boto3.Session`. It fires once per HTTP attempt, so retries would show.")
    add("- aett's documented local mode (`region=\"localhost\"`, `port=N`, i.e. `http://localhost:N`) does not "
        "work against moto 5.2.5: SigV4 then names region `localhost` and moto answers HTTP 500 "
        "(`KeyError: 'localhost'`). aett is therefore given region "
        f"`{REGION}` and botocore's standard `AWS_ENDPOINT_URL_DYNAMODB`, set only while its clients are created.")
    add("- moto runs with `tests.moto_speedups` installed, as under `lapor serve` and the tests: it "
        "takes moto's transaction rollback snapshot once per table instead of once per item, and serializes every "
        "moto write under one lock (the single-writer throughput run never waits on it).")
    add("- aett runs with its DefaultAggregateRepository as documented (snapshot store on, no snapshots taken), "
        "so every get costs two Queries; its snapshot table is empty, so moto's per-table scan is cheap there.")
    add(f"- {MOTO_ROLLBACK} moto_speedups' write lock rules that out in this process (and "
        "under `lapor serve`); the gate's *erased* column checks it on every run.")
    add("- The raw contenders write the same attributes and sizes as ours (a serialized LAPOR event as template, "
        "with its stream, version and index key replaced) without computing a hash: it is the floor.")
    add("")
    lines += more
    all_ok &= all(gate.passed for gate in gates) and not problems and counts.chain_ok
    return "\n".join(lines).rstrip("\n") + "\n", all_ok


LOADAVG = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)


def extended(url: str, part_seconds: dict[str, float]) -> tuple[list[str], bool]:
    """Sections 4-7: projection throughput, rebuild, reads vs number of reports, the deadline sweep."""
    from tests.bench import read_models, rebuild, sweep

    began = time.perf_counter()
    print(f"4/8 projection throughput: {read_models.PROJECTION_REPORTS * 5} events through every read model ...",
          file=sys.stderr)
    projection = read_models.projection_throughput(url)
    part_seconds["section 4"] = time.perf_counter() - began

    began = time.perf_counter()
    print(f"5/8 rebuild: {projection.events} events over HTTP, {rebuild.REBUILD_REPORTS * 5:,} in-process "
          "(the long part) ...", file=sys.stderr)
    rebuilt = rebuild.rebuild_all(projection)
    part_seconds["section 5"] = time.perf_counter() - began

    began = time.perf_counter()
    print(f"6/8 reads per request at {' and '.join(f'{n:,}' for n in read_models.READ_SIZES)} reports ...",
          file=sys.stderr)
    reads = read_models.read_costs(url)
    part_seconds["section 6"] = time.perf_counter() - began

    began = time.perf_counter()
    print(f"7/8 deadline sweep at {' and '.join(f'{n:,}' for n in sweep.SWEEP_SIZES)} open reports ...",
          file=sys.stderr)
    sweeps = sweep.sweep_costs(url)
    part_seconds["section 7"] = time.perf_counter() - began

    lines = method_notes()
    lines += read_models.render_projection(projection)
    lines += rebuild.render_rebuild(rebuilt)
    lines += read_models.render_read_costs(reads)
    lines += sweep.render_sweep(sweeps)
    log = rebuilt.large_log
    ok = (reads.ok and sweep.sweeps_equal(sweeps) and log.chains_ok and log.sample_view_ok
          and log.rebuilt_views == log.reports and all(run.due_after == 0 for run in sweeps))
    return lines, ok


def method_notes() -> list[str]:
    return [
        "## Sections 4-7: data and method",
        "",
        "- Data: for each submission day and each of two lives (submit, verify, assign, follow-up, final answer; "
        "or submit, verify, final answer, accept + close) one template report is taken through the real "
        "CommandHandler and domain on the in-memory store, so deadlines come from the working-day calendar. Every "
        "other report copies a template: its domain events, command by command, re-wrapped by `chain_events` "
        "under a new `LAP-` id (a fresh SHA-256 chain), times shifted by up to 6 h within the same day "
        "(tests/bench/data.py). Read-model items that are written directly are built with the projections' own "
        "functions (`apply`, `summary`, `index_keys`, `fold`/`contribution`, `evolve`/`state_to_json`).",
        "- Requests are counted with the same `before-send` hook as above; *items read* come from an `after-call` "
        "hook on the same handler list (GetItem: 0/1, BatchGetItem: items returned, Query: Count). moto's "
        "server-side time per backend method is taken by wrapping `DynamoDBBackend` methods in this process "
        "(tests/bench/common.py `MotoTimer`).",
        "- *In-process* means moto's `mock_aws` started without resetting data: the same backend, tables and "
        "moto_speedups the server uses, minus HTTP. Used to fill large tables quickly and for the 100,000-event "
        "rebuild; every measured request in sections 4, 6 and 7 goes to the server over HTTP.",
        "",
    ]


def main() -> int:
    wall_start, started_at = time.perf_counter(), dt.datetime.now(dt.timezone.utc)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # verbose=False does not silence per-request logs
    moto_speedups.install()  # as `lapor serve` and the tests run moto (one rollback snapshot per transaction)
    MOTO.install()  # server-side time per backend method (sections 4 and 5)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        print(f"moto server at {url}", file=sys.stderr)

        part_seconds: dict[str, float] = {}
        began = time.perf_counter()
        print("1/8 counting requests per command ...", file=sys.stderr)
        counts = count_requests(url)

        print("2/8 correctness gate (two writers, one winner) ...", file=sys.stderr)
        gate_names = create_tables(dynamodb_client(url), "bench-gate")
        gate_store = DynamoDBEventStore(gate_names, host=url, region=REGION)
        gates = [gate_lapor(gate_store, 1), gate_lapor(gate_store, 2),
                 gate_raw(dynamodb_client(url), gate_names["events"]), gate_aett(make_aett(url, "bench-gate-aett"))]
        if not all(gate.passed for gate in gates):
            print("correctness gate FAILED; throughput numbers would be meaningless", file=sys.stderr)
            for gate in gates:
                print(f"  {gate}", file=sys.stderr)
            return 1

        print(f"3/8 throughput: {STREAMS} streams x {EVENTS_PER_STREAM} events x 4 contenders ...", file=sys.stderr)
        contenders, sizes, elapsed = throughput(url)
        problems = check_streams(contenders)
        part_seconds["sections 1-3"] = time.perf_counter() - began

        more, more_ok = extended(url, part_seconds)

        from tests.bench import local_runtime

        began = time.perf_counter()
        print("8/8 local runtime: submissions and projection lag on DynamoDB Local beside moto ...", file=sys.stderr)
        local_runs = local_runtime.measure()
        more += local_runtime.render(local_runs)
        more_ok &= all(not run.errors for run in local_runs)
        part_seconds["section 8"] = time.perf_counter() - began
        text, all_ok = render(counts, gates, contenders, sizes, elapsed, problems, started_at,
                              time.perf_counter() - wall_start, more, part_seconds)
        all_ok &= more_ok
    finally:
        server.stop()
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"written to {RESULTS}", file=sys.stderr)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
