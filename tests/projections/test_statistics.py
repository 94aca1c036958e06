"""Statistics (DOMAIN §8): the pure fold/contribution/difference/figures, then the counters under real
delivery semantics on both twins (InMemoryCounters and DynamoDBCounters on moto).

The pure part drives single histories made of stored events (chain_events), with instants chosen to sit on
the edges that matter: a local date that is not the UTC date, a weekend, the Nyepi/Idul Fitri break of
18–24 March 2026. The contract part builds four interleaved reports through the real command handler and
delivers their events cleanly, twice, with a failure half-way through a batch, and in other interleavings:
the counters must come out identical every time, on both twins.
"""
from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

import pytest

from chalicelib.auth import hash_token
from chalicelib.clock import iso
from chalicelib.domain import commands as c
from chalicelib.domain.report import ReportState
from chalicelib.domain.working_days import default_calendar
from chalicelib.reference import load_reference
from chalicelib.services.handlers import CommandHandler
from chalicelib.store.base import Append, chain_events
from chalicelib.store.memory import InMemoryEventStore
from events import report as e
from events.base import SYSTEM, Actor, StoredEvent
from infra.tables import STATS, create_table
from projections.guard import OutOfOrder
from projections.report_view import HANDLING_BUCKETS
from projections.statistics import (
    NATIONAL,
    DynamoDBCounters,
    InMemoryCounters,
    ReportFacts,
    Statistics,
    contribution,
    difference,
    figures,
    fold,
    periods,
)
from tests.support import stories
from tests.support.builders import (
    DRAINASE,
    JALAN,
    KTP,
    VERIFICATION_DUE,
    submitted_event,
    verified_event,
    verify_command,
)
from tests.support.principals import BALIKPAPAN, NASIONAL, PUBLIC, PUPR_SAMARINDA, SAMARINDA
from tests.support.settings import FakeClock, test_settings

UTC = timezone.utc
REFERENCE = load_reference()
CALENDAR = default_calendar()
WITA = timezone(timedelta(hours=8))
WIB = timezone(timedelta(hours=7))

MARCH_2026 = ("2026", "2026-Q1", "2026-03")


# ------------------------------------------------------------------------------------------------ pure helpers

class Story:
    """One report's stored events, each at the instant given: the envelopes the store would hold."""

    def __init__(self, stream_id: str = "LAP-STATS00001") -> None:
        self.stream_id = stream_id
        self.events: list[StoredEvent] = []

    def at(self, when: datetime, event: e.DomainEvent, actor: Actor | None = None, channel: str = "web") -> Story:
        self.events += chain_events(self.stream_id, self.events[-1] if self.events else None, [event],
                                    actor=actor or NASIONAL.actor(), channel=channel, now=when,
                                    correlation_id=f"corr-{len(self.events) + 1}", causation_id=None)
        return self

    def facts(self) -> ReportFacts | None:
        return facts_of(self.events)

    def facts_along(self) -> list[ReportFacts]:
        facts, found = None, []
        for stored in self.events:
            facts = fold(facts, stored, REFERENCE, CALENDAR)
            found.append(facts)
        return found


def facts_of(events: Iterable[StoredEvent]) -> ReportFacts | None:
    facts = None
    for stored in events:
        facts = fold(facts, stored, REFERENCE, CALENDAR)
    return facts


def submitted(region: str = "64.72", category: str | None = JALAN, addressed: str | None = None,
              due: str = VERIFICATION_DUE) -> e.ReportSubmitted:
    return submitted_event(category_id=category, region_code=region, addressed_institution_id=addressed,
                           access_token_hash=hash_token("rpt_x"), verification_due=due)


def verified(institution: str = "pemkot-samarinda", category: str = JALAN) -> e.ReportVerified:
    return verified_event(institution_id=institution, category_id=category)


def reminder(clock: str, due: str = "2026-03-09T09:00:00.000Z") -> e.ReminderSent:
    return e.ReminderSent(clock=clock, level=1, due_at=due, recipient_role="admin_instansi",
                          recipient_institution_id="pemkot-samarinda")


FOLLOW_UP = e.FollowUpPosted(message="Tim sudah meninjau lokasi.")
ANSWER = e.ReportAnswered(message="Jalan sudah ditambal.", reply_due="2026-03-31T09:00:00.000Z")


def keys(scopes: Iterable[str], period_list: Iterable[str] = MARCH_2026) -> set[str]:
    return {f"{scope}#{period}" for scope in scopes for period in period_list}


MON_2_MARCH = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 WITA
SAMARINDA_SCOPES = ("region:64.72", "region:64", "region:ID")


# ------------------------------------------------------------------------------------------------ contribution

