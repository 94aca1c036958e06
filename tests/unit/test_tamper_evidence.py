"""Tamper evidence (DOMAIN §9, issue 7 item 4): `lapor verify` compares each report's chain in the event log
with the archive, an independent record of how long each chain is, so a removed newest event is caught too.

Each test builds three interleaved reports, archives them through the real `FileArchive`, then plays the
attacker: it edits the table directly (here an in-memory store filled with the edited events; no code path
of the application updates or deletes an event) and checks that the report and the first broken version
are named.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

import infra.cli
from infra.cli import main
from chalicelib.services.operations import export, verify_against_archive, verify_log
from chalicelib.store.base import Append, chain_events
from chalicelib.store.memory import InMemoryEventStore
from events import report as e
from events.base import Actor, StoredEvent
from events.chain import GENESIS, canonical_json, event_hash
from projections.archive import FileArchive, read_archive
from tests.support.builders import submitted_event

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
R1, R2, R3 = "LAP-SEGEL00001", "LAP-SEGEL00002", "LAP-SEGEL00003"
LENGTHS = {R1: 5, R2: 3, R3: 4}
PUBLIC = Actor(role="public")
INSTITUTION = Actor(role="admin_instansi", user_id="i1", institution_id="pemkot-samarinda")


# ------------------------------------------------------------------------------------------------ histories

def submitted() -> e.ReportSubmitted:
    return submitted_event(addressed_institution_id="pemkot-samarinda", verification_due="2026-03-05T02:00:00.000Z")


def history() -> list[StoredEvent]:
    """R1 (5 events), R2 (3), R3 (4), one event an hour, taking turns: the log interleaves them."""
    streams: dict[str, list[StoredEvent]] = {report_id: [] for report_id in LENGTHS}
    events, hour = [], 0
    while any(len(streams[r]) < n for r, n in LENGTHS.items()):
        for report_id, length in LENGTHS.items():
            stream = streams[report_id]
            if len(stream) == length:
                continue
            hour += 1
            step = submitted() if not stream else e.FollowUpPosted(message=f"Tindak lanjut ke-{len(stream)}.")
            new = chain_events(report_id, stream[-1] if stream else None, [step],
                               actor=INSTITUTION if stream else PUBLIC, channel="web", now=T0 + timedelta(hours=hour),
                               correlation_id=f"c-{hour}", causation_id=None)
            stream += new
            events += new
    return events


def of(events: list[StoredEvent], report_id: str) -> list[StoredEvent]:
    return [stored for stored in events if stored.stream_id == report_id]


def archived(tmp_path: Path, events: list[StoredEvent]) -> Path:
    """The archive as the stream consumer writes it, in its own append order (here report by report, R3
    first; each report's versions in order, as the stream delivers them), not the log's time order."""
    path = tmp_path / "archive.jsonl"
    archive = FileArchive(path)
    for report_id in sorted({stored.stream_id for stored in events}, reverse=True):
        for stored in of(events, report_id):
            assert archive.project(stored)
    return path


def table(events: list[StoredEvent]) -> InMemoryEventStore:
    """An events table holding exactly these items, however edited: written straight in, as an attacker with
    access to the table would (the store only checks that each stream starts empty)."""
    store = InMemoryEventStore()
    for report_id in dict.fromkeys(stored.stream_id for stored in events):
        store.append(Append(report_id, 0, of(events, report_id)))
    return store


def log_of(events: list[StoredEvent]) -> list[StoredEvent]:
    """The log as `lapor verify` reads it: through the by-day index, in time order."""
    return list(table(events).read_days("2026-03-01", "2026-03-04"))


def rehashed(stored: StoredEvent) -> StoredEvent:
    return dataclasses.replace(stored, hash=event_hash(stored.to_dict()))


def rechained(stream: list[StoredEvent]) -> list[StoredEvent]:
    """An attacker's fix-up: number the events 1..n again and recompute every link and hash."""
    fixed, prev_hash = [], GENESIS
    for version, stored in enumerate(stream, start=1):
        fixed.append(rehashed(dataclasses.replace(stored, version=version, prev_hash=prev_hash)))
        prev_hash = fixed[-1].hash
    return fixed


def replaced(events: list[StoredEvent], report_id: str, stream: list[StoredEvent]) -> list[StoredEvent]:
    return [stored for stored in events if stored.stream_id != report_id] + stream


def softened(stored: StoredEvent) -> StoredEvent:
    return dataclasses.replace(stored, data=stored.data | {"message": "Sudah selesai ditangani."})


def compare(tmp_path: Path, log: list[StoredEvent], archive_events: list[StoredEvent] | None = None, **options):
    path = archived(tmp_path, history() if archive_events is None else archive_events)
    return verify_against_archive(log_of(log), read_archive(path), **options)


def only_broken(check) -> dict[str, int]:
    return {stream_id: broken.first_broken_version for stream_id, broken in check.broken.items()}


# ------------------------------------------------------------------------------------------------ the log

def test_an_untouched_log_agrees_with_its_archive(tmp_path):
    events = history()

    check = compare(tmp_path, events)

    assert check.valid and check.broken == {} and check.archive_broken == {} and check.not_archived == {}
    assert (check.reports, check.events, check.archived_events) == (3, 12, 12)


def test_an_altered_event_whose_hash_was_left_is_named(tmp_path):
    events = history()
    victim = of(events, R1)[2]
    log = [softened(stored) if stored == victim else stored for stored in events]

    check = compare(tmp_path, log)

    assert only_broken(check) == {R1: 3}
    assert check.broken[R1].problem == ("version 3 in the event log does not match its own hash "
                                        "(it was changed after it was written)")


@pytest.mark.parametrize("version", [1, 3, 5], ids=["first", "middle", "newest"])
def test_an_altered_event_with_its_hash_recomputed_is_named_at_itself_not_at_the_next(tmp_path, version):
    events = history()
    victim = of(events, R1)[version - 1]
    log = [rehashed(softened(stored)) if stored == victim else stored for stored in events]

    check = compare(tmp_path, log)

    assert only_broken(check) == {R1: version}
    assert check.broken[R1].problem == (f"version {version} in the event log differs from version {version} in the "
                                        f"archive (hash {rehashed(softened(victim)).hash[:16]}... in the event log, "
                                        f"{victim.hash[:16]}... in the archive)")
    # The chain alone sees only the next event's broken link, and nothing at all when the newest was changed.
    alone = verify_log(log_of(log)).broken
    assert {r: c.first_broken_version for r, c in alone.items()} == ({R1: version + 1} if version < 5 else {})


def test_an_altered_event_with_the_whole_rest_of_its_chain_recomputed_is_named(tmp_path):
    events = history()
    stream = of(events, R1)
    forged = rechained(stream[:2] + [softened(stream[2])] + stream[3:])

    check = compare(tmp_path, replaced(events, R1, forged))

    assert verify_log(log_of(replaced(events, R1, forged))).broken == {}  # it verifies on its own
    assert only_broken(check) == {R1: 3}
    assert "differs from version 3 in the archive" in check.broken[R1].problem


def test_a_deleted_first_event_is_named(tmp_path):
    events = history()

    check = compare(tmp_path, [stored for stored in events if (stored.stream_id, stored.version) != (R2, 1)])

    assert only_broken(check) == {R2: 1}
    assert check.broken[R2].problem == ("version 1 is missing from the event log (the next event there is "
                                        "version 2); the archive has it")


def test_a_deleted_middle_event_is_named(tmp_path):
    events = history()

    check = compare(tmp_path, [stored for stored in events if (stored.stream_id, stored.version) != (R1, 3)])

    assert only_broken(check) == {R1: 3}
    assert check.broken[R1].problem.startswith("version 3 is missing from the event log")


def test_a_deleted_middle_event_with_the_rest_renumbered_and_rehashed_is_named(tmp_path):
    events = history()
    stream = of(events, R1)

    check = compare(tmp_path, replaced(events, R1, rechained(stream[:2] + stream[3:])))

    assert only_broken(check) == {R1: 3}
    assert "differs from version 3 in the archive" in check.broken[R1].problem


def test_a_deleted_newest_event_is_named_though_the_chain_that_is_left_verifies(tmp_path):
    events = history()
    log = [stored for stored in events if (stored.stream_id, stored.version) != (R1, 5)]

    check = compare(tmp_path, log)

    assert verify_log(log_of(log)).broken == {}  # issue 7: the chain alone said every chain was intact
    assert only_broken(check) == {R1: 5}
    assert check.broken[R1].problem == ("version 5 is in the archive but missing from the event log (the chain was "
                                        "truncated after version 4; the archive goes to version 5)")


def test_an_event_inserted_in_the_middle_with_the_rest_renumbered_and_rehashed_is_named(tmp_path):
    events = history()
    stream = of(events, R3)
    inserted = dataclasses.replace(stream[1], data={"message": "Laporan sudah dijawab."})
    forged = rechained(stream[:2] + [inserted] + stream[2:])

    check = compare(tmp_path, replaced(events, R3, forged))

    assert [stored.version for stored in forged] == [1, 2, 3, 4, 5]
    assert only_broken(check) == {R3: 3}
    assert "differs from version 3 in the archive" in check.broken[R3].problem


@pytest.mark.parametrize("fixed_up", [False, True], ids=["versions-swapped", "renumbered-and-rehashed"])
def test_two_reordered_events_are_named(tmp_path, fixed_up):
    events = history()
    stream = of(events, R1)
    if fixed_up:
        reordered = rechained([stream[0], stream[2], stream[1], *stream[3:]])
    else:
        reordered = [stream[0], dataclasses.replace(stream[2], version=2), dataclasses.replace(stream[1], version=3),
                     *stream[3:]]

    check = compare(tmp_path, replaced(events, R1, reordered))

    assert only_broken(check) == {R1: 2}


def test_a_report_deleted_from_the_log_is_named(tmp_path):
    events = history()

    check = compare(tmp_path, [stored for stored in events if stored.stream_id != R2])

    assert only_broken(check) == {R2: 1}
    assert check.broken[R2].problem == ("the report is in the archive (versions 1 to 3) but has no events in "
                                        "the event log")
    assert check.reports == 3


def test_a_report_can_be_broken_twice_but_is_named_once_at_its_first_break(tmp_path):
    events = history()
    truncated = [stored for stored in events if (stored.stream_id, stored.version) != (R1, 5)]
    log = [softened(stored) if (stored.stream_id, stored.version) == (R1, 2) else stored for stored in truncated]

    assert only_broken(compare(tmp_path, log)) == {R1: 2}


# ------------------------------------------------------------------------------------------------ the archive's lag

def lagging_archive(events: list[StoredEvent]) -> list[StoredEvent]:
    """What the consumer has archived so far: R1 up to version 3, nothing of R3 yet."""
    return [s for s in events if s.stream_id == R2 or (s.stream_id == R1 and s.version <= 3)]


def test_a_log_ahead_of_a_lagging_archive_is_not_broken_but_counted(tmp_path):
    events = history()

    check = compare(tmp_path, events, lagging_archive(events))

    assert check.valid and check.broken == {}
    assert check.not_archived == {R1: 2, R3: 4}
    assert (check.reports, check.events, check.archived_events) == (3, 12, 6)


def test_once_the_stream_is_drained_a_log_ahead_of_the_archive_is_broken(tmp_path):
    events = history()

    check = compare(tmp_path, events, lagging_archive(events), drained=True)

    assert only_broken(check) == {R1: 4, R3: 1}
    assert check.broken[R1].problem == ("version 4 is in the event log but not in the archive, which should hold "
                                        "every event by now (the stream is drained); 2 missing from it")
    assert check.not_archived == {}


def test_a_lagging_archive_still_shows_a_change_to_what_it_holds(tmp_path):
    events = history()
    log = [rehashed(softened(s)) if (s.stream_id, s.version) == (R1, 2) else s for s in events]

    check = compare(tmp_path, log, lagging_archive(events))

    assert only_broken(check) == {R1: 2}
    assert check.not_archived == {R3: 4}


def test_beyond_the_archive_the_log_is_still_held_to_its_own_chain(tmp_path):
    events = history()
    log = [rehashed(softened(s)) if (s.stream_id, s.version) == (R1, 4) else s for s in events]

    check = compare(tmp_path, log, lagging_archive(events))  # R1 is archived up to version 3

    assert only_broken(check) == {R1: 5}  # the rehashed version 4 shows only in the next event's link
    assert check.broken[R1].problem == ("version 5 in the event log does not link to version 4 (its prev_hash is "
                                        "not that event's hash)")


def test_the_archives_own_chains_are_verified(tmp_path):
    events = history()
    path = archived(tmp_path, events)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for record in lines:
        if (record["stream_id"], record["version"]) == (R2, 2):
            record["data"]["message"] = "Diubah di arsip."
    path.write_text("".join(canonical_json(record) + "\n" for record in lines), encoding="utf-8")

    check = verify_against_archive(log_of(events), read_archive(path))

    assert not check.valid and check.broken == {}
    assert {r: c.first_broken_version for r, c in check.archive_broken.items()} == {R2: 2}
    assert check.archive_broken[R2].problem == "content does not match its hash"
    assert check.not_archived == {}  # past a break the archive proves nothing, so it is not called lag either


# ------------------------------------------------------------------------------------------------ the command

def test_an_auditor_checks_a_new_export_against_one_kept_from_before(tmp_path, capsys):
    events = history()
    kept, new = tmp_path / "kept.jsonl", tmp_path / "new.jsonl"
    export(log_of(lagging_archive(events)), kept)

    export(log_of(events), new)  # the same reports, further along
    assert main(["--home", str(tmp_path), "verify", "--archive", str(new), "--against", str(kept)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: 12 events of 3 reports in {new}; every hash chain is intact and holds the "
                          f"6 events of {kept} unchanged")
    assert f"2 reports with 6 events newer than {kept} (not in it, so not compared)" in out

    export(log_of([s for s in events if s.stream_id != R1 or s.version <= 2]), new)  # R1 cut back since
    assert main(["--home", str(tmp_path), "verify", "--archive", str(new)]) == 0  # alone, it looks intact
    capsys.readouterr()
    assert main(["--home", str(tmp_path), "verify", "--archive", str(new), "--against", str(kept)]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN: 1 of 3 reports in {new} fail verification against {kept}" in out
    assert (f"  {R1}: version 3 is in {kept} but missing from {new} (the chain was truncated after version 2; "
            f"{kept} goes to version 3)") in out


def test_an_auditor_is_told_which_file_is_not_an_export(tmp_path):
    kept, new = tmp_path / "kept.jsonl", tmp_path / "new.jsonl"
    export(log_of(history()), new)
    kept.write_text('{"stream_id": "LAP-SEGEL00001"}\n{}\n', encoding="utf-8")

    with pytest.raises(SystemExit) as refused:
        main(["--home", str(tmp_path), "verify", "--archive", str(new), "--against", str(kept)])
    assert f"{kept} is not a LAPOR export" in str(refused.value)
    with pytest.raises(SystemExit) as missing:
        main(["--home", str(tmp_path), "verify", "--archive", str(new), "--against", str(tmp_path / "gone")])
    assert "no such file" in str(missing.value)


@pytest.fixture
def running(tmp_path, monkeypatch):
    """`lapor verify` beside a running system: its log is the given table, its archive the home's archive."""
    def run(log: list[StoredEvent], archive_events: list[StoredEvent], *options: str,
            log_days: tuple[str | None, str | None] = ("2026-03-02", "2026-03-02")) -> int:
        (tmp_path / "archive.jsonl").unlink(missing_ok=True)
        archived(tmp_path, archive_events)
        services = SimpleNamespace(store=table(log), generations=SimpleNamespace(log_days=lambda: log_days))
        monkeypatch.setattr(infra.cli, "_running", lambda args: services)
        return main(["--home", str(tmp_path), "verify", *options])
    return run


def test_lapor_verify_names_the_newest_event_deleted_from_the_table(running, capsys):
    events = history()

    assert running([s for s in events if (s.stream_id, s.version) != (R1, 5)], events) == 1

    out = capsys.readouterr().out
    assert "BROKEN: 1 of 3 reports in the running system's event log fail verification against" in out
    assert (f"  {R1}: version 5 is in the archive but missing from the event log (the chain was truncated after "
            "version 4; the archive goes to version 5)") in out


def test_lapor_verify_counts_what_the_archive_has_not_caught_up_with_until_told_it_is_drained(running, capsys):
    events = history()

    assert running(events, lagging_archive(events)) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 12 events of 3 reports in the running system's event log")
    assert "2 reports with 6 events not yet in" in out

    assert running(events, lagging_archive(events), "--drained") == 1
    out = capsys.readouterr().out
    assert f"  {R1}: version 4 is in the event log but not in the archive" in out
    assert f"  {R3}: version 1 is in the event log but not in the archive" in out


def test_lapor_verify_reads_the_log_over_every_day_the_archive_has(running, capsys):
    events = history()

    # The control table does not know the log's days: reading only today would call every archived event removed.
    assert running(events, events, log_days=(None, None)) == 0

    assert capsys.readouterr().out.startswith("OK: 12 events of 3 reports in the running system's event log; every "
                                              "hash chain is intact and holds the 12 events of ")
