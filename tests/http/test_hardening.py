"""Fixes from a review: what the public sees of a reporter's words, odd input, ids that cannot exist."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.services.operations import rebuild, verify_log
from chalicelib.services.sweep import sweep
from tests.support.builders import REPORT_JALAN_RUSAK
from tests.support.tokens import ADMIN_SAMARINDA, NASIONAL, OMBUDSMAN

REPORT = REPORT_JALAN_RUSAK | {"anonymous": True}


def test_the_public_never_reads_a_reporters_clarification_objection_or_comment(api, pump):
    submitted = api.post("/reports", REPORT).json_body
    report_id, token = submitted["report_id"], submitted["access_token"]
    assert api.post(f"/reports/{report_id}/hold", {"question": "Siapa nama dan nomor HP Anda?"},
                    token=NASIONAL).status_code == 200
    assert api.post(f"/reports/{report_id}/replies", {"message": "Saya Budi, HP 0812 3456 7890"},
                    report_token=token).status_code == 200
    assert api.post(f"/reports/{report_id}/verification", {"institution_id": "pemkot-samarinda"},
                    token=NASIONAL).status_code == 200
    admin = ADMIN_SAMARINDA
    assert api.post(f"/reports/{report_id}/follow-ups", {"message": "Sudah diperbaiki", "final": True},
                    token=admin).status_code == 200
    assert api.post(f"/reports/{report_id}/acceptance", {"rating": 4, "comment": "Pak Andi dari RT 03 membantu"},
                    report_token=token).status_code == 200
    pump.drain()

    public = api.get(f"/reports/{report_id}")
    assert public.status_code == 200
    assert b"Budi" not in public.body and b"0812" not in public.body and b"Pak Andi" not in public.body
    assert "replies" not in public.json_body and public.json_body["rating"]["rating"] == 4
    own = api.get(f"/reports/{report_id}", report_token=token).json_body
    assert own["replies"][0]["message"] == "Saya Budi, HP 0812 3456 7890"  # the reporter still sees it


@pytest.mark.parametrize("path", ["/queue?limit=\u00b2", "/queue?limit=0", "/queue?limit=1000",
                                  "/public/reports?limit=\u0661"])
def test_odd_page_sizes_are_422_not_500(api, path):
    response = api.get(path, token=NASIONAL)
    assert response.status_code == 422, (response.status_code, response.body)


def test_an_as_of_before_lapor_existed_is_422_not_500(api):
    report_id = api.post("/reports", REPORT).json_body["report_id"]
    response = api.get(f"/reports/{report_id}/timeline?as_of=0001-01-01T00:00:00%2B01:00",
                       token=OMBUDSMAN)
    assert response.status_code == 422 and response.json_body["details"]["field"] == "as_of"


def test_a_period_with_trailing_junk_is_422(api):
    assert api.get("/stats/regions/64?period=2022%0A").status_code == 422


@pytest.mark.parametrize("path", ["/reports/not-a-report", "/reports/LAP-" + "A" * 2100,
                                  "/stats/regions/" + "9" * 3000, "/stats/institutions/Pemkot%20X"])
def test_ids_that_cannot_exist_are_404_without_touching_dynamodb(api, path):
    response = api.get(path, token=NASIONAL)
    assert response.status_code == 404, (response.status_code, response.body)


def test_erasing_a_reporter_ref_that_cannot_exist_is_404(api):
    response = api.post("/reporters/RPT-" + "x" * 2100 + "/erasure", token=NASIONAL)
    assert response.status_code == 404


def test_events_recorded_ahead_by_a_sweep_keep_the_report_in_time_order_for_rebuild_and_audit(
        api, pump, clock, services):
    # Given: a sweep run as of five days from now records a reminder "in the future" ...
    report_id = api.post("/reports", REPORT).json_body["report_id"]
    pump.drain()
    assert sweep(services, clock.now + timedelta(days=5)).recorded == {"ReminderSent": 1}
    # ... and an admin then verifies the report at the real time, an hour after submission.
    clock.advance(hours=1)
    assert api.post(f"/reports/{report_id}/verification", {"institution_id": "pemkot-samarinda"},
                    token=NASIONAL).status_code == 200
    pump.drain()

    # Then: the report's events never go back in time, so reading the log in time order keeps versions in
    # order: the chain verifies and a rebuild reaches the same view.
    events = services.store.load(report_id)
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
    log = list(services.store.read_days("2026-01-01", "2026-12-31"))
    assert verify_log(log).broken == {}
    live = services.views.get(report_id)
    rebuild(services, "report_views", now=clock)
    assert services.views.get(report_id) == live and live["status"] == "disposed"