@pytest.mark.parametrize("status", sorted(HANDLING_BUCKETS))
def test_every_open_or_closed_status_counts_once_as_received_and_once_in_its_bucket(status):
    facts = ReportFacts(state=ReportState(
        report_id="LAP-STAT000001", version=3, status=status, region_code="64.72", institution_id="pemkot-samarinda",
        category_id=JALAN, channel="app", submitted_at="2026-03-02T02:00:00.000Z"), zone="WITA")

    counted = contribution(facts, CALENDAR)

    assert set(counted) == keys((*SAMARINDA_SCOPES, "institution:pemkot-samarinda"))
    expected = {"received": 1, f"b_{HANDLING_BUCKETS[status]}": 1, "ch#app": 1, f"cat#{JALAN}": 1}
    assert all(fields == expected for fields in counted.values())


def test_the_four_handling_buckets_are_those_of_domain_section_8():
    assert HANDLING_BUCKETS == {
        "submitted": "belum_diverifikasi", "on_hold": "belum_diverifikasi",
        "disposed": "belum_ditindaklanjuti", "assigned": "belum_ditindaklanjuti", "returned": "belum_ditindaklanjuti",
        "in_progress": "dalam_proses", "answered": "dalam_proses", "closed": "selesai"}


def test_a_report_that_does_not_exist_yet_contributes_nothing():
    assert contribution(None, CALENDAR) == {}
    assert contribution(ReportFacts(state=ReportState(report_id="LAP-STAT000001")), CALENDAR) == {}


def test_an_unaddressed_unverified_report_counts_for_its_regions_but_no_institution():
    facts = Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor()).facts()

    assert facts.status == "submitted" and facts.institution_id is None
    assert set(contribution(facts, CALENDAR)) == keys(SAMARINDA_SCOPES)


def test_an_sms_report_without_a_region_counts_nationally_by_channel_until_its_verifier_sets_the_region():
    story = Story().at(MON_2_MARCH, submitted(region="", category=None), actor=PUBLIC.actor(), channel="sms")
    before = contribution(story.facts(), CALENDAR)
    story.at(MON_2_MARCH + timedelta(hours=2), verified_event(institution_id="pemkot-samarinda", category_id=JALAN,
                                                              region_code="64.72"))
    after = contribution(story.facts(), CALENDAR)

    assert set(before) == keys(["region:ID"], ["2026", "2026-Q1", "2026-03"])
    assert all(fields["ch#sms"] == 1 for fields in before.values())
    assert set(after) == keys((*SAMARINDA_SCOPES, "institution:pemkot-samarinda"))
    assert story.facts().zone == "WITA"  # the region's zone, now that it is known
    moved = difference(after, before)
    assert moved["region:ID#2026"] == {"b_belum_diverifikasi": -1, "b_belum_ditindaklanjuti": 1, f"cat#{JALAN}": 1}
    assert moved["region:64.72#2026"]["received"] == 1 and moved["region:64.72#2026"]["ch#sms"] == 1


def test_a_report_addressed_to_an_institution_counts_for_it_from_submission():
    facts = Story().at(MON_2_MARCH, submitted(addressed="pemkot-samarinda"), actor=PUBLIC.actor()).facts()

    counted = contribution(facts, CALENDAR)

    assert set(counted) == keys((*SAMARINDA_SCOPES, "institution:pemkot-samarinda"))
    assert counted["institution:pemkot-samarinda#2026"]["b_belum_diverifikasi"] == 1


def test_an_archived_report_is_counted_apart_and_taken_out_of_received():
    story = Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
    before = story.facts()
    story.at(MON_2_MARCH + timedelta(hours=2), e.ReportArchived(reason="spam"))
    after = story.facts()

    assert after.status == "archived"
    assert contribution(after, CALENDAR) == {key: {"archived": 1} for key in keys(SAMARINDA_SCOPES)}
    delta = difference(contribution(after, CALENDAR), contribution(before, CALENDAR))
    assert delta == {key: {"received": -1, "b_belum_diverifikasi": -1, "ch#web": -1, f"cat#{JALAN}": -1,
                           "archived": 1} for key in keys(SAMARINDA_SCOPES)}
    # Added to what the submission had counted, only the archived count is left standing.
    region = "region:64.72#2026"
    counted = contribution(before, CALENDAR)[region]
    now_counted = {name: counted.get(name, 0) + delta[region].get(name, 0) for name in counted.keys() | delta[region]}
    assert now_counted == {"received": 0, "b_belum_diverifikasi": 0, "ch#web": 0, f"cat#{JALAN}": 0, "archived": 1}
    shown = figures(now_counted)
    assert (shown["received"], shown["archived"], shown["by_category"], shown["by_channel"]) == (0, 1, {}, {})
    assert shown["completion_rate"] is None


