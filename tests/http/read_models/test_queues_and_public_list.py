"""Work queues (scope, order, filters, pages, cursors) and the public list over HTTP.

The worlds are in tests/http/read_models/conftest.py.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.api import Api, body_of, error_of
from tests.support.builders import DRAINASE, JALAN, SITI
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
)

UTC = timezone.utc


from tests.http.read_models.conftest import World, make_world, shared  # noqa: F401

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
