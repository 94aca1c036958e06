"""The Ombudsman's audit timeline over HTTP: who may read it, its flags, and *as of*.

The worlds are in tests/http/read_models/conftest.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.clock import iso
from tests.support.api import Api, body_of, error_of
from tests.support.builders import SITI
from tests.support.tokens import (
    ADMIN_BALIKPAPAN,
    ADMIN_KALTIM,
    ADMIN_SAMARINDA,
    AUDITOR,
    BALIKPAPAN,
    LIAISON_KOMINFO,
    LIAISON_PUPR,
    NASIONAL,
    OMBUDSMAN,
    SAMARINDA,
    SUPERVISOR,
    SUPERVISOR_KALTIM,
    SUPERVISOR_KEPRI,
)

UTC = timezone.utc


from tests.http.read_models.conftest import World, make_world, shared  # noqa: F401

# ------------------------------------------------------------------------------------------------ the timeline world

def build_timeline_world(api: Api) -> World:
    """late: verified a day late, first follow-up four days late. bounced: returned by Balikpapan, re-disposed
    to Samarinda, answered, objected to (reopened) and escalated to the Ombudsman."""
    w = make_world(api)
    w.submit("late")
    w.submit("bounced", reporter=SITI)
    w.submit("other", region_code="64.71")
    w.verify("bounced", BALIKPAPAN)
    w.verify("other", BALIKPAPAN)
    w.do("bounced", "return", {"reason": "Bukan kewenangan kami."}, token=ADMIN_BALIKPAPAN)
    w.do("bounced", "redisposition", {"institution_id": SAMARINDA}, token=NASIONAL)
    w.do("bounced", "follow-ups", {"message": "Sudah ditambal.", "final": True}, token=ADMIN_SAMARINDA)
    w.do("bounced", "objection", {"reason": "Lubangnya masih ada."}, as_reporter=True)
    w.do("bounced", "ombudsman-escalation", {"reason": "Jawaban tidak sesuai."}, as_reporter=True)
    # Verification of "late" was due Thursday 5 March 17:00 WIB; it comes Friday 6 March.
    w.clock.now = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)
    w.verify("late")
    w.do("late", "assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA)
    # Its first follow-up was due Friday 13 March 17:00 WITA; it comes Tuesday 17 March.
    w.clock.now = datetime(2026, 3, 17, 2, 0, tzinfo=UTC)
    w.do("late", "follow-ups", {"message": "Tim sudah survei lokasi."}, token=LIAISON_PUPR)
    w.pump()
    w.end = w.clock.now
    return w


@pytest.fixture(scope="module")
def timeline_world_built(api) -> World:
    return build_timeline_world(api)


@pytest.fixture
def tw(timeline_world_built):
    yield from shared(timeline_world_built)


def timeline_of(world: World, name: str, token: str | None = SUPERVISOR, query: str = "", **who: str) -> Any:
    return world.get(f"/reports/{world.ids[name]}/timeline{query}", token, **who)


@pytest.mark.parametrize("token", [OMBUDSMAN, AUDITOR, SUPERVISOR, SUPERVISOR_KALTIM, NASIONAL, ADMIN_SAMARINDA,
                                   LIAISON_PUPR],
                         ids=["ombudsman", "auditor", "supervisor", "kaltim supervisor", "admin_nasional",
                              "own institution", "own unit"])
def test_the_timeline_is_open_to_auditing_roles_and_the_handling_institution(tw, token):
    timeline = body_of(timeline_of(tw, "late", token), 200)

    assert timeline["report_id"] == tw.ids["late"] and timeline["institution_id"] == SAMARINDA


@pytest.mark.parametrize(("name", "token"), [("late", ADMIN_KALTIM), ("late", ADMIN_BALIKPAPAN),
                                             ("bounced", ADMIN_BALIKPAPAN), ("late", LIAISON_KOMINFO),
                                             ("late", SUPERVISOR_KEPRI)],
                         ids=["province", "neighbouring city", "institution that returned it", "other unit",
                              "other province"])
def test_for_anyone_else_in_staff_the_report_does_not_exist(tw, name, token):
    error_of(timeline_of(tw, name, token), 404, "report_not_found")


def test_the_timeline_is_not_for_the_public_or_the_reporter(tw):
    error_of(timeline_of(tw, "late", None), 403, "forbidden")
    error_of(timeline_of(tw, "late", None, report_token=tw.tokens["late"]), 403, "forbidden")


def test_an_unknown_report_has_no_timeline(tw):
    error_of(tw.get("/reports/LAP-TIDAKADA99/timeline", OMBUDSMAN), 404, "report_not_found")


def test_the_timeline_flags_a_return_a_reopening_and_an_escalation(tw):
    timeline = body_of(timeline_of(tw, "bounced", OMBUDSMAN), 200)

    assert [(step["type"], step["flags"]) for step in timeline["steps"]] == [
        ("ReportSubmitted", []), ("ReportVerified", []), ("ReportReturned", ["returned"]),
        ("ReportRedisposed", []), ("ReportAnswered", []), ("ResolutionObjected", ["objection"]),
        ("ReportReopened", ["reopened"]), ("EscalatedToOmbudsman", ["escalated"])]
    assert (timeline["returns"], timeline["reopenings"], timeline["escalations"]) == (1, 1, 1)
    assert timeline["escalated_to_ombudsman"] is True and timeline["status"] == "in_progress"
    returned = timeline["steps"][2]
    assert returned["by"] == {"role": "admin_instansi", "user_id": "admin_instansi-user",
                              "institution_id": BALIKPAPAN}


def test_the_timeline_flags_a_late_verification_and_a_late_first_follow_up(tw):
    timeline = body_of(timeline_of(tw, "late", OMBUDSMAN), 200)
    steps = {step["type"]: step for step in timeline["steps"]}

    assert steps["ReportVerified"]["flags"] == ["missed_verification_deadline"]
    assert steps["FollowUpPosted"]["flags"] == ["missed_follow_up_deadline"]
    assert [(m["clock"], m["due"], m["met_at"]) for m in timeline["missed_deadlines"]] == [
        ("verification", "2026-03-05T10:00:00.000Z", steps["ReportVerified"]["at"]),
        ("follow_up", "2026-03-13T09:00:00.000Z", steps["FollowUpPosted"]["at"])]
    # Friday 6 → Tuesday 17 March in WITA: 9–13 and 16–17 March, seven working days.
    assert steps["FollowUpPosted"]["working_days_since_previous"] == 7
    assert steps["ReportVerified"]["working_days_since_previous"] == 4  # Monday 2 → Friday 6


def test_as_of_shows_the_report_as_it_stood_then(tw):
    before_follow_up = "2026-03-16T00:00:00Z"
    timeline = body_of(timeline_of(tw, "late", OMBUDSMAN, f"?as_of={before_follow_up}"), 200)
    now = body_of(timeline_of(tw, "late", OMBUDSMAN), 200)

    assert timeline["as_of"] == "2026-03-16T00:00:00.000Z" and now["as_of"] == iso(tw.end)
    assert timeline["status"] == "assigned" and now["status"] == "in_progress"
    assert [step["type"] for step in timeline["steps"]] == ["ReportSubmitted", "ReportVerified", "ReportAssigned"]
    assert timeline["steps"] == now["steps"][:3]
    # As of then, the first follow-up was overdue and still unmet.
    assert timeline["missed_deadlines"][-1] == {"clock": "follow_up", "due": "2026-03-13T09:00:00.000Z",
                                                "met_at": None, "version": None}


def test_as_of_before_the_report_existed_shows_no_steps(tw):
    timeline = body_of(timeline_of(tw, "late", OMBUDSMAN, "?as_of=2026-03-01T00:00:00%2B07:00"), 200)

    assert timeline["steps"] == [] and timeline["status"] is None
    assert timeline["as_of"] == "2026-02-28T17:00:00.000Z"


@pytest.mark.parametrize("as_of", ["yesterday", "2026-03-10", "2026-03-10T10:00:00", "2026-13-01T00:00:00Z",
                                   "2026-03-10T25:00:00Z"])
def test_a_malformed_as_of_is_refused(tw, as_of):
    problem = error_of(timeline_of(tw, "late", OMBUDSMAN, f"?as_of={quote(as_of)}"), 422, "validation_failed")
    assert problem["details"]["field"] == "as_of"


def test_an_as_of_in_the_future_is_refused(tw):
    future = iso(tw.end + timedelta(minutes=1))
    error_of(timeline_of(tw, "late", OMBUDSMAN, f"?as_of={future}"), 422, "validation_failed")
    assert body_of(timeline_of(tw, "late", OMBUDSMAN, f"?as_of={iso(tw.end)}"), 200)["status"] == "in_progress"