def test_a_return_leaves_the_returning_institution_and_re_disposition_counts_for_the_new_one():
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(MON_2_MARCH + timedelta(hours=1), verified("pemkot-balikpapan")))
    disposed = story.facts()
    story.at(MON_2_MARCH + timedelta(hours=2), e.ReportReturned(institution_id="pemkot-balikpapan",
                                                                 reason="Bukan wewenang kami."),
             actor=BALIKPAPAN.actor())
    returned = story.facts()
    story.at(MON_2_MARCH + timedelta(hours=3), e.ReportRedisposed(institution_id="pemkot-samarinda",
                                                                   previous_institution_id="pemkot-balikpapan"))
    redisposed = story.facts()

    # Bukan wewenang: the report was never Balikpapan's to handle, so it stops counting against it.
    assert (returned.status, returned.institution_id) == ("returned", None)
    assert (redisposed.status, redisposed.institution_id) == ("disposed", "pemkot-samarinda")
    counted = {"received": 1, "b_belum_ditindaklanjuti": 1, "ch#web": 1, f"cat#{JALAN}": 1}
    assert difference(contribution(returned, CALENDAR), contribution(disposed, CALENDAR)) == {
        key: {name: -value for name, value in counted.items()} for key in keys(["institution:pemkot-balikpapan"])}
    assert difference(contribution(redisposed, CALENDAR), contribution(returned, CALENDAR)) == {
        key: counted for key in keys(["institution:pemkot-samarinda"])}


def test_a_kabupaten_kota_report_counts_for_its_province_and_the_nation_too():
    samarinda = Story("LAP-S1").at(MON_2_MARCH, submitted("64.72"), actor=PUBLIC.actor()).facts()
    balikpapan = Story("LAP-S2").at(MON_2_MARCH, submitted("64.71"), actor=PUBLIC.actor()).facts()
    batam = Story("LAP-S3").at(MON_2_MARCH, submitted("21.71"), actor=PUBLIC.actor()).facts()
    province_level = Story("LAP-S4").at(MON_2_MARCH, submitted("64"), actor=PUBLIC.actor()).facts()

    totals: Counter[str] = Counter()
    for facts in (samarinda, balikpapan, batam, province_level):
        for key, fields in contribution(facts, CALENDAR).items():
            totals[key] += fields["received"]

    assert NATIONAL == "ID"
    assert {key: totals[key] for key in ("region:64.72#2026", "region:64.71#2026", "region:21.71#2026",
                                         "region:64#2026", "region:21#2026", "region:ID#2026")} == {
        "region:64.72#2026": 1, "region:64.71#2026": 1, "region:21.71#2026": 1,
        "region:64#2026": 3, "region:21#2026": 1, "region:ID#2026": 4}
    # A report filed against a province itself is counted once there, not twice.
    assert set(contribution(province_level, CALENDAR)) == keys(("region:64", "region:ID"))


# ------------------------------------------------------------------------------------------------ periods

def test_a_report_of_new_years_eve_in_samarinda_belongs_to_december_of_that_year():
    at = datetime(2025, 12, 31, 23, 30, tzinfo=WITA)
    assert iso(at) == "2025-12-31T15:30:00.000Z"
    facts = Story().at(at, submitted(due="2026-01-06T09:00:00.000Z"), actor=PUBLIC.actor()).facts()

    assert periods(facts, CALENDAR) == ["2025", "2025-Q4", "2025-12"]
    assert set(contribution(facts, CALENDAR)) == keys(SAMARINDA_SCOPES, ["2025", "2025-Q4", "2025-12"])


def test_a_report_half_an_hour_into_new_year_in_samarinda_belongs_to_january_though_utc_is_still_december():
    at = datetime(2026, 1, 1, 0, 30, tzinfo=WITA)
    assert iso(at) == "2025-12-31T16:30:00.000Z"
    facts = Story().at(at, submitted(due="2026-01-06T09:00:00.000Z"), actor=PUBLIC.actor()).facts()

    assert facts.zone == "WITA"
    assert periods(facts, CALENDAR) == ["2026", "2026-Q1", "2026-01"]
    # The same instant is still 31 December 23:30 in Jakarta time: a WIB region counts it in 2025.
    batam = Story("LAP-BATAM").at(at, submitted("21.71", due="2026-01-06T10:00:00.000Z"),
                                  actor=PUBLIC.actor()).facts()
    assert batam.zone == "WIB" and periods(batam, CALENDAR) == ["2025", "2025-Q4", "2025-12"]


@pytest.mark.parametrize(("month", "quarter"), [(1, 1), (3, 1), (4, 2), (6, 2), (7, 3), (9, 3), (10, 4), (12, 4)])
def test_quarters_follow_the_local_month(month, quarter):
    at = datetime(2026, month, 15, 10, 0, tzinfo=WITA)
    facts = Story().at(at, submitted(due="2026-12-31T09:00:00.000Z"), actor=PUBLIC.actor()).facts()
    assert periods(facts, CALENDAR) == ["2026", f"2026-Q{quarter}", f"2026-{month:02d}"]


