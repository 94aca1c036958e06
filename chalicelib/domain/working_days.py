"""Working days (hari kerja) and office-hour deadlines for Indonesia (DOMAIN §7).

A working day is Monday–Friday that is neither a national holiday nor *cuti bersama*. Every clock in
LAPOR is counted in working days and ends at 17:00 in the handling institution's zone (WIB/WITA/WIT).

The calendar itself is pure: it is built from an explicit ``{date: name}`` mapping and a year range, so
tests can hand it any data. ``WorkingDayCalendar.indonesia()`` builds the real one from the ``holidays``
package (PUBLIC + GOVERNMENT, the latter being *cuti bersama*) plus an editable override file, because
the three-minister SKB moves dates during the year and the package may lag behind it.

Counting rule: the day something happens never counts. ``add_working_days(d, n)`` is the n-th working
day strictly after ``d``, whatever ``d`` is; a report received on Friday evening, Saturday or Sunday with
a 3-working-day clock is due Wednesday 17:00 (if no holidays intervene).
"""
from __future__ import annotations

import functools
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "DEFAULT_FIRST_YEAR",
    "DEFAULT_LAST_YEAR",
    "DEFAULT_OVERRIDES_PATH",
    "OFFICE_CLOSE",
    "OverrideFileError",
    "UnknownTimeZone",
    "WorkingDayCalendar",
    "ZONES",
    "default_calendar",
    "load_overrides",
]

# Indonesia has no daylight saving time, so fixed offsets are exact (and need no tz database).
ZONES: Mapping[str, tzinfo] = MappingProxyType({
    "WIB": timezone(timedelta(hours=7), "WIB"),
    "WITA": timezone(timedelta(hours=8), "WITA"),
    "WIT": timezone(timedelta(hours=9), "WIT"),
})

OFFICE_CLOSE = time(17, 0)

# Fixed bounds, never derived from the clock: the calendar must be the same on every machine and day.
# holidays 0.108 has SKB cuti bersama data up to 2027 and confirmed Islamic dates up to 2026/2027;
# 2028–2030 carry estimated ("perkiraan") Islamic dates and no cuti bersama until added as overrides.
DEFAULT_FIRST_YEAR = 2015
DEFAULT_LAST_YEAR = 2030

DEFAULT_OVERRIDES_PATH = Path(__file__).parents[1] / "data" / "working_day_overrides.json"

_SATURDAY = 5
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OVERRIDE_KEYS = frozenset({"date", "working", "name", "source"})


class UnknownTimeZone(ValueError):
    """A zone name other than WIB, WITA or WIT: deadlines must never fall back to a guessed zone."""

    def __init__(self, zone: object) -> None:
        super().__init__(f"unknown time zone {zone!r}; expected one of {', '.join(ZONES)}")
        self.zone = zone


class OverrideFileError(ValueError):
    """The working-day override file is malformed; refuse it rather than run with a wrong calendar."""


def _zone(zone: str) -> tzinfo:
    try:
        return ZONES[zone]
    except (KeyError, TypeError):
        raise UnknownTimeZone(zone) from None


