"""Working days in England and Wales, and local dates of UTC instants."""

from datetime import UTC, date, datetime

import pytest

from ooc.calendar import ENGLAND_AND_WALES as calendar
from ooc.calendar import local_date


def test_weekends_and_bank_holidays_are_not_working_days():
    assert calendar.is_working_day(date(2026, 3, 2))  # a Monday
    assert not calendar.is_working_day(date(2026, 3, 7))  # Saturday
    assert not calendar.is_working_day(date(2026, 4, 3))  # Good Friday
    assert not calendar.is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not calendar.is_working_day(date(2026, 12, 28))  # Boxing Day (substitute day)
    assert calendar.bank_holiday_name(date(2026, 8, 31)) == "Late Summer Bank Holiday"


def test_add_working_days_counts_from_day_zero():
    monday = date(2026, 3, 2)
    assert calendar.add_working_days(monday, 0) == monday
    assert calendar.add_working_days(monday, 1) == date(2026, 3, 3)
    assert calendar.add_working_days(monday, 10) == date(2026, 3, 16)
    # From a Saturday, day 1 is the Monday.
    assert calendar.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


def test_easter_pushes_a_deadline_back_two_days():
    # Thursday 26 March 2026 + 10 working days would be Thursday 9 April without Easter.
    assert calendar.add_working_days(date(2026, 3, 26), 10) == date(2026, 4, 13)


def test_working_days_between_is_signed():
    assert calendar.working_days_between(date(2026, 3, 2), date(2026, 3, 16)) == 10
    assert calendar.working_days_between(date(2026, 3, 16), date(2026, 3, 2)) == -10
    assert calendar.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert calendar.working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1


def test_negative_working_days_are_refused():
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 3, 2), -1)


def test_local_date_follows_british_summer_time():
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    assert local_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == date(2026, 7, 1)
    # In winter London is on UTC.
    assert local_date(datetime(2026, 1, 15, 23, 30, tzinfo=UTC)) == date(2026, 1, 15)