def test_statistics_file_a_new_years_report_under_the_local_month():
    stats = Statistics(InMemoryCounters(), reference=REFERENCE, calendar=CALENDAR)
    story = Story().at(datetime(2026, 1, 1, 0, 30, tzinfo=WITA), submitted(due="2026-01-06T09:00:00.000Z"),
                       actor=PUBLIC.actor())
    assert stats.project(story.events[0]) is True

    assert stats.read("region:64.72", "2026-01")["received"] == 1
    assert stats.read("region:64.72", "2026-Q1")["received"] == 1
    assert stats.read("region:64.72", "2025-12") is None
    assert stats.read("region:64.72", "2025") is None


# ------------------------------------------------------------------------------------------------ follow-up speed

def test_follow_up_speed_counts_working_days_in_the_regions_local_calendar():
    # Submitted Saturday 7 March 00:30 WITA (= Friday 23:30 WIB); first follow-up Monday 9 March 00:30 WITA
    # (= Sunday 23:30 WIB). In Samarinda one working day (Monday) went by; on Jakarta's clock none did.
    submitted_at = datetime(2026, 3, 7, 0, 30, tzinfo=WITA)
    followed_at = datetime(2026, 3, 9, 0, 30, tzinfo=WITA)
    story = (Story().at(submitted_at, submitted(), actor=PUBLIC.actor())
             .at(submitted_at + timedelta(minutes=30), verified())
             .at(followed_at, FOLLOW_UP, actor=SAMARINDA.actor()))

    assert CALENDAR.working_days_between(submitted_at, followed_at, "WIB") == 0  # the wrong zone would say 0
    facts = story.facts()
    assert facts.follow_up_days == 1
    counted = contribution(facts, CALENDAR)["region:64.72#2026-03"]
    assert (counted["fu_count"], counted["fu_days_sum"]) == (1, 1)


def test_follow_up_speed_skips_the_nyepi_and_idul_fitri_break():
    # Tuesday 17 March → Wednesday 25 March 2026: 18–24 March are holidays and cuti bersama.
    submitted_at = datetime(2026, 3, 17, 10, 0, tzinfo=WITA)
    story = (Story().at(submitted_at, submitted(), actor=PUBLIC.actor())
             .at(submitted_at + timedelta(hours=1), verified())
             .at(datetime(2026, 3, 25, 9, 0, tzinfo=WITA), ANSWER, actor=SAMARINDA.actor()))

    assert story.facts().follow_up_days == 1


def test_only_the_first_response_sets_the_follow_up_speed():
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(MON_2_MARCH + timedelta(hours=1), verified())
             .at(datetime(2026, 3, 4, 10, 0, tzinfo=WITA), FOLLOW_UP, actor=SAMARINDA.actor())
             .at(datetime(2026, 3, 13, 10, 0, tzinfo=WITA), ANSWER, actor=SAMARINDA.actor()))

    speeds = [facts.follow_up_days for facts in story.facts_along()]
    assert speeds == [None, None, 2, 2]


def test_a_final_answer_without_an_earlier_follow_up_sets_the_speed():
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(MON_2_MARCH + timedelta(hours=1), verified())
             .at(datetime(2026, 3, 6, 15, 0, tzinfo=WITA), ANSWER, actor=SAMARINDA.actor()))

    facts = story.facts()
    assert (facts.status, facts.follow_up_days) == ("answered", 4)
    assert contribution(facts, CALENDAR)["institution:pemkot-samarinda#2026"]["b_dalam_proses"] == 1


# ------------------------------------------------------------------------------------------------ overdue

def test_a_follow_up_reminder_makes_the_report_overdue_until_the_follow_up_comes():
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(MON_2_MARCH + timedelta(hours=1), verified())
             .at(datetime(2026, 3, 9, 17, 0, tzinfo=WITA), reminder("follow_up"), actor=SYSTEM, channel="system")
             .at(datetime(2026, 3, 10, 9, 0, tzinfo=WITA), FOLLOW_UP, actor=SAMARINDA.actor()))
    verified_facts, reminded, followed = story.facts_along()[1:]

    assert not verified_facts.overdue
    assert reminded.overdue and reminded.overdue_clocks == ("follow_up",)
    assert all(fields["overdue"] == 1 for fields in contribution(reminded, CALENDAR).values())
    assert not followed.overdue and followed.overdue_clocks == ()
    assert all("overdue" not in fields for fields in contribution(followed, CALENDAR).values())
    delta = difference(contribution(followed, CALENDAR), contribution(reminded, CALENDAR))
    assert delta["institution:pemkot-samarinda#2026-03"] == {
        "overdue": -1, "b_belum_ditindaklanjuti": -1, "b_dalam_proses": 1, "fu_count": 1, "fu_days_sum": 6}


def test_a_verification_reminder_is_cleared_by_verification():
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(datetime(2026, 3, 5, 17, 0, tzinfo=WIB), reminder("verification", "2026-03-05T10:00:00.000Z"),
                 actor=SYSTEM, channel="system")
             .at(datetime(2026, 3, 6, 9, 0, tzinfo=WIB), verified()))
    _, reminded, done = story.facts_along()

    assert reminded.overdue and reminded.status == "submitted"
    assert not done.overdue


