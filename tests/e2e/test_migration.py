"""A `.lapor/` made by the old moto runtime (its reports only in archive.jsonl) is taken over once."""
from __future__ import annotations

from datetime import datetime, timezone

from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.working_days import default_calendar
from infra.local.state import LocalState
from chalicelib.reference import load_reference
from chalicelib.services.handlers import CommandHandler, Request
from chalicelib.services.operations import export
from chalicelib.store.memory import InMemoryEventStore
from tests.e2e.support import bearer, call, eventually, wait_for

NATIONAL = Principal(role="admin_nasional", user_id="verifikator-01")


def old_runtime_home(home) -> list[dict]:
    """What the moto runtime left: secrets and an archive of every event (it kept nothing else on disk)."""
    secrets = LocalState.at(home).secrets()
    store = InMemoryEventStore()
    commands = CommandHandler(store, default_calendar(), load_reference(), token_secret=secrets["token_secret"])
    now = datetime.now(timezone.utc)
    reports = []
    for n in range(3):
        reports.append(commands.submit(c.SubmitReport(
            principal=Principal(role="public"), title=f"Jalan rusak {n}", body="Jalan berlubang di depan pasar",
            report_type="complaint", category_id="infrastruktur.jalan-rusak", region_code="64.72",
            addressed_institution_id=None, anonymous=False, confidential=False, channel="web", reporter_ref=None,
            access_token_hash="", location=None), Request(now=now, correlation_id=f"old-{n}")))
    commands.execute(reports[0]["report_id"], c.VerifyReport(
        principal=NATIONAL, institution_id="pemkot-samarinda", title=None, category_id=None, report_type=None,
        requires_inspection=False, anonymous=None, confidential=None), Request(now=now, correlation_id="old-v"))
    day = now.date().isoformat()
    assert export(store.read_days(day, day), home / "archive.jsonl") == 4
    return reports


def test_the_old_archive_is_imported_once_and_then_the_database_keeps_everything(new_server):
    server = new_server
    reports = old_runtime_home(server.home)
    server.start()
    wait_for(server.base, reports[0]["report_id"], {"X-Report-Token": reports[0]["access_token"]}, "disposed")
    for report in reports[1:]:
        wait_for(server.base, report["report_id"], {"X-Report-Token": report["access_token"]}, "submitted")
    output = server.stop()
    assert "Imported 3 reports (4 events) from the old runtime's archive." in output
    assert len((server.home / "archive.jsonl").read_text().splitlines()) == 4  # not archived a second time

    # Started again: nothing is imported twice, a new report joins the three, statistics count four.
    server.start()
    code, new = call("POST", server.base + "/reports", {
        "title": "Sesudah migrasi", "body": "Lampu jalan padam", "type": "complaint", "region_code": "64.72",
        "category_id": "infrastruktur.penerangan-jalan"})
    assert code == 201
    eventually(lambda: call("GET", f"{server.base}/stats/regions/64.72?period={datetime.now(timezone.utc).year}")
               [1]["figures"]["received"] == 4, "four reports counted")
    code, history = call("GET", f"{server.base}/reports/{reports[0]['report_id']}/events",
                         headers=bearer(server.home, "--role", "auditor"))
    assert code == 200 and [e["type"] for e in history["events"]] == ["ReportSubmitted", "ReportVerified"]
    assert "Imported" not in server.stop()
