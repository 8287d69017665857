"""Working days in England and Wales, and local (Europe/London) dates of UTC instants.

A working day is Monday to Friday, except England and Wales bank holidays (including substitute
days), which come from the `holidays` library rather than a hand-typed list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


def local_date(at: datetime) -> date:
    """The Europe/London date of an instant (naive datetimes are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LONDON).date()


def to_utc(at: datetime) -> datetime:
    """An aware UTC instant (naive datetimes are taken as UTC), as instants are stored."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


class WorkingDayCalendar:
    def __init__(self, bank_holidays: holidays.HolidayBase | None = None):
        # England and Wales share their bank holidays; "ENG" is the library's name for both.
        self._bank_holidays = bank_holidays or holidays.country_holidays("GB", subdiv="ENG")
        self.is_working_day = lru_cache(maxsize=8192)(self._is_working_day)

    def _is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._bank_holidays

    def bank_holiday_name(self, day: date) -> str | None:
        return self._bank_holidays.get(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself is day 0, whatever day it is)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative when `end` is earlier."""
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


ENGLAND_AND_WALES = WorkingDayCalendar()

# The days the database's calendar table holds (figures for other dates are refused).
CALENDAR_FIRST, CALENDAR_LAST = date(2000, 1, 1), date(2060, 12, 31)


def quarter_of(day: date) -> tuple[date, date]:
    """The calendar quarter holding `day`: its first and last dates."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    next_first = date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return first, next_first - timedelta(days=1)


def calendar_rows(calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> list[dict]:
    """The rows of the `calendar_days` table."""
    rows, count, day = [], 0, CALENDAR_FIRST
    while day <= CALENDAR_LAST:
        working = calendar.is_working_day(day)
        count += working
        rows.append({"day": day, "working": working, "working_days_to": count})
        day += timedelta(days=1)
    return rows


def uk_date(day: date | None) -> str:
    """A date as GOV.UK writes it: 5 March 2026."""
    return f"{day.day} {day:%B %Y}" if day else "Not given"


def uk_time(at: datetime) -> str:
    """An instant as a UK local date and time: 5 March 2026 at 2:05pm."""
    local = to_utc(at).astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{uk_date(local.date())} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"
