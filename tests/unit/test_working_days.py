"""Working days and deadlines (DOMAIN §7) against the real Indonesian calendar from `holidays` 0.108."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.working_days import (
    DEFAULT_OVERRIDES_PATH,
    OFFICE_CLOSE,
    ZONES,
    OverrideFileError,
    UnknownTimeZone,
    WorkingDayCalendar,
    default_calendar,
    load_overrides,
)

UTC = timezone.utc
WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
WIT = timezone(timedelta(hours=9))


@pytest.fixture(scope="module")
def cal() -> WorkingDayCalendar:
    return WorkingDayCalendar.indonesia()


def write_overrides(tmp_path: Path, overrides: Any) -> Path:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"_doc": "test", "overrides": overrides}), encoding="utf-8")
    return path


def entry(day: str, working: bool, name: str = "Cuti Bersama Uji", source: str = "SKB uji") -> dict[str, Any]:
    return {"date": day, "working": working, "name": name, "source": source}


# -- zones and constants ----------------------------------------------------------------------------

def test_zones_are_fixed_named_offsets_for_wib_wita_wit() -> None:
    probe = datetime(2025, 1, 1, tzinfo=UTC)
    assert list(ZONES) == ["WIB", "WITA", "WIT"]
    assert {name: tz.utcoffset(probe) for name, tz in ZONES.items()} == {
        "WIB": timedelta(hours=7), "WITA": timedelta(hours=8), "WIT": timedelta(hours=9)}
    assert {name: tz.tzname(probe) for name, tz in ZONES.items()} == {"WIB": "WIB", "WITA": "WITA", "WIT": "WIT"}
    assert OFFICE_CLOSE.hour == 17 and OFFICE_CLOSE.minute == 0


# -- which days are working days --------------------------------------------------------------------

def test_weekends_are_never_working_days(cal: WorkingDayCalendar) -> None:
    assert cal.is_working_day(date(2025, 5, 2))       # Friday
    assert not cal.is_working_day(date(2025, 5, 3))   # Saturday
    assert not cal.is_working_day(date(2025, 5, 4))   # Sunday
    assert cal.is_working_day(date(2025, 5, 5))       # Monday
    assert cal.holiday_name(date(2025, 5, 3)) is None


def test_weekday_national_holidays_are_not_working_days(cal: WorkingDayCalendar) -> None:
    assert not cal.is_working_day(date(2026, 5, 1))   # Friday, Labour Day
    assert cal.holiday_name(date(2026, 5, 1)) == "Hari Buruh Internasional"
    assert not cal.is_working_day(date(2025, 12, 25))  # Thursday, Christmas
    assert cal.holiday_name(date(2025, 12, 25)) == "Hari Raya Natal"


def test_cuti_bersama_days_are_not_working_days(cal: WorkingDayCalendar) -> None:
    assert not cal.is_working_day(date(2025, 12, 26))
    assert cal.holiday_name(date(2025, 12, 26)) == "Cuti Bersama Hari Raya Natal"
    # Added mid-year 2025 by the government; the package carries it in the GOVERNMENT category.
    assert not cal.is_working_day(date(2025, 8, 18))


def test_holiday_on_a_weekend_is_named_but_changes_nothing(cal: WorkingDayCalendar) -> None:
    assert cal.holiday_name(date(2025, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"  # Sunday
    assert cal.add_working_days(date(2025, 8, 15), 1) == date(2025, 8, 19)  # Mon 18 Aug is cuti bersama


def test_idul_fitri_2025_and_its_cuti_bersama_are_all_non_working(cal: WorkingDayCalendar) -> None:
    closed = [date(2025, 3, 28), date(2025, 3, 31), date(2025, 4, 1), date(2025, 4, 2),
              date(2025, 4, 3), date(2025, 4, 4), date(2025, 4, 7)]
    assert [cal.is_working_day(d) for d in closed] == [False] * len(closed)
    assert cal.holiday_name(date(2025, 3, 31)) == "Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2025, 4, 2)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert cal.is_working_day(date(2025, 3, 27)) and cal.is_working_day(date(2025, 4, 8))


# -- adding working days ----------------------------------------------------------------------------

def test_add_working_days_counts_strictly_after_the_start_day(cal: WorkingDayCalendar) -> None:
    assert cal.add_working_days(date(2025, 5, 5), 1) == date(2025, 5, 6)   # Mon -> Tue
    assert cal.add_working_days(date(2025, 5, 5), 3) == date(2025, 5, 8)   # Mon -> Thu
    assert cal.add_working_days(date(2025, 5, 2), 1) == date(2025, 5, 5)   # Fri -> Mon


def test_add_working_days_from_a_weekend_counts_from_the_next_working_day(cal: WorkingDayCalendar) -> None:
    assert cal.add_working_days(date(2025, 5, 3), 1) == date(2025, 5, 5)   # Sat -> Mon
    assert cal.add_working_days(date(2025, 5, 4), 3) == date(2025, 5, 7)   # Sun -> Wed
    assert cal.add_working_days(date(2025, 5, 3), 3) == cal.add_working_days(date(2025, 5, 2), 3)


def test_add_zero_working_days_rolls_forward_to_a_working_day(cal: WorkingDayCalendar) -> None:
    assert cal.add_working_days(date(2025, 5, 5), 0) == date(2025, 5, 5)    # working day: itself
    assert cal.add_working_days(date(2025, 5, 3), 0) == date(2025, 5, 5)    # Saturday: Monday
    assert cal.add_working_days(date(2025, 3, 28), 0) == date(2025, 4, 8)   # Lebaran closure: after it


def test_add_negative_working_days_is_refused(cal: WorkingDayCalendar) -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        cal.add_working_days(date(2025, 5, 5), -1)


def test_add_working_days_across_idul_fitri_2025(cal: WorkingDayCalendar) -> None:
    # Fri 21 Mar: Mon 24..Thu 27 are days 1-4; 28 Mar-7 Apr are closed; Tue 8 Apr is day 5.
    assert cal.add_working_days(date(2025, 3, 21), 4) == date(2025, 3, 27)
    assert cal.add_working_days(date(2025, 3, 21), 5) == date(2025, 4, 8)
    assert cal.add_working_days(date(2025, 3, 27), 1) == date(2025, 4, 8)


def test_add_working_days_across_idul_fitri_2026(cal: WorkingDayCalendar) -> None:
    # 18 Mar cuti Nyepi, 19 Nyepi, 20 cuti, 21-22 Idul Fitri (weekend), 23-24 cuti bersama.
    closed = [date(2026, 3, d) for d in (18, 19, 20, 23, 24)]
    assert [cal.is_working_day(d) for d in closed] == [False] * len(closed)
    assert cal.holiday_name(date(2026, 3, 21)) == "Hari Raya Idul Fitri"
    assert cal.add_working_days(date(2026, 3, 13), 2) == date(2026, 3, 17)
    assert cal.add_working_days(date(2026, 3, 13), 3) == date(2026, 3, 25)
    assert cal.add_working_days(date(2026, 3, 17), 1) == date(2026, 3, 25)


def test_add_working_days_rejects_a_datetime_for_a_date(cal: WorkingDayCalendar) -> None:
    with pytest.raises(TypeError, match="local_date"):
        cal.add_working_days(datetime(2025, 5, 5, tzinfo=UTC), 1)


# -- deadlines --------------------------------------------------------------------------------------

def test_deadline_in_wita_is_1700_local_0900_utc_on_the_right_day(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 3, 21, 2, 0, tzinfo=UTC)  # Fri 10:00 WITA
    due = cal.deadline(start, 5, "WITA")
    assert due == datetime(2025, 4, 8, 9, 0, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)
    local = due.astimezone(WITA)
    assert (local.date(), local.hour, local.minute) == (date(2025, 4, 8), 17, 0)


def test_deadline_in_wit_is_0800_utc(cal: WorkingDayCalendar) -> None:
    start = datetime(2026, 3, 13, 3, 0, tzinfo=UTC)  # Fri 12:00 WIT
    assert cal.deadline(start, 3, "WIT") == datetime(2026, 3, 25, 8, 0, tzinfo=UTC)


def test_deadline_in_wib_is_1000_utc(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 5, 5, 3, 0, tzinfo=UTC)  # Mon 10:00 WIB
    assert cal.deadline(start, 3, "WIB") == datetime(2025, 5, 8, 10, 0, tzinfo=UTC)


def test_deadline_accepts_any_aware_start(cal: WorkingDayCalendar) -> None:
    utc_start = datetime(2025, 5, 5, 3, 0, tzinfo=UTC)
    assert cal.deadline(utc_start.astimezone(WIT), 3, "WIB") == cal.deadline(utc_start, 3, "WIB")


def test_early_morning_wib_counts_from_local_date_not_the_earlier_utc_date(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 5, 5, 23, 30, tzinfo=UTC)  # Mon 23:30 UTC == Tue 06:30 WIB
    assert cal.local_date(start, "WIB") == date(2025, 5, 6)
    assert cal.deadline(start, 3, "WIB") == datetime(2025, 5, 9, 10, 0, tzinfo=UTC)  # Fri, not Thu


def test_late_evening_wib_still_counts_from_that_local_date(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 5, 5, 23, 30, tzinfo=WIB)  # Mon 23:30 WIB == Mon 16:30 UTC
    assert start.astimezone(UTC).date() == date(2025, 5, 5)
    assert cal.local_date(start, "WIB") == date(2025, 5, 5)
    assert cal.deadline(start, 3, "WIB") == datetime(2025, 5, 8, 10, 0, tzinfo=UTC)  # Thu


def test_one_am_wita_counts_from_local_date_while_utc_date_is_the_day_before(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 5, 6, 1, 0, tzinfo=WITA)  # Tue 01:00 WITA == Mon 17:00 UTC
    assert start.astimezone(UTC).date() == date(2025, 5, 5)
    assert cal.local_date(start, "WITA") == date(2025, 5, 6)
    assert cal.deadline(start, 3, "WITA") == datetime(2025, 5, 9, 9, 0, tzinfo=UTC)  # Fri 17:00 WITA


def test_same_instant_has_different_local_dates_per_zone(cal: WorkingDayCalendar) -> None:
    instant = datetime(2025, 5, 5, 15, 30, tzinfo=UTC)  # 22:30 WIB, 23:30 WITA, 00:30 WIT next day
    assert cal.local_date(instant, "WIB") == date(2025, 5, 5)
    assert cal.local_date(instant, "WITA") == date(2025, 5, 5)
    assert cal.local_date(instant, "WIT") == date(2025, 5, 6)


def test_end_of_working_day_is_1700_local_in_utc(cal: WorkingDayCalendar) -> None:
    assert cal.end_of_working_day(date(2025, 5, 5), "WIB") == datetime(2025, 5, 5, 10, 0, tzinfo=UTC)
    assert cal.end_of_working_day(date(2025, 5, 5), "WITA") == datetime(2025, 5, 5, 9, 0, tzinfo=UTC)
    assert cal.end_of_working_day(date(2025, 5, 5), "WIT") == datetime(2025, 5, 5, 8, 0, tzinfo=UTC)


# -- elapsed working days ---------------------------------------------------------------------------

def test_working_days_between_basic_cases(cal: WorkingDayCalendar) -> None:
    mon_9 = datetime(2025, 5, 5, 9, 0, tzinfo=WIB)
    assert cal.working_days_between(mon_9, mon_9 + timedelta(hours=7), "WIB") == 0   # same day
    assert cal.working_days_between(mon_9, mon_9 + timedelta(days=1), "WIB") == 1    # Tue
    assert cal.working_days_between(mon_9, mon_9 + timedelta(days=4), "WIB") == 4    # Fri
    assert cal.working_days_between(mon_9, mon_9 + timedelta(days=6), "WIB") == 4    # Sun
    fri = datetime(2025, 5, 2, 16, 0, tzinfo=WIB)
    assert cal.working_days_between(fri, mon_9, "WIB") == 1                          # weekend skipped
    sat = datetime(2025, 5, 3, 10, 0, tzinfo=WIB)
    assert cal.working_days_between(sat, mon_9, "WIB") == 1


def test_working_days_between_is_zero_when_end_is_not_after_start(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 5, 9, 9, 0, tzinfo=WIB)
    assert cal.working_days_between(start, start, "WIB") == 0
    assert cal.working_days_between(start, start - timedelta(days=10), "WIB") == 0


def test_working_days_between_skips_holidays(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 3, 21, 10, 0, tzinfo=WIB)
    assert cal.working_days_between(start, datetime(2025, 4, 7, 10, 0, tzinfo=WIB), "WIB") == 4
    assert cal.working_days_between(start, datetime(2025, 4, 8, 10, 0, tzinfo=WIB), "WIB") == 5
    christmas_eve = datetime(2025, 12, 24, 10, 0, tzinfo=WIB)
    assert cal.working_days_between(christmas_eve, datetime(2025, 12, 29, 8, 0, tzinfo=WIB), "WIB") == 1


def test_working_days_between_uses_local_dates_of_the_zone(cal: WorkingDayCalendar) -> None:
    start = datetime(2025, 5, 5, 10, 0, tzinfo=UTC)  # Mon in every zone
    end = datetime(2025, 5, 5, 15, 30, tzinfo=UTC)    # Mon 22:30 WIB, Tue 00:30 WIT
    assert cal.working_days_between(start, end, "WIB") == 0
    assert cal.working_days_between(start, end, "WIT") == 1


@pytest.mark.parametrize("zone", ["WIB", "WITA", "WIT"])
@pytest.mark.parametrize("n", [1, 3, 5, 10, 14, 60])
def test_working_days_between_inverts_deadline(cal: WorkingDayCalendar, zone: str, n: int) -> None:
    start = datetime(2025, 3, 20, 23, 45, tzinfo=UTC)
    assert cal.working_days_between(start, cal.deadline(start, n, zone), zone) == n


# -- refusals ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone", ["UTC", "wib", "Asia/Jakarta", "", None])
def test_unknown_zone_raises_unknown_time_zone(cal: WorkingDayCalendar, zone: Any) -> None:
    instant = datetime(2025, 5, 5, 3, 0, tzinfo=UTC)
    with pytest.raises(UnknownTimeZone, match="expected one of WIB, WITA, WIT"):
        cal.deadline(instant, 3, zone)
    with pytest.raises(UnknownTimeZone):
        cal.local_date(instant, zone)
    with pytest.raises(UnknownTimeZone):
        cal.end_of_working_day(date(2025, 5, 5), zone)
    with pytest.raises(UnknownTimeZone):
        cal.working_days_between(instant, instant + timedelta(days=1), zone)
    assert issubclass(UnknownTimeZone, ValueError)


def test_dates_outside_the_calendar_years_raise(cal: WorkingDayCalendar) -> None:
    assert (cal.first_year, cal.last_year) == (2015, 2030)
    with pytest.raises(ValueError, match="outside the working-day calendar"):
        cal.is_working_day(date(2014, 12, 31))
    with pytest.raises(ValueError, match="outside the working-day calendar"):
        cal.holiday_name(date(2031, 1, 1))
    with pytest.raises(ValueError, match="outside the working-day calendar"):
        cal.deadline(datetime(2031, 1, 2, 3, 0, tzinfo=UTC), 3, "WIB")
    with pytest.raises(ValueError, match="outside the working-day calendar"):
        cal.working_days_between(datetime(2014, 12, 1, tzinfo=UTC), datetime(2015, 1, 5, tzinfo=UTC), "WIB")


def test_counting_past_the_last_year_raises(cal: WorkingDayCalendar) -> None:
    with pytest.raises(ValueError, match="after 2030"):
        cal.add_working_days(date(2030, 12, 20), 60)


def test_naive_datetimes_are_refused(cal: WorkingDayCalendar) -> None:
    naive = datetime(2025, 5, 5, 9, 0)
    aware = datetime(2025, 5, 5, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.deadline(naive, 3, "WIB")
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.local_date(naive, "WIB")
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.working_days_between(naive, aware, "WIB")
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.working_days_between(aware, naive, "WIB")


# -- explicit data ----------------------------------------------------------------------------------

def test_calendar_from_explicit_data_needs_no_package() -> None:
    cal = WorkingDayCalendar({date(2025, 5, 6): "Hari Uji"}, first_year=2025, last_year=2025)
    assert not cal.is_working_day(date(2025, 5, 6))
    assert cal.holiday_name(date(2025, 5, 6)) == "Hari Uji"
    assert cal.is_working_day(date(2025, 5, 1))  # no real holidays in this calendar
    assert cal.add_working_days(date(2025, 5, 5), 1) == date(2025, 5, 7)


def test_explicit_holiday_outside_the_year_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside 2025–2025"):
        WorkingDayCalendar({date(2024, 12, 25): "Natal"}, first_year=2025, last_year=2025)
    with pytest.raises(ValueError, match="after last_year"):
        WorkingDayCalendar({}, first_year=2026, last_year=2025)


# -- override file ----------------------------------------------------------------------------------

def test_bundled_override_file_is_valid_and_documented() -> None:
    assert isinstance(load_overrides(DEFAULT_OVERRIDES_PATH), list)
    raw = json.loads(DEFAULT_OVERRIDES_PATH.read_text(encoding="utf-8"))
    assert "working=false" in raw["_doc"] and "working=true" in raw["_doc"] and "SKB" in raw["_doc"]
    assert isinstance(raw["overrides"], list)


def test_override_file_adds_and_removes_non_working_days(tmp_path: Path) -> None:
    path = write_overrides(tmp_path, [
        entry("2025-05-05", False, name="Cuti Bersama Tambahan"),             # Monday becomes a day off
        entry("2025-05-13", True, name="Cuti Bersama Waisak dibatalkan"),     # cuti bersama cancelled
        entry("2031-01-02", False),                                           # outside range: ignored
    ])
    plain = WorkingDayCalendar.indonesia(None, first_year=2025, last_year=2025)
    assert plain.is_working_day(date(2025, 5, 5))
    assert not plain.is_working_day(date(2025, 5, 13))

    cal = WorkingDayCalendar.indonesia(path, first_year=2025, last_year=2025)
    assert not cal.is_working_day(date(2025, 5, 5))
    assert cal.holiday_name(date(2025, 5, 5)) == "Cuti Bersama Tambahan"
    assert cal.is_working_day(date(2025, 5, 13))
    assert cal.holiday_name(date(2025, 5, 13)) is None
    assert cal.add_working_days(date(2025, 5, 2), 1) == date(2025, 5, 6)
    assert cal.add_working_days(date(2025, 5, 9), 1) == date(2025, 5, 13)  # Mon 12 May is still Waisak


@pytest.mark.parametrize(("overrides", "message"), [
    ([entry("2025-02-30", False)], "not a real date"),
    ([entry("05/01/2025", False)], "YYYY-MM-DD"),
    ([entry("20250501", False)], "YYYY-MM-DD"),
    ([{"date": "2025-05-05", "working": False, "name": "x"}], "missing key.*source"),
    ([{**entry("2025-05-05", False), "workng": True}], "unknown key.*workng"),
    ([entry("2025-05-05", "yes")], "working must be true or false"),  # type: ignore[arg-type]
    ([entry("2025-05-03", True)], "weekend"),
    ([entry("2025-05-05", False, name="  ")], "name must be a non-empty string"),
    ([entry("2025-05-05", False), entry("2025-05-05", True)], "more than once"),
    (["2025-05-05"], "expected an object"),
    ("not a list", "'overrides' list"),
])
def test_malformed_override_file_is_refused(tmp_path: Path, overrides: Any, message: str) -> None:
    path = write_overrides(tmp_path, overrides)
    with pytest.raises(OverrideFileError, match=message):
        WorkingDayCalendar.indonesia(path, first_year=2025, last_year=2025)


def test_override_file_that_is_not_json_or_missing_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(OverrideFileError, match="not valid JSON"):
        load_overrides(broken)
    with pytest.raises(OverrideFileError, match="cannot read"):
        load_overrides(tmp_path / "absent.json")
    assert issubclass(OverrideFileError, ValueError)


def test_default_calendar_is_built_once_with_the_bundled_overrides() -> None:
    assert default_calendar() is default_calendar()
    assert default_calendar().is_working_day(date(2025, 4, 8))
    assert not default_calendar().is_working_day(date(2025, 4, 7))
