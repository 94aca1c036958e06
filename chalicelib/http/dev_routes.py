"""Pages and tools for a person running LAPOR on their own machine. They answer 404 on any stage but `local`."""
from __future__ import annotations

import html

from chalicelib.errors import NotFound, ReportNotFound
from chalicelib.http.endpoint import Call, endpoint
from chalicelib.services.reproject import reproject

_STATUS_COLOURS = {"sent": "#1b7f3b", "pending": "#a36a00", "sending": "#a36a00", "dead": "#b00020"}


@endpoint("GET", "/dev/outbox", "devOutbox", "Local runs only: the notifications the system has sent or will send",
          audience="anyone, on a local run")
def dev_outbox(call: Call) -> str:
    if call.services.settings.stage != "local":
        raise NotFound("no such page", "halaman tidak ada")
    rows = []
    for message in call.services.outbox.recent(limit=200):
        recipient = message["recipient"]
        who = ("pelapor (reporter)" if recipient["kind"] == "reporter"
               else " / ".join(filter(None, (recipient.get("role"), recipient.get("institution_id"),
                                             recipient.get("unit_id")))))
        status = message.get("status", "pending")
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in (
                message["created"].split("#")[0], message["report_id"], message["event_type"], who,
                message["channel"])) +
            f'<td style="color:{_STATUS_COLOURS.get(status, "#000")}">{html.escape(status)}'
            f'{html.escape(" — " + message["last_error"]) if message.get("last_error") else ""}</td>'
            f"<td>{html.escape(message['text'])}</td></tr>")
    return ("<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>LAPOR — kotak keluar</title>"
            "<meta http-equiv=\"refresh\" content=\"5\"><style>body{font-family:sans-serif;margin:2em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}"
            "</style></head><body><h1>Kotak keluar (outbox)</h1><p>Notifications of this local run, newest "
            "first. They are also appended to <code>.lapor/outbox.jsonl</code>. The page refreshes itself.</p>"
            "<table><tr><th>waktu (UTC)</th><th>laporan</th><th>peristiwa</th><th>penerima</th><th>kanal</th>"
            "<th>status</th><th>pesan</th></tr>" + "".join(rows) + "</table></body></html>")


@endpoint("POST", "/dev/reports/{report_id}/reprojection", "devReprojectReport",
          "Local runs only: feed the report's events from the log to every read model and the archive again "
          "(`lapor reproject`); what a read model already has is skipped",
          audience="anyone, on a local run")
def dev_reproject_report(call: Call) -> dict:
    """Here, in the server's process, because the local archive is a file only that process appends to
    (exactly once through its in-memory index); the DynamoDB read models would be safe from anywhere."""
    if call.services.settings.stage != "local":
        raise NotFound("no such page", "halaman tidak ada")
    result = reproject(call.services.store.load, call.services.read_models(), call.params["report_id"])
    if not result.events:
        raise ReportNotFound(call.params["report_id"])
    return {"report_id": result.report_id, "events": result.events, "failures": list(result.failures)}