def test_a_resolution_reminder_survives_a_progress_update_and_is_cleared_by_the_final_answer():
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(MON_2_MARCH + timedelta(hours=1), verified())
             .at(datetime(2026, 3, 4, 10, 0, tzinfo=WITA), FOLLOW_UP, actor=SAMARINDA.actor())
             .at(datetime(2026, 3, 27, 17, 0, tzinfo=WITA), reminder("resolution", "2026-03-27T09:00:00.000Z"),
                 actor=SYSTEM, channel="system")
             .at(datetime(2026, 3, 30, 10, 0, tzinfo=WITA), FOLLOW_UP, actor=SAMARINDA.actor())
             .at(datetime(2026, 3, 31, 10, 0, tzinfo=WITA), ANSWER, actor=SAMARINDA.actor()))

    assert [facts.overdue for facts in story.facts_along()] == [False, False, False, True, True, False]


def test_a_reminder_of_the_reporters_reply_window_does_not_make_the_institution_overdue():
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(MON_2_MARCH + timedelta(hours=1), verified())
             .at(MON_2_MARCH + timedelta(hours=2), ANSWER, actor=SAMARINDA.actor())
             .at(datetime(2026, 3, 16, 17, 0, tzinfo=WITA), reminder("reply", "2026-03-16T09:00:00.000Z"),
                 actor=SYSTEM, channel="system"))

    assert not story.facts().overdue


def test_a_closed_report_is_never_counted_overdue():
    facts = ReportFacts(state=ReportState(
        report_id="LAP-STAT000001", version=9, status="closed", region_code="64.72", institution_id="pemkot-samarinda",
        category_id=JALAN, channel="web", submitted_at="2026-03-02T02:00:00.000Z"), zone="WITA",
        overdue_clocks=("resolution",))
    assert not facts.overdue
    assert all("overdue" not in fields for fields in contribution(facts, CALENDAR).values())


# ------------------------------------------------------------------------------------------------ figures

def test_figures_reproduce_samarindas_2022_rates():
    shown = figures({"received": 92, "b_belum_diverifikasi": 0, "b_belum_ditindaklanjuti": 10,
                     "b_dalam_proses": 33, "b_selesai": 49, "archived": 4, "fu_count": 82, "fu_days_sum": 2140,
                     "overdue": 7, f"cat#{JALAN}": 60, f"cat#{DRAINASE}": 32, "cat#kesehatan": 0,
                     "ch#web": 80, "ch#sms": 12, "ch#app": 0})

    assert shown == {
        "received": 92, "archived": 4, "overdue": 7,
        "buckets": {"belum_diverifikasi": 0, "belum_ditindaklanjuti": 10, "dalam_proses": 33, "selesai": 49},
        "completion_rate": 53.26, "follow_up_rate": 89.13, "follow_up_speed_working_days": 26.1,
        "by_category": {DRAINASE: 32, JALAN: 60}, "by_channel": {"sms": 12, "web": 80}}


def test_figures_of_kepri_and_kaltim_match_the_published_rates():
    kepri = figures({"received": 273, "b_selesai": 271, "b_dalam_proses": 2})
    kaltim = figures({"received": 59, "b_selesai": 53, "b_dalam_proses": 2, "b_belum_ditindaklanjuti": 4})
    assert kepri["completion_rate"] == 99.27
    assert kaltim["follow_up_rate"] == 93.22


def test_figures_without_reports_have_no_rates_rather_than_zero():
    for empty in (None, {}, {"received": 0, "archived": 3}):
        shown = figures(empty)
        assert shown["completion_rate"] is None and shown["follow_up_rate"] is None
        assert shown["follow_up_speed_working_days"] is None
        assert shown["buckets"] == {"belum_diverifikasi": 0, "belum_ditindaklanjuti": 0, "dalam_proses": 0,
                                    "selesai": 0}
    assert figures({"received": 0, "archived": 3})["archived"] == 3


# ------------------------------------------------------------------------------------------------ one projector

def test_the_projector_refuses_a_redelivered_event_and_an_event_ahead_of_its_predecessor():
    stats = Statistics(InMemoryCounters(), reference=REFERENCE, calendar=CALENDAR)
    story = (Story().at(MON_2_MARCH, submitted(), actor=PUBLIC.actor())
             .at(MON_2_MARCH + timedelta(hours=1), verified())
             .at(MON_2_MARCH + timedelta(hours=2), FOLLOW_UP, actor=SAMARINDA.actor()))
    v1, v2, v3 = story.events

    assert stats.project(v1) is True
    assert stats.project(v1) is False
    with pytest.raises(OutOfOrder):
        stats.project(v3)
    assert stats.project(v2) is True and stats.project(v3) is True
    assert stats.project(v2) is False

    counted = stats.read("institution:pemkot-samarinda", "2026-03")
    assert (counted["received"], counted["b_dalam_proses"], counted["b_belum_ditindaklanjuti"]) == (1, 1, 0)
    assert stats.read("region:ID", "2026")["received"] == 1