def _require_aware(instant: datetime, what: str) -> None:
    """Naive datetimes are ambiguous across three zones, so they are refused outright."""
    if not isinstance(instant, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive datetime {instant.isoformat()}")


class WorkingDayCalendar:
    """Working days over a closed range of years, from explicit holiday data."""

    def __init__(self, holidays: Mapping[date, str], *, first_year: int, last_year: int) -> None:
        if first_year > last_year:
            raise ValueError(f"first_year {first_year} is after last_year {last_year}")
        self.first_year = first_year
        self.last_year = last_year
        self._first = date(first_year, 1, 1)
        self._last = date(last_year, 12, 31)
        names: dict[date, str] = {}
        for day, name in holidays.items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"holiday keys must be dates, got {day!r}")
            if not self._first <= day <= self._last:
                raise ValueError(f"holiday {day.isoformat()} is outside {first_year}–{last_year}")
            names[day] = str(name)
        self._names: Mapping[date, str] = MappingProxyType(names)
        # Sorted ordinals of every working day in range: counting becomes two binary searches.
        all_days = (date.fromordinal(o) for o in range(self._first.toordinal(), self._last.toordinal() + 1))
        self._working: tuple[int, ...] = tuple(
            d.toordinal() for d in all_days if d.weekday() < _SATURDAY and d not in names
        )

    @classmethod
    def indonesia(
        cls,
        overrides_path: Path | None = DEFAULT_OVERRIDES_PATH,
        first_year: int = DEFAULT_FIRST_YEAR,
        last_year: int = DEFAULT_LAST_YEAR,
    ) -> WorkingDayCalendar:
        """National holidays and cuti bersama from the ``holidays`` package, then the SKB overrides.

        ``overrides_path=None`` applies no overrides. Override entries outside the year range are ignored
        (the file is shared by calendars of any range).
        """
        import holidays as holidays_pkg  # deferred: only the real calendar needs the package
        from holidays.constants import GOVERNMENT, PUBLIC

        if first_year > last_year:
            raise ValueError(f"first_year {first_year} is after last_year {last_year}")
        source = holidays_pkg.country_holidays(
            "ID",
            categories=(PUBLIC, GOVERNMENT),
            years=range(first_year, last_year + 1),
            language="id",  # explicit: otherwise the package guesses the language from the environment
        )
        names: dict[date, str] = dict(source.items())
        if overrides_path is not None:
            for entry in load_overrides(overrides_path):
                day: date = entry["date"]
                if not first_year <= day.year <= last_year:
                    continue
                if entry["working"]:
                    names.pop(day, None)
                else:
                    names[day] = entry["name"]
        return cls(names, first_year=first_year, last_year=last_year)

    # -- days -------------------------------------------------------------------------------------

    def _check_day(self, day: date) -> None:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"expected a date, got {day!r}; convert instants with local_date()")
        if not self._first <= day <= self._last:
            raise ValueError(
                f"{day.isoformat()} is outside the working-day calendar "
                f"({self.first_year}–{self.last_year}); its holidays are unknown"
            )

    def is_working_day(self, day: date) -> bool:
        """Monday–Friday and neither a national holiday nor cuti bersama."""
        self._check_day(day)
        return day.weekday() < _SATURDAY and day not in self._names

    def holiday_name(self, day: date) -> str | None:
        """The holiday or cuti bersama on ``day`` (also on weekends), or None."""
        self._check_day(day)
        return self._names.get(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after ``day`` (``day`` itself never counts).

        ``n == 0`` means "the same working day": ``day`` if it is a working day, else the next one.
        Negative ``n`` is refused: clocks only run forward.
        """
        self._check_day(day)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {n!r}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            index = bisect_left(self._working, day.toordinal())
        else:
            index = bisect_right(self._working, day.toordinal()) + n - 1
        if index >= len(self._working):
            raise ValueError(
                f"{n} working days after {day.isoformat()} falls after {self.last_year}, "
                "the last year this calendar covers"
            )
        return date.fromordinal(self._working[index])

    # -- instants ---------------------------------------------------------------------------------

    def local_date(self, instant: datetime, zone: str) -> date:
        """The calendar date of ``instant`` in ``zone``: a clock starts on the local day, not the UTC day."""
        tz = _zone(zone)
        _require_aware(instant, "instant")
        return instant.astimezone(tz).date()

    def end_of_working_day(self, day: date, zone: str) -> datetime:
        """17:00 local on ``day`` (office close), as an aware UTC datetime."""
        tz = _zone(zone)
        self._check_day(day)
        return datetime.combine(day, OFFICE_CLOSE, tzinfo=tz).astimezone(timezone.utc)

    def deadline(self, start: datetime, working_days: int, zone: str) -> datetime:
        """17:00 local on the ``working_days``-th working day after the local date of ``start``, in UTC."""
        due = self.add_working_days(self.local_date(start, zone), working_days)
        return self.end_of_working_day(due, zone)

    def working_days_between(self, start: datetime, end: datetime, zone: str) -> int:
        """Working days d with local_date(start) < d <= local_date(end); 0 if ``end <= start``.

        Inverse of ``deadline``: ``working_days_between(s, deadline(s, n, z), z) == n`` for n >= 1.
        """
        first = self.local_date(start, zone)
        _require_aware(end, "end")
        if end <= start:
            return 0
        last = self.local_date(end, zone)
        self._check_day(first)
        self._check_day(last)
        return (bisect_right(self._working, last.toordinal())
                - bisect_right(self._working, first.toordinal()))


def load_overrides(path: Path) -> list[dict[str, Any]]:
    """Read and validate the SKB override file; ``date`` comes back as a ``date``.

    Format: ``{"_doc": "...", "overrides": [{"date": "YYYY-MM-DD", "working": bool, "name": str,
    "source": str}, ...]}``. ``working: false`` adds a non-working day; ``working: true`` removes a
    holiday. Weekends are never working days, so ``working: true`` on a Saturday or Sunday is an error.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OverrideFileError(f"cannot read working-day override file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise OverrideFileError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("overrides"), list):
        raise OverrideFileError(f"{path}: expected an object with an 'overrides' list")

    entries: list[dict[str, Any]] = []
    seen: set[date] = set()
    for i, item in enumerate(raw["overrides"]):
        where = f"{path}: overrides[{i}]"
        if not isinstance(item, dict):
            raise OverrideFileError(f"{where}: expected an object, got {item!r}")
        missing = sorted(_OVERRIDE_KEYS - item.keys())
        unknown = sorted(item.keys() - _OVERRIDE_KEYS)
        if missing:
            raise OverrideFileError(f"{where}: missing key(s) {', '.join(missing)}")
        if unknown:
            raise OverrideFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
        text = item["date"]
        if not isinstance(text, str) or not _ISO_DATE.match(text):
            raise OverrideFileError(f"{where}: date must be 'YYYY-MM-DD', got {text!r}")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise OverrideFileError(f"{where}: {text!r} is not a real date") from None
        if day in seen:
            raise OverrideFileError(f"{where}: {text} appears more than once")
        seen.add(day)
        if not isinstance(item["working"], bool):
            raise OverrideFileError(f"{where}: working must be true or false, got {item['working']!r}")
        if item["working"] and day.weekday() >= _SATURDAY:
            raise OverrideFileError(f"{where}: {text} is a weekend; weekends are never working days")
        for key in ("name", "source"):
            if not isinstance(item[key], str) or not item[key].strip():
                raise OverrideFileError(f"{where}: {key} must be a non-empty string")
        entries.append({"date": day, "working": item["working"], "name": item["name"], "source": item["source"]})
    return entries


@functools.lru_cache(maxsize=1)
def default_calendar() -> WorkingDayCalendar:
    """The national calendar with the bundled overrides, built once per process."""
    return WorkingDayCalendar.indonesia()
