"""Someone with access to the local database deletes or rewrites events: `lapor verify` and the auditors'
chain check name the report and the version (the archive and the report view remember each chain's head)."""
from __future__ import annotations

from tests.e2e.support import REPORT, bearer, call, lapor, wait_for


def test_a_deleted_newest_event_and_an_altered_event_are_named_by_verify_and_the_chain_check(local_server):
    server = local_server
    national = bearer(server.home, "--role", "admin_nasional")
    institution = bearer(server.home, "--role", "admin_instansi", "--institution", "pemkot-samarinda")
    reports = []
    for n in range(2):
        code, report = call("POST", server.base + "/reports", REPORT | {"title": f"Lampu padam {n}"})
        assert code == 201
        reports.append(report)
        for path, body, headers in (("verification", {"institution_id": "pemkot-samarinda"}, national),
                                    ("assignment", {"unit_id": "dinas-pupr"}, institution)):
            assert call("POST", f"{server.base}/reports/{report['report_id']}/{path}", body, headers)[0] == 200
        wait_for(server.base, report["report_id"], {"X-Report-Token": report["access_token"]}, "assigned")
    truncated, altered = reports[0]["report_id"], reports[1]["report_id"]
    assert lapor(server.home, "verify", "--drained").returncode == 0

    dynamodb, table = server.dynamodb(), "lapor-local-events"
    dynamodb.delete_item(TableName=table, Key={"stream_id": {"S": truncated}, "version": {"N": "3"}})
    dynamodb.update_item(TableName=table, Key={"stream_id": {"S": altered}, "version": {"N": "2"}},
                         UpdateExpression="SET #d = :d", ExpressionAttributeNames={"#d": "data"},
                         ExpressionAttributeValues={":d": {"S": '{"institution_id":"pemkot-balikpapan"}'}})

    refused = lapor(server.home, "verify", check=False)
    assert refused.returncode == 1, refused.stdout
    assert f"{truncated}: version 3 is in the archive but missing from the event log" in refused.stdout
    assert f"{altered}: version 2 in the event log does not match its own hash" in refused.stdout

    auditor = bearer(server.home, "--role", "auditor")
    code, chain = call("GET", f"{server.base}/reports/{truncated}/chain-verification", headers=auditor)
    assert code == 200 and not chain["valid"] and chain["first_broken_version"] == 3
    code, chain = call("GET", f"{server.base}/reports/{altered}/chain-verification", headers=auditor)
    assert code == 200 and not chain["valid"] and chain["first_broken_version"] == 2

    # The projector saw both changes go by on the stream and said so (no code path of ours writes either).
    output = server.stop()
    assert f"saw a REMOVE of {{'stream_id': {{'S': '{truncated}'}}, 'version': {{'N': '3'}}}}" in output
    assert f"saw a MODIFY of {{'stream_id': {{'S': '{altered}'}}, 'version': {{'N': '2'}}}}" in output