# ================================================================================================ the contract

class Desk(stories.Desk):
    """Real commands through the real handler, on the in-memory event store; the clock moves 5 hours a step."""

    def __init__(self, store: InMemoryEventStore | None = None, commands: CommandHandler | None = None,
                 clock: FakeClock | None = None) -> None:
        self.store = store or InMemoryEventStore()
        super().__init__(commands or stories.deterministic_handler(self.store, ids="LAP-STAT{:06d}"),
                         clock or FakeClock(), step=timedelta(hours=5), correlation="desk-{:03d}")

    def submit(self, **fields: Any) -> str:
        return super().submit(**({"location": None} | fields))

    def remind(self, report_id: str, clock: str) -> None:
        """What the deadline sweep writes (a system event), appended as the sweep would."""
        history = self.store.load(report_id)
        self.store.append(Append(report_id, len(history), chain_events(
            report_id, history[-1], [reminder(clock)], actor=SYSTEM, channel="system", now=self.request().now,
            correlation_id="sweep", causation_id=None)))


def four_reports(desk: Desk) -> list[str]:
    """Closed; in progress after a clarification and overdue; reopened after a re-disposition and a cleared
    reminder; archived — interleaved."""
    r1 = desk.submit()
    r2 = desk.submit(title="Drainase tersumbat", category_id=DRAINASE, region_code="64.71", channel="app",
                     addressed_institution_id="pemkot-balikpapan")
    r3 = desk.submit(title="KTP-el belum jadi", report_type="information_request", category_id=KTP)
    r4 = desk.submit(title="Promo pinjol", category_id=None, region_code="21.71")
    desk.run(r1, verify_command(NASIONAL, "pemkot-samarinda"))
    desk.run(r2, c.HoldReport(principal=BALIKPAPAN, question="Mohon sebutkan RT/RW lokasi saluran."))
    desk.run(r3, verify_command(NASIONAL, "pemkot-balikpapan"))
    desk.run(r4, c.ArchiveReport(principal=NASIONAL, reason="spam", duplicate_of=None, note=None))
    desk.run(r1, c.AssignReport(principal=SAMARINDA, unit_id="dinas-pupr"))
    desk.run(r2, c.ReplyToReport(principal=desk.reporter(r2), message="RT 12 RW 03, Kel. Gunung Sari."))
    desk.run(r3, c.ReturnReport(principal=BALIKPAPAN, reason="Pemohon berdomisili di Samarinda."))
    desk.run(r1, c.PostFollowUp(principal=PUPR_SAMARINDA, message="Lokasi sudah ditinjau.", final=False))
    desk.run(r2, verify_command(BALIKPAPAN, "pemkot-balikpapan"))
    desk.run(r3, c.RedisposeReport(principal=NASIONAL, institution_id="pemkot-samarinda"))
    desk.remind(r3, "follow_up")  # cleared by the answer below
    desk.run(r1, c.PostFollowUp(principal=PUPR_SAMARINDA, message="Lubang sudah ditambal.", final=True))
    desk.run(r2, c.PostFollowUp(principal=BALIKPAPAN, message="Normalisasi saluran dijadwalkan.", final=False))
    desk.run(r1, c.AcceptResolution(principal=desk.reporter(r1), rating=5, comment="Terima kasih."))
    desk.run(r3, c.PostFollowUp(principal=SAMARINDA, message="KTP-el dapat diambil.", final=True))
    desk.run(r3, c.ObjectToResolution(principal=desk.reporter(r3), reason="Blangko masih kosong."))
    desk.remind(r2, "resolution")  # still overdue at the end
    return [r1, r2, r3, r4]


@pytest.fixture(scope="module")
def history() -> tuple[list[str], list[StoredEvent]]:
    """The four reports' events in the order the store wrote them (per-report order kept)."""
    desk = Desk()
    report_ids = four_reports(desk)
    events = list(desk.store.read_days("2015-01-01", "2030-12-31"))
    assert len(events) == 23
    return report_ids, events


def counter_keys(events: Iterable[StoredEvent]) -> list[str]:
    """Every counter any prefix of any report's history touched (from the pure functions alone)."""
    found: set[str] = set()
    facts: dict[str, ReportFacts | None] = {}
    for stored in events:
        facts[stored.stream_id] = fold(facts.get(stored.stream_id), stored, REFERENCE, CALENDAR)
        found |= set(contribution(facts[stored.stream_id], CALENDAR))
    return sorted(found)


def expected_totals(events: list[StoredEvent]) -> dict[str, dict[str, int]]:
    """The non-zero counters: the sum of every report's final contribution."""
    totals: dict[str, Counter[str]] = {}
    for stream_id in dict.fromkeys(event.stream_id for event in events):
        final = facts_of(event for event in events if event.stream_id == stream_id)
        for key, fields in contribution(final, CALENDAR).items():
            totals.setdefault(key, Counter()).update(fields)
    return {key: dict(fields) for key, fields in totals.items()}


