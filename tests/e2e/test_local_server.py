"""End to end: `lapor serve` as a real subprocess on a free port (DynamoDB Local underneath), over real HTTP."""
from __future__ import annotations

import signal

from tests.e2e.support import bearer, call, wait_for


def test_a_report_travels_its_whole_life_through_the_running_local_server(local_server):
    base, home = local_server.base, local_server.home
    national = bearer(home, "--role", "admin_nasional")
    institution = bearer(home, "--role", "admin_instansi", "--institution", "pemkot-samarinda")
    liaison = bearer(home, "--role", "admin_penghubung", "--institution", "pemkot-samarinda", "--unit", "dinas-pupr")

    code, submitted = call("POST", base + "/reports", {
        "title": "Drainase tersumbat", "body": "Saluran air di Jl. Pahlawan tersumbat sampah, banjir tiap hujan",
        "type": "complaint", "region_code": "64.72", "category_id": "infrastruktur.drainase"})
    assert code == 201 and submitted["status"] == "submitted"
    report_id, reporter = submitted["report_id"], {"X-Report-Token": submitted["access_token"]}
    assert wait_for(base, report_id, reporter, "submitted")["title"] == "Drainase tersumbat"
    assert call("GET", f"{base}/reports/{report_id}")[0] == 404  # unverified: not public yet

    steps = [
        (national, "verification", {"institution_id": "pemkot-samarinda"}, "disposed"),
        (institution, "assignment", {"unit_id": "dinas-pupr"}, "assigned"),
        (liaison, "follow-ups", {"message": "Petugas dijadwalkan membersihkan saluran"}, "in_progress"),
        (liaison, "follow-ups", {"message": "Saluran sudah dibersihkan", "final": True}, "answered"),
        (reporter, "acceptance", {"rating": 5, "comment": "Terima kasih"}, "closed"),
    ]
    for headers, action, body, expected in steps:
        code, result = call("POST", f"{base}/reports/{report_id}/{action}", body, headers)
        assert (code, result["status"]) == (200, expected), result
        seen = wait_for(base, report_id, reporter, expected)
        assert seen["version"] == result["version"]

    public = call("GET", f"{base}/reports/{report_id}")
    assert public[0] == 200 and public[1]["bucket"] == "selesai"
    code, chain = call("GET", f"{base}/reports/{report_id}/chain-verification", headers=bearer(home, "--role", "auditor"))
    assert code == 200 and chain["valid"] and chain["events"] == 7

    assert "Stopped." in local_server.stop(signal.SIGINT)
