"""The read side over HTTP (DOMAIN §5, §8, §9): work queues, the public list, the audit timeline, statistics,
rankings and institution indicators — all served from read models the stream pump fills.

Worlds are built through the real API, then the pump runs the projector. Each world has its own table
prefix inside ONE moto mock for this module, so the read-only worlds (queues and public list, timeline,
statistics) are built once and shared; tests that move a world's clock put it back (`at_end`).
"""
from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.bootstrap import Services, build_services, use_services
from chalicelib.clock import iso
from chalicelib.http.stats_routes import composite_score
from infra.local.pump import StreamPump
from infra.tables import create_tables
from tests.support.api import Api, body_of, error_of
from tests.support.builders import DRAINASE, JALAN, SITI
from tests.support.builders import REPORT_JALAN_BERLUBANG as REPORT
from tests.support.settings import FakeClock, test_settings
from tests.support.tokens import (
    ADMIN_BALIKPAPAN,
    ADMIN_KALTIM,
    ADMIN_KEPRI,
    ADMIN_SAMARINDA,
    AUDITOR,
    BALIKPAPAN,
    KEPRI,
    LIAISON_KALTIM,
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


# ------------------------------------------------------------------------------------------------ worlds

@dataclass
class World:
    """Tables under one prefix, services wired to them, a clock, and the API and pump to drive them."""

    services: Services
    clock: FakeClock
    api: Api
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    end: datetime | None = None

    def install(self) -> World:
        use_services(self.services)
        return self

    def pump(self) -> int:
        import app as app_module

        return StreamPump(boto3.client("dynamodb"), boto3.client("dynamodbstreams"),
                          self.services.settings.table_names["events"],
                          deliver=lambda event: app_module.project_events(event, None)).drain()

    def submit(self, name: str, **overrides: Any) -> str:
        self.clock.advance(minutes=1)
        created = body_of(self.api.post("/reports", REPORT | overrides), 201)
        self.ids[name], self.tokens[name] = created["report_id"], created["access_token"]
        return created["report_id"]

    def do(self, name: str, action: str, body: dict[str, Any], *, token: str | None = None,
           as_reporter: bool = False) -> dict[str, Any]:
        self.clock.advance(minutes=1)
        who = {"report_token": self.tokens[name]} if as_reporter else {"token": token}
        return body_of(self.api.post(f"/reports/{self.ids[name]}/{action}", body, **who), 200)

    def verify(self, name: str, institution: str = SAMARINDA, **extra: Any) -> None:
        self.do(name, "verification", {"institution_id": institution} | extra, token=NASIONAL)

    def get(self, path: str, token: str | None = None, **who: str) -> Any:
        return self.api.get(path, token=token, **who)

    def names(self, rows: list[dict[str, Any]]) -> list[str]:
        by_id = {report_id: name for name, report_id in self.ids.items()}
        return [by_id[row["report_id"]] for row in rows]


_prefixes = itertools.count(1)


@pytest.fixture(scope="module")
def api():
    """One moto mock and one Chalice test client for the whole module; worlds live side by side in it."""
    with mock_aws():
        import app as app_module

        with Client(app_module.app) as client:
            yield Api(client)
        use_services(None)


def make_world(api: Api, start: datetime = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) -> World:
    prefix = f"rm{next(_prefixes)}"
    create_tables(boto3.client("dynamodb"), prefix)
    clock = FakeClock(start)
    return World(build_services(test_settings(table_prefix=prefix), clock=clock), clock, api).install()


@pytest.fixture
def new_world(api):
    yield lambda **kwargs: make_world(api, **kwargs)
    use_services(None)


def shared(world: World):
    """Use a module world in one test: installed, its clock back where the world was left."""
    world.install()
    world.clock.now = world.end
    yield world
    world.clock.now = world.end
    use_services(None)


# ------------------------------------------------------------------------------------------------ the queue world

def build_queue_world(api: Api) -> World:
    """Thirteen reports in every queue-relevant state, built over Monday–Wednesday 2–4 March 2026.

    Samarinda deadlines (WITA, 17:00 = 09:00Z): a1 verification Thu 5; d1, c1 first follow-up Mon 9; u1, c2
    and the reopened e1 Tue 10; u2 Wed 11; p1 (followed up) resolution Tue 31 March.
    """
    w = make_world(api)
    for name, overrides in (
            ("n1", {}), ("n2", {}), ("a1", {"institution_id": SAMARINDA}), ("d1", {}), ("u1", {}),
            ("u2", {"category_id": DRAINASE, "title": "Drainase tersumbat"}), ("p1", {}),
            ("r1", {"region_code": "64.71"}), ("e1", {"reporter": SITI}), ("c1", {}),
            ("c2", {"confidential": True}), ("x1", {"title": "Promo pinjol"}),
            ("k1", {"region_code": "21.71", "anonymous": True, "reporter": SITI})):
        w.submit(name, **overrides)
    # Monday
    w.do("n2", "hold", {"question": "Di ruas jalan mana tepatnya?"}, token=NASIONAL)
    w.do("x1", "archive", {"reason": "spam"}, token=NASIONAL)
    w.verify("d1")
    w.verify("c1", confidential=True)  # the verifier adds confidentiality
    w.verify("k1", KEPRI)
    w.verify("r1", BALIKPAPAN)
    w.do("r1", "return", {"reason": "Jalan provinsi, bukan kewenangan kota."}, token=ADMIN_BALIKPAPAN)
    # Tuesday
    w.clock.now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    w.verify("u1")
    w.do("u1", "assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA)
    w.verify("c2")
    w.verify("e1")
    w.do("e1", "follow-ups", {"message": "Sudah ditambal.", "final": True}, token=ADMIN_SAMARINDA)
    w.do("e1", "objection", {"reason": "Lubangnya masih ada."}, as_reporter=True)
    w.do("e1", "ombudsman-escalation", {"reason": "Jawaban tidak sesuai kenyataan."}, as_reporter=True)
    # Wednesday
    w.clock.now = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    w.verify("u2")
    w.do("u2", "assignment", {"unit_id": "dinas-kominfo"}, token=ADMIN_SAMARINDA)
    w.verify("p1")
    w.do("p1", "assignment", {"unit_id": "dinas-pupr"}, token=ADMIN_SAMARINDA)
    w.do("p1", "follow-ups", {"message": "Tim sudah survei lokasi."}, token=LIAISON_PUPR)
    assert w.pump() == 33
    w.end = w.clock.now
    return w


@pytest.fixture(scope="module")
def queue_world_built(api) -> World:
    return build_queue_world(api)


@pytest.fixture
def world(queue_world_built):
    yield from shared(queue_world_built)


def pages(world: World, path: str, token: str | None = None, limit: int = 3) -> list[list[dict[str, Any]]]:
    """Follow next_cursor to the end; every page is one request."""
    found, cursor = [], None
    separator = "&" if "?" in path else "?"
    for _ in range(20):
        url = f"{path}{separator}limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        page = body_of(world.get(url, token), 200)
        found.append(page["reports"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


def queue(world: World, token: str, query: str = "") -> list[dict[str, Any]]:
    return [row for page in pages(world, "/queue" + query, token, limit=100) for row in page]


# ------------------------------------------------------------------------------------------------ queues: scope

def test_the_national_admin_queue_holds_unaddressed_unverified_and_returned_reports(world):
    rows = queue(world, NASIONAL)

    names = world.names(rows)
    assert sorted(names[:2]) == ["n1", "n2"] and names[2:] == ["r1"]  # n1, n2 share a deadline
    assert {row["status"] for row in rows} == {"submitted", "on_hold", "returned"}
    returned = rows[-1]
    assert (returned["handling_bucket"], returned["institution_id"]) == ("belum_ditindaklanjuti", BALIKPAPAN)


def test_an_institution_admin_queue_holds_its_institutions_reports_including_those_addressed_to_it(world):
    rows = queue(world, ADMIN_SAMARINDA)

    assert sorted(world.names(rows)) == ["a1", "c1", "c2", "d1", "e1", "p1", "u1", "u2"]
    assert world.names(rows)[0] == "a1" and world.names(rows)[-1] == "p1"
    assert rows[0]["status"] == "submitted" and rows[0]["institution_id"] is None  # addressed, not yet verified
    assert world.names(queue(world, ADMIN_KEPRI)) == ["k1"]
    assert queue(world, ADMIN_KALTIM) == []  # the province is not its cities


def test_a_liaison_queue_holds_only_its_own_units_reports(world):
    assert sorted(world.names(queue(world, LIAISON_PUPR))) == ["p1", "u1"]
    assert world.names(queue(world, LIAISON_KOMINFO)) == ["u2"]
    assert queue(world, LIAISON_KALTIM) == []


def test_the_ombudsman_queue_holds_the_escalated_reports(world):
    rows = queue(world, OMBUDSMAN)

    assert world.names(rows) == ["e1"]
    assert rows[0]["escalated_to_ombudsman"] is True and rows[0]["status"] == "in_progress"


def test_archived_reports_are_in_no_queue(world):
    everyone = [NASIONAL, ADMIN_SAMARINDA, ADMIN_BALIKPAPAN, ADMIN_KEPRI, LIAISON_PUPR, LIAISON_KOMINFO, OMBUDSMAN]
    assert all("x1" not in world.names(queue(world, token)) for token in everyone)


@pytest.mark.parametrize("who", ["supervisor", "auditor", "public", "reporter"])
def test_roles_without_a_work_queue_are_refused(world, who):
    credentials = {"supervisor": {"token": SUPERVISOR}, "auditor": {"token": AUDITOR}, "public": {},
                   "reporter": {"report_token": world.tokens["d1"]}}[who]

    error_of(world.get("/queue", **credentials), 403, "forbidden")


# ---------------------------------------------------------------------------------------- queues: order, filters

def test_a_queue_is_ordered_by_the_nearest_deadline(world):
    rows = queue(world, ADMIN_SAMARINDA)
    due = {name: row["next_due"] for name, row in zip(world.names(rows), rows)}

    assert [row["next_due"] for row in rows] == sorted(row["next_due"] for row in rows)
    assert due == {"a1": "2026-03-05T09:00:00.000Z", "d1": "2026-03-09T09:00:00.000Z",
                   "c1": "2026-03-09T09:00:00.000Z", "u1": "2026-03-10T09:00:00.000Z",
                   "c2": "2026-03-10T09:00:00.000Z", "e1": "2026-03-10T09:00:00.000Z",
                   "u2": "2026-03-11T09:00:00.000Z", "p1": "2026-03-31T09:00:00.000Z"}
    assert all(row["overdue"] is False for row in rows)


def test_a_queue_can_be_filtered_by_handling_bucket(world):
    by_bucket = {bucket: sorted(world.names(queue(world, ADMIN_SAMARINDA, f"?bucket={bucket}")))
                 for bucket in ("belum_diverifikasi", "belum_ditindaklanjuti", "dalam_proses", "selesai")}

    assert by_bucket == {"belum_diverifikasi": ["a1"], "belum_ditindaklanjuti": ["c1", "c2", "d1", "u1", "u2"],
                         "dalam_proses": ["e1", "p1"], "selesai": []}
    assert sorted(world.names(queue(world, NASIONAL, "?bucket=belum_diverifikasi"))) == ["n1", "n2"]
    assert world.names(queue(world, LIAISON_PUPR, "?bucket=dalam_proses")) == ["p1"]


@pytest.mark.parametrize(("token", "query"), [(ADMIN_SAMARINDA, "?bucket=arsip"), (ADMIN_SAMARINDA, "?bucket="),
                                              (OMBUDSMAN, "?bucket=dalam_proses"),
                                              (ADMIN_SAMARINDA, "?overdue=yes")])
def test_an_unknown_bucket_or_overdue_value_is_refused(world, token, query):
    error_of(world.get("/queue" + query, token), 422, "validation_failed")


def test_the_overdue_filter_follows_the_clock(world):
    assert queue(world, ADMIN_SAMARINDA, "?overdue=true") == []

    world.clock.now = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # Friday: a1's verification (Thursday) was missed
    friday = queue(world, ADMIN_SAMARINDA, "?overdue=true")
    national = queue(world, NASIONAL, "?overdue=true")
    world.clock.now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # Tuesday 20:00 WITA
    tuesday = queue(world, ADMIN_SAMARINDA, "?overdue=true")
    everything = queue(world, ADMIN_SAMARINDA)

    assert world.names(friday) == ["a1"] and friday[0]["overdue"] is True
    assert sorted(world.names(national)) == ["n1", "n2"]  # r1 waits on Balikpapan's Monday 9 deadline
    assert sorted(world.names(tuesday)) == ["a1", "c1", "c2", "d1", "e1", "u1"]
    assert {name: row["overdue"] for name, row in zip(world.names(everything), everything)} == {
        "a1": True, "d1": True, "c1": True, "u1": True, "c2": True, "e1": True, "u2": False, "p1": False}
    assert world.names(queue(world, ADMIN_SAMARINDA, "?overdue=true&bucket=dalam_proses")) == ["e1"]


# ---------------------------------------------------------------------------------------- queues: pages, cursors

def test_pages_of_a_queue_follow_each_other_without_duplicates_or_gaps(world):
    found = pages(world, "/queue", ADMIN_SAMARINDA, limit=3)
    rows = [row for page in found for row in page]

    assert [len(page) for page in found][:3] == [3, 3, 2] and all(page == [] for page in found[3:])
    assert len(rows) == len({row["report_id"] for row in rows}) == 8
    assert rows == queue(world, ADMIN_SAMARINDA)  # the same order as one big page
    singles = [row for page in pages(world, "/queue", ADMIN_SAMARINDA, limit=1) for row in page]
    assert singles == rows


def test_pages_of_a_filtered_queue_follow_each_other_too(world):
    rows = [row for page in pages(world, "/queue?bucket=belum_ditindaklanjuti", ADMIN_SAMARINDA, limit=2)
            for row in page]

    assert sorted(world.names(rows)) == ["c1", "c2", "d1", "u1", "u2"]
    assert len(rows) == 5


def first_cursor(world: World, path: str, token: str | None = None) -> str:
    separator = "&" if "?" in path else "?"
    cursor = body_of(world.get(f"{path}{separator}limit=1", token), 200)["next_cursor"]
    assert cursor
    return cursor


def test_a_tampered_cursor_is_refused(world):
    cursor = first_cursor(world, "/queue", ADMIN_SAMARINDA)
    body, _, signature = cursor.partition(".")
    start = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    start["report_id"] = {"S": world.ids["p1"]}  # jump ahead
    forged_body = base64.urlsafe_b64encode(json.dumps(start).encode()).decode().rstrip("=")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")

    for bad in (f"{forged_body}.{signature}", f"{body}.{flipped}", body, "not-a-cursor", f"{body}."):
        problem = error_of(world.get(f"/queue?cursor={quote(bad)}", ADMIN_SAMARINDA), 422, "validation_failed")
        assert problem["details"]["field"] == "cursor"


@pytest.mark.parametrize(("origin", "reuse"), [
    (("/queue?bucket=belum_ditindaklanjuti", ADMIN_SAMARINDA), ("/queue", ADMIN_SAMARINDA)),
    (("/queue", ADMIN_SAMARINDA), ("/queue?bucket=belum_ditindaklanjuti", ADMIN_SAMARINDA)),
    (("/queue", ADMIN_SAMARINDA), ("/queue", ADMIN_BALIKPAPAN)),
    (("/queue", NASIONAL), ("/queue", ADMIN_SAMARINDA)),
    (("/queue", LIAISON_PUPR), ("/queue", LIAISON_KOMINFO)),
    (("/queue", ADMIN_SAMARINDA), ("/queue?overdue=true", ADMIN_SAMARINDA)),
    (("/public/reports", None), ("/queue", ADMIN_SAMARINDA)),
    (("/public/reports", None), ("/public/reports?region=64", None)),
], ids=["bucket to all", "all to bucket", "other institution", "other role", "other unit", "overdue",
        "public to queue", "public filter"])
def test_a_cursor_only_continues_the_query_it_came_from(world, origin, reuse):
    cursor = first_cursor(world, *origin)
    path, token = reuse
    separator = "&" if "?" in path else "?"

    error_of(world.get(f"{path}{separator}cursor={quote(cursor)}", token), 422, "validation_failed")


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "2.5", ""])
def test_a_page_size_outside_1_to_100_is_refused(world, limit):
    error_of(world.get(f"/queue?limit={limit}", ADMIN_SAMARINDA), 422, "validation_failed")
    error_of(world.get(f"/public/reports?limit={limit}"), 422, "validation_failed")


def test_page_sizes_of_1_and_100_are_accepted(world):
    assert len(body_of(world.get("/queue?limit=1", ADMIN_SAMARINDA), 200)["reports"]) == 1
    assert len(body_of(world.get("/queue?limit=100", ADMIN_SAMARINDA), 200)["reports"]) == 8


# ------------------------------------------------------------------------------------------------ the public list

def public(world: World, query: str = "") -> list[dict[str, Any]]:
    return [row for page in pages(world, "/public/reports" + query, limit=100) for row in page]


def test_the_public_list_shows_only_verified_non_confidential_reports_newest_first(world):
    rows = public(world)

    assert world.names(rows) == ["k1", "e1", "r1", "p1", "u2", "u1", "d1"]  # reverse order of submission
    assert [row["submitted_at"] for row in rows] == sorted((row["submitted_at"] for row in rows), reverse=True)


def test_unverified_archived_and_confidential_reports_never_appear_publicly(world):
    names = world.names(public(world))
    for filtered in ("?region=64", "?region=64.72", f"?institution={SAMARINDA}", f"?category={JALAN}"):
        names += world.names(public(world, filtered))

    assert not {"n1", "n2", "a1", "x1"} & set(names)  # unverified, on hold, addressed, archived
    assert "c1" not in names  # made confidential by the verifier
    assert "c2" not in names  # confidential from the start, verified since


def test_public_rows_are_anonymised(world):
    rows = public(world)
    anonymous = rows[world.names(rows).index("k1")]

    assert all(set(row) == {"report_id", "title", "status", "bucket", "report_type", "category_id", "region_code",
                            "institution_id", "submitted_at"} for row in rows)
    text = json.dumps(rows)
    assert "Siti" not in text and "siti.rahma" not in text and "reporter_ref" not in text
    assert "anonymous" not in anonymous and anonymous["institution_id"] == KEPRI


@pytest.mark.parametrize(("query", "expected"), [
    ("?region=64", ["e1", "r1", "p1", "u2", "u1", "d1"]),
    ("?region=64.72", ["e1", "p1", "u2", "u1", "d1"]),
    ("?region=64.71", ["r1"]),
    ("?region=21", ["k1"]),
    ("?region=21.71", ["k1"]),
    ("?region=31", []),
    (f"?institution={SAMARINDA}", ["e1", "p1", "u2", "u1", "d1"]),
    (f"?institution={BALIKPAPAN}", ["r1"]),
    (f"?category={DRAINASE}", ["u2"]),
    (f"?category={JALAN}", ["k1", "e1", "r1", "p1", "u1", "d1"]),
], ids=lambda value: value if isinstance(value, str) else None)
def test_the_public_list_filters_by_province_kabupaten_kota_institution_or_category(world, query, expected):
    assert world.names(public(world, query)) == expected


def test_pages_of_the_public_list_follow_each_other_without_duplicates_or_gaps(world):
    found = pages(world, "/public/reports", limit=2)
    rows = [row for page in found for row in page]

    assert [len(page) for page in found][:4] == [2, 2, 2, 1]
    assert rows == public(world)


@pytest.mark.parametrize("query", [f"?region=64&institution={SAMARINDA}", f"?region=64&category={JALAN}",
                                   f"?institution={SAMARINDA}&category={JALAN}"])
def test_filtering_the_public_list_by_two_things_at_once_is_refused(world, query):
    error_of(world.get("/public/reports" + query), 422, "validation_failed")


@pytest.mark.parametrize(("query", "code"), [("?region=99.99", "unknown_region"), ("?region=ID", "unknown_region"),
                                             ("?institution=pemkot-atlantis", "unknown_institution"),
                                             ("?category=infrastruktur.jembatan-emas", "unknown_category")])
def test_filtering_the_public_list_by_something_unknown_is_refused(world, query, code):
    error_of(world.get("/public/reports" + query), 422, code)


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


# ------------------------------------------------------------------------------------------------ the statistics world

def build_stats_world(api: Api) -> World:
    """Samarinda: three reports in March 2026 (one closed after answering the same day, one in progress, one
    waiting) and one in April; Balikpapan: one closed, first answered eight working days after submission;
    one archived spam. Samarinda's supervisor assessment for 2026: SK yes, Renaksi yes, quality no."""
    w = make_world(api)
    w.submit("fast", reporter=SITI)
    w.submit("busy", category_id=DRAINASE, title="Drainase tersumbat")
    w.submit("waiting")
    w.submit("slow", region_code="64.71")
    w.submit("spam", title="Promo pinjol")
    w.do("spam", "archive", {"reason": "spam"}, token=NASIONAL)
    for name in ("fast", "busy", "waiting"):
        w.verify(name)
    w.verify("slow", BALIKPAPAN)
    w.do("fast", "follow-ups", {"message": "Sudah ditambal.", "final": True}, token=ADMIN_SAMARINDA)
    w.do("fast", "acceptance", {"rating": 5}, as_reporter=True)
    w.do("busy", "follow-ups", {"message": "Dijadwalkan pekan depan."}, token=ADMIN_SAMARINDA)
    # Balikpapan answers on Thursday 12 March: 3, 4, 5, 6, 9, 10, 11, 12 March = 8 working days.
    w.clock.now = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)
    w.do("slow", "follow-ups", {"message": "Sudah diperbaiki.", "final": True}, token=ADMIN_BALIKPAPAN)
    w.do("slow", "acceptance", {"rating": 4}, as_reporter=True)
    w.clock.now = datetime(2026, 4, 7, 2, 0, tzinfo=UTC)
    w.submit("april")
    w.verify("april")
    body_of(w.api.post(f"/institutions/{SAMARINDA}/indicators",
                       {"year": 2026, "has_sk": True, "has_renaksi": True, "follow_up_quality": False},
                       token=SUPERVISOR_KALTIM), 201)
    w.pump()
    w.end = w.clock.now
    return w


@pytest.fixture(scope="module")
def stats_world_built(api) -> World:
    return build_stats_world(api)


@pytest.fixture
def sw(stats_world_built):
    yield from shared(stats_world_built)


def stats(world: World, path: str) -> dict[str, Any]:
    return body_of(world.get(path), 200)


def test_region_figures_for_a_month_a_quarter_and_a_year(sw):
    march = stats(sw, "/stats/regions/64.72?period=2026-03")
    april = stats(sw, "/stats/regions/64.72?period=2026-04")
    q1, q2 = stats(sw, "/stats/regions/64.72?period=2026-Q1"), stats(sw, "/stats/regions/64.72?period=2026-Q2")
    year = stats(sw, "/stats/regions/64.72?period=2026")

    assert march["region"] == {"code": "64.72", "name": "Kota Samarinda", "level": "city"}
    assert march["period"] == "2026-03"
    assert march["figures"]["received"] == 3 and march["figures"]["archived"] == 1
    assert march["figures"]["buckets"] == {"belum_diverifikasi": 0, "belum_ditindaklanjuti": 1, "dalam_proses": 1,
                                           "selesai": 1}
    assert (march["figures"]["completion_rate"], march["figures"]["follow_up_rate"]) == (33.33, 66.67)
    assert march["figures"]["follow_up_speed_working_days"] == 0.0
    assert march["figures"]["by_category"] == {DRAINASE: 1, JALAN: 2}
    assert march["figures"]["by_channel"] == {"web": 3}
    assert april["figures"]["received"] == 1 and april["figures"]["buckets"]["belum_ditindaklanjuti"] == 1
    assert q1["figures"] == march["figures"] and q2["figures"] == april["figures"]
    assert year["figures"]["received"] == 4 and year["figures"]["completion_rate"] == 25.0


def test_a_province_counts_its_kabupaten_kota_and_the_nation_counts_everything(sw):
    kaltim = stats(sw, "/stats/regions/64?period=2026")["figures"]
    nation = stats(sw, "/stats/regions/ID?period=2026")

    assert kaltim["received"] == 5 and kaltim["buckets"]["selesai"] == 2 and kaltim["archived"] == 1
    assert kaltim["follow_up_speed_working_days"] == round((0 + 0 + 8) / 3, 1)
    assert nation["region"] == {"code": "ID", "name": "Indonesia", "level": "national"}
    assert nation["figures"] == kaltim
    assert stats(sw, "/stats/regions/21?period=2026")["figures"]["received"] == 0
    assert stats(sw, "/stats/regions/64?period=2025")["figures"]["completion_rate"] is None


def test_the_default_period_is_the_current_year(sw):
    assert stats(sw, "/stats/regions/64.72")["period"] == "2026"
    assert stats(sw, "/stats/regions/64.72")["figures"] == stats(sw, "/stats/regions/64.72?period=2026")["figures"]


def test_statistics_of_an_unknown_region_are_not_found(sw):
    error_of(sw.get("/stats/regions/99"), 404, "not_found")
    error_of(sw.get("/stats/regions/64.99?period=2026"), 404, "not_found")


@pytest.mark.parametrize("period", ["26", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "2026-3", "2026-q1", "1999",
                                    "2026-03-01", "2026/03", "this-year", ""])
def test_a_malformed_period_is_refused(sw, period):
    for path in ("/stats/regions/64", f"/stats/institutions/{SAMARINDA}", "/rankings"):
        separator = "&" if "?" in path else "?"
        problem = error_of(sw.get(f"{path}{separator}period={quote(period)}"), 422, "validation_failed")
        assert problem["details"]["field"] == "period"


def test_institution_figures_come_with_the_supervisors_indicators_for_that_year(sw):
    samarinda = stats(sw, f"/stats/institutions/{SAMARINDA}?period=2026-Q1")
    balikpapan = stats(sw, f"/stats/institutions/{BALIKPAPAN}?period=2026")

    assert samarinda["institution"] == {"id": SAMARINDA, "name": samarinda["institution"]["name"],
                                        "region_code": "64.72"}
    assert samarinda["figures"]["received"] == 3 and samarinda["figures"]["completion_rate"] == 33.33
    indicators = samarinda["indicators"]
    assert {k: indicators[k] for k in ("institution_id", "year", "has_sk", "has_renaksi", "follow_up_quality")} == {
        "institution_id": SAMARINDA, "year": 2026, "has_sk": True, "has_renaksi": True, "follow_up_quality": False}
    assert indicators["recorded_by"]["role"] == "supervisor"
    assert stats(sw, f"/stats/institutions/{SAMARINDA}?period=2025")["indicators"] is None
    assert balikpapan["indicators"] is None
    assert balikpapan["figures"]["follow_up_speed_working_days"] == 8.0
    assert balikpapan["figures"]["completion_rate"] == 100.0


def test_statistics_of_an_unknown_institution_are_not_found(sw):
    error_of(sw.get("/stats/institutions/pemkot-atlantis?period=2026"), 404, "not_found")


def test_a_report_the_sweep_reminded_counts_overdue_until_the_institution_answers(new_world):
    from chalicelib.services.sweep import sweep

    world = new_world()
    world.submit("late")
    world.verify("late")  # Monday 2 March: first follow-up due Monday 9 March 17:00 WITA
    world.pump()
    world.clock.now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    recorded = sweep(world.services, world.clock()).recorded
    world.pump()

    assert recorded == {"ReminderSent": 1}
    figures = stats(world, "/stats/institutions/pemkot-samarinda?period=2026-03")["figures"]
    assert figures["overdue"] == 1 and stats(world, "/stats/regions/ID?period=2026")["figures"]["overdue"] == 1
    steps = body_of(world.get(f"/reports/{world.ids['late']}/timeline", OMBUDSMAN), 200)["steps"]
    assert [step["flags"] for step in steps] == [[], [], ["reminder"]]
    assert steps[-1]["by"] == {"role": "system", "user_id": "lapor-system"}

    world.do("late", "follow-ups", {"message": "Sudah ditambal.", "final": True}, token=ADMIN_SAMARINDA)
    world.pump()

    figures = stats(world, "/stats/institutions/pemkot-samarinda?period=2026-03")["figures"]
    assert figures["overdue"] == 0 and figures["buckets"]["dalam_proses"] == 1
    assert figures["follow_up_speed_working_days"] == 6.0  # 3, 4, 5, 6, 9, 10 March


INDICATORS = {"year": 2026, "has_sk": True, "has_renaksi": False, "follow_up_quality": True}


@pytest.mark.parametrize("token", [NASIONAL, ADMIN_SAMARINDA, OMBUDSMAN, AUDITOR, LIAISON_PUPR, None],
                         ids=["admin_nasional", "admin_instansi", "ombudsman", "auditor", "liaison", "public"])
def test_only_a_supervisor_records_indicators(sw, token):
    error_of(sw.api.post(f"/institutions/{BALIKPAPAN}/indicators", INDICATORS, token=token), 403, "forbidden")


def test_a_supervisor_records_indicators_only_within_their_province(sw):
    error_of(sw.api.post(f"/institutions/{SAMARINDA}/indicators", INDICATORS, token=SUPERVISOR_KEPRI), 403,
             "forbidden")


def test_indicators_of_an_unknown_institution_are_refused(sw):
    error_of(sw.api.post("/institutions/pemkot-atlantis/indicators", INDICATORS, token=SUPERVISOR), 422,
             "unknown_institution")


@pytest.mark.parametrize("body", [INDICATORS | {"year": 2014}, INDICATORS | {"year": "2026"},
                                  {k: v for k, v in INDICATORS.items() if k != "has_sk"},
                                  INDICATORS | {"has_renaksi": "ya"}])
def test_malformed_indicators_are_refused(sw, body):
    error_of(sw.api.post(f"/institutions/{BALIKPAPAN}/indicators", body, token=SUPERVISOR), 422)


def test_recorded_indicators_appear_once_projected_and_the_latest_assessment_counts(new_world):
    world = new_world()
    path = f"/institutions/{BALIKPAPAN}/indicators"
    first = body_of(world.api.post(path, INDICATORS, token=SUPERVISOR_KALTIM), 201)
    world.pump()
    assert first["institution_id"] == BALIKPAPAN and first["version"] == 1

    shown = stats(world, f"/stats/institutions/{BALIKPAPAN}?period=2026-05")["indicators"]
    assert (shown["has_sk"], shown["has_renaksi"], shown["follow_up_quality"]) == (True, False, True)

    body_of(world.api.post(path, INDICATORS | {"has_renaksi": True}, token=SUPERVISOR), 201)
    world.pump()
    assert stats(world, f"/stats/institutions/{BALIKPAPAN}?period=2026")["indicators"]["has_renaksi"] is True
    assert stats(world, f"/stats/institutions/{BALIKPAPAN}?period=2027")["indicators"] is None


# ------------------------------------------------------------------------------------------------ rankings

def ranking(world: World, query: str) -> list[dict[str, Any]]:
    return stats(world, "/rankings" + query)["ranking"]


def test_provinces_rank_by_completion_rate(sw):
    rows = ranking(sw, "?level=province&period=2026")

    assert rows[0]["code"] == "64" and rows[0]["rank"] == 1
    assert rows[0]["figures"]["completion_rate"] == 40.0  # 2 of 5
    assert [row["rank"] for row in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 38 and all(row["figures"]["completion_rate"] is None for row in rows[1:])
    assert [row["code"] for row in rows[1:]] == sorted(row["code"] for row in rows[1:])  # no figures: by code
    assert stats(sw, "/rankings?period=2026")["level"] == "province"


def test_the_kabupaten_kota_of_a_province_rank_by_completion_rate(sw):
    rows = ranking(sw, "?level=regency&province=64&period=2026-03")
    top = [(row["code"], row["figures"]["completion_rate"], row["figures"]["follow_up_speed_working_days"])
           for row in rows[:2]]

    # Balikpapan 1 of 1 closed (100 %); Samarinda 1 of 3 (33.33 %).
    assert top == [("64.71", 100.0, 8.0), ("64.72", 33.33, 0.0)]
    assert {row["code"] for row in rows} == {"64.01", "64.02", "64.03", "64.07", "64.08", "64.09", "64.11",
                                             "64.71", "64.72", "64.74"}


def test_institutions_with_the_same_completion_rate_rank_faster_first(new_world):
    world = new_world()
    world.submit("samarinda")
    world.submit("balikpapan", region_code="64.71")
    world.verify("samarinda")
    world.verify("balikpapan", BALIKPAPAN)
    world.do("samarinda", "follow-ups", {"message": "Selesai.", "final": True}, token=ADMIN_SAMARINDA)
    world.do("samarinda", "acceptance", {"rating": 5}, as_reporter=True)
    world.clock.now = datetime(2026, 3, 12, 2, 0, tzinfo=UTC)
    world.do("balikpapan", "follow-ups", {"message": "Selesai.", "final": True}, token=ADMIN_BALIKPAPAN)
    world.do("balikpapan", "acceptance", {"rating": 3}, as_reporter=True)
    world.pump()

    for query, codes in (("?level=institution&province=64&period=2026", [SAMARINDA, BALIKPAPAN]),
                         ("?level=regency&province=64&period=2026", ["64.72", "64.71"])):
        rows = ranking(world, query)
        assert [row["code"] for row in rows[:2]] == codes, query  # the slower one has the smaller code
        assert [row["figures"]["completion_rate"] for row in rows[:2]] == [100.0, 100.0]
        assert [row["figures"]["follow_up_speed_working_days"] for row in rows[:2]] == [0.0, 8.0]


def test_ranking_institutions_of_a_province_lists_only_its_institutions(sw):
    rows = ranking(sw, "?level=institution&province=64&period=2026")

    assert {row["code"] for row in rows} == {"pemprov-kaltim", SAMARINDA, BALIKPAPAN, "pemkab-kutai-timur"}
    assert [row["code"] for row in rows[:2]] == [BALIKPAPAN, SAMARINDA]
    national = ranking(sw, "?level=institution&period=2026")
    assert len(national) == 20 and national[0]["code"] == BALIKPAPAN


def test_the_composite_score_follows_the_documented_formula(sw):
    rows = {row["code"]: row for row in ranking(sw, "?level=institution&province=64&period=2026")}
    samarinda, balikpapan = rows[SAMARINDA], rows[BALIKPAPAN]

    # 50 × completion + 20 × speed score (full at ≤ 5 WD, else 5 / speed) + 10 per indicator met.
    assert samarinda["composite_score"] == round(50 * 0.25 + 20 * 1.0 + 10 * 2, 2) == 52.5
    assert balikpapan["composite_score"] == round(50 * 1.0 + 20 * 5 / 8, 2) == 62.5
    assert rows["pemprov-kaltim"]["composite_score"] == 0.0
    assert samarinda["indicators"]["has_sk"] is True and balikpapan["indicators"] is None
    for row in rows.values():
        assert row["composite_score"] == composite_score(row["figures"], row["indicators"])
    regency = {row["code"]: row for row in ranking(sw, "?level=regency&province=64&period=2026")}
    assert regency["64.72"]["institution_id"] == SAMARINDA
    assert regency["64.72"]["composite_score"] == samarinda["composite_score"]


def test_composite_score_edges():
    none = {"completion_rate": None, "follow_up_speed_working_days": None}
    assert composite_score(none, None) == 0.0
    assert composite_score({"completion_rate": 100.0, "follow_up_speed_working_days": 5.0},
                           {"has_sk": True, "has_renaksi": True, "follow_up_quality": True}) == 100.0
    assert composite_score({"completion_rate": 99.27, "follow_up_speed_working_days": 26.1}, None) == round(
        50 * 0.9927 + 20 * 5 / 26.1, 2)


@pytest.mark.parametrize(("query", "field_name"), [("?level=regency&period=2026", "province"),
                                                   ("?level=kecamatan&period=2026", "level"),
                                                   ("?level=regency&province=64.72&period=2026", "province")])
def test_a_ranking_that_cannot_be_drawn_is_refused(sw, query, field_name):
    problem = error_of(sw.get("/rankings" + query), 422, "validation_failed")
    assert problem["details"]["field"] == field_name


def test_ranking_the_kabupaten_kota_of_an_unknown_province_is_not_found(sw):
    error_of(sw.get("/rankings?level=regency&province=99&period=2026"), 404, "not_found")