def non_zero(read: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    kept = {key: {name: value for name, value in fields.items() if value} for key, fields in read.items()}
    return {key: fields for key, fields in kept.items() if fields}


TwinFactory = Callable[[], Any]


@pytest.fixture(params=["in_memory", "dynamodb"])
def new_counters(request) -> TwinFactory:
    """Fresh, empty counters of one twin per call. DynamoDB: test-stats first, then more stats tables."""
    if request.param == "in_memory":
        return InMemoryCounters
    services = request.getfixturevalue("services")
    table = test_settings().table_names["stats"]
    made = itertools.count()

    def make() -> DynamoDBCounters:
        n = next(made)
        name = table if n == 0 else f"{table}-{n}"
        if n:
            create_table(services.dynamodb(), STATS, name)
        return DynamoDBCounters(name, services.dynamodb)

    return make


def statistics_on(counters: Any) -> Statistics:
    return Statistics(counters, reference=REFERENCE, calendar=CALENDAR)


def deliver_cleanly(stats: Statistics, events: Iterable[StoredEvent]) -> None:
    for stored in events:
        assert stats.project(stored) is True, (stored.stream_id, stored.version)


def interleaving(events: list[StoredEvent], seed: int) -> list[StoredEvent]:
    per_report: dict[str, list[StoredEvent]] = {}
    for stored in events:
        per_report.setdefault(stored.stream_id, []).append(stored)
    rng, queues, merged = random.Random(seed), [list(queue) for queue in per_report.values()], []
    while any(queues):
        merged.append(rng.choice([queue for queue in queues if queue]).pop(0))
    return merged


def test_the_twins_count_the_same_under_every_delivery_the_stream_can_make(new_counters, history):
    report_ids, events = history
    all_keys = counter_keys(events)

    def read(stats: Statistics) -> dict[str, dict[str, Any]]:
        return stats.read_many(all_keys)

    # (a) one clean delivery
    clean = statistics_on(new_counters())
    deliver_cleanly(clean, events)
    reference = read(clean)
    assert non_zero(reference) == expected_totals(events)
    assert reference["region:64#2026"]["received"] == 3 and "archived" not in reference["region:64#2026"]
    assert reference["institution:pemkot-balikpapan#2026"]["overdue"] == 1  # r2, reminded and not answered
    assert reference["institution:pemkot-samarinda#2026"]["overdue"] == 0  # r3's reminder was met
    assert reference["region:21#2026"] == {"received": 0, "b_belum_diverifikasi": 0, "ch#web": 0, "archived": 1}
    # The in-memory twin, cleanly fed, is the yardstick for the DynamoDB one too.
    yardstick = statistics_on(InMemoryCounters())
    deliver_cleanly(yardstick, events)
    assert read(yardstick) == reference

    # (b) every batch of four delivered twice
    twice = statistics_on(new_counters())
    for start in range(0, len(events), 4):
        batch = events[start:start + 4]
        assert [twice.project(stored) for stored in batch] == [True] * len(batch)
        assert [twice.project(stored) for stored in batch] == [False] * len(batch)
    assert read(twice) == reference

    # (c) a batch fails half-way, at one record's commit, and is retried from that record
    counters = new_counters()
    flaky = statistics_on(counters)
    target = events[9]
    original_commit, failures = counters.commit, []

    def commit_failing_once(moves, deltas, puts):
        (move,) = moves  # one event at a time: one guard per commit
        if (move.key, move.version) == (f"guard#{target.stream_id}", target.version) and not failures:
            failures.append(move.version)
            raise ConnectionError("throttled half-way through the batch")
        return original_commit(moves, deltas, puts)

    counters.commit = commit_failing_once
    batch = events[6:14]
    deliver_cleanly(flaky, events[:6])
    outcome: list[str] = []
    for stored in batch:
        try:
            outcome.append("applied" if flaky.project(stored) else "skipped")
        except (ConnectionError, OutOfOrder) as failure:
            outcome.append(type(failure).__name__)
    failed_at = batch.index(target)
    assert 0 < failed_at < len(batch) - 1 and outcome[failed_at] == "ConnectionError"
    later_of_same_report = [i for i, stored in enumerate(batch) if stored.stream_id == target.stream_id
                            and i > failed_at]
    assert later_of_same_report and all(outcome[i] == "OutOfOrder" for i in later_of_same_report)
    assert "applied" in outcome[failed_at + 1:]  # other reports went through
    retried = [flaky.project(stored) for stored in batch[failed_at:]]  # Lambda's retry: from the failed record on
    assert retried == [outcome[failed_at + i] != "applied" for i in range(len(retried))]
    deliver_cleanly(flaky, events[14:])
    assert failures and read(flaky) == reference

    # (d) other interleavings across reports, each report's order kept
    orders = {"report after report": sorted(events, key=lambda stored: (report_ids.index(stored.stream_id),
                                                                       stored.version)),
              "reports in reverse": sorted(events, key=lambda stored: (-report_ids.index(stored.stream_id),
                                                                      stored.version)),
              "random merge": interleaving(events, seed=7)}
    assert len({tuple((s.stream_id, s.version) for s in order) for order in orders.values()} | {
        tuple((s.stream_id, s.version) for s in events)}) == 4
    for name, order in orders.items():
        other = statistics_on(new_counters())
        deliver_cleanly(other, order)
        assert read(other) == reference, name


def test_an_event_ahead_of_its_predecessor_is_refused_by_either_twin(new_counters, history):
    report_ids, events = history
    stats = statistics_on(new_counters())
    r1 = [stored for stored in events if stored.stream_id == report_ids[0]]
    keys_of_r1 = counter_keys(r1)

    assert stats.project(r1[0]) is True
    after_first = stats.read_many(keys_of_r1)
    with pytest.raises(OutOfOrder):
        stats.project(r1[2])
    assert stats.read_many(keys_of_r1) == after_first
    assert stats.project(r1[1]) is True and stats.project(r1[2]) is True


@pytest.mark.parametrize("position", [0, 3], ids=["first event", "later event"])
def test_two_threads_delivering_the_same_event_count_it_once(new_counters, history, position):
    report_ids, events = history
    r1 = [stored for stored in events if stored.stream_id == report_ids[0]]
    counters = new_counters()
    stats = statistics_on(counters)
    deliver_cleanly(stats, r1[:position])
    original_guards, reads, barrier = counters.guards, itertools.count(), threading.Barrier(2, timeout=10)

    def guard_read_by_both_before_either_writes(keys):
        seen = original_guards(keys)
        if next(reads) < 2:
            barrier.wait()
        return seen

    counters.guards = guard_read_by_both_before_either_writes
    results: list[Any] = []

    def deliver() -> None:
        try:
            results.append(stats.project(r1[position]))
        except Exception as failure:  # noqa: BLE001 — recorded, then asserted absent
            results.append(failure)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(results, key=str) == [False, True]
    counters.guards = original_guards
    single = statistics_on(InMemoryCounters())
    deliver_cleanly(single, r1[:position + 1])
    keys_of_r1 = counter_keys(r1)
    assert stats.read_many(keys_of_r1) == single.read_many(keys_of_r1)


def test_a_reminder_delivered_through_the_projector_counts_the_report_overdue(new_counters):
    """Regression: the guard's JSON gave overdue_clocks back as a list, and the first reminder crashed fold()."""
    desk = Desk()
    r1 = desk.submit()
    desk.run(r1, verify_command(NASIONAL, "pemkot-samarinda"))
    desk.remind(r1, "follow_up")
    stats = statistics_on(new_counters())

    for stored in desk.store.load(r1):
        stats.project(stored)

    assert stats.read("institution:pemkot-samarinda", "2026")["overdue"] == 1
    desk.run(r1, c.PostFollowUp(principal=SAMARINDA, message="Sudah ditinjau.", final=False))
    stats.project(desk.store.load(r1)[-1])
    assert stats.read("institution:pemkot-samarinda", "2026")["overdue"] == 0


# ------------------------------------------------------------------------------------------------ the real stream

def test_the_real_stream_with_a_record_failing_once_counts_as_a_clean_delivery(services, pump, clock, monkeypatch):
    desk = Desk(store=services.store, commands=services.commands, clock=clock)
    report_ids = four_reports(desk)
    events = list(services.store.read_days("2026-03-01", "2026-03-10"))
    target = next(stored for stored in events if (stored.stream_id, stored.version) == (report_ids[2], 3))
    original, attempts = DynamoDBCounters.commit, Counter()

    def failing_once(self, moves, deltas, puts) -> None:
        # The batch's one transaction, when it would move the target's guard past it: throttled the first time.
        if any(move.key == f"guard#{target.stream_id}" and move.last < target.version <= move.version
               for move in moves):
            attempts[target.stream_id, target.version] += 1
            if attempts[target.stream_id, target.version] == 1:
                raise ConnectionError("ProvisionedThroughputExceeded")
        return original(self, moves, deltas, puts)

    monkeypatch.setattr(DynamoDBCounters, "commit", failing_once)

    assert pump.drain() > len(events)  # the records after the failed one were delivered again

    assert attempts[target.stream_id, target.version] == 2
    assert pump.set_aside == []
    all_keys = counter_keys(events)
    clean = statistics_on(InMemoryCounters())
    deliver_cleanly(clean, events)
    # Equal up to fields at 0: one event at a time leaves a +1 then -1 as an explicit 0; a batch sums them first.
    assert non_zero(services.stats.read_many(all_keys)) == non_zero(clean.read_many(all_keys))
    assert non_zero(services.stats.read_many(all_keys)) == expected_totals(events)
    assert services.stats.read("institution:pemkot-samarinda", "2026")["received"] == 2
    assert services.stats.read("region:64", "2026-03")["overdue"] == 1
