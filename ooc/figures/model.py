"""What a figure is: counts with the cases behind them, for a period and an `as_of` instant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from ooc.calendar import CALENDAR_FIRST, CALENDAR_LAST, LONDON
from ooc.errors import OocError


class BadPeriod(OocError):
    """A reporting period or `as_of` that figures cannot be worked out for."""


@dataclass(frozen=True)
class Period:
    """Inclusive local dates, and the instant the figures are worked out at."""

    start: date
    end: date
    as_of: datetime

    @classmethod
    def of(cls, start: date, end: date, as_of: datetime | None = None, *,
           now: datetime | None = None) -> Period:
        """`as_of` defaults to the end of the period, or to `now` if the period has not ended
        by then: a period that is still running is worked out as it stands (a milestone due
        today is not yet overdue, nor yet due)."""
        if start > end:
            raise BadPeriod(f"The period starts on {start:%d %B %Y}, after it ends on "
                            f"{end:%d %B %Y}. Give a start date on or before the end date.")
        if start < CALENDAR_FIRST or end > CALENDAR_LAST:
            raise BadPeriod(f"Figures can be worked out for dates from {CALENDAR_FIRST:%Y} to "
                            f"{CALENDAR_LAST:%Y}. Give a period within those years.")
        if as_of is not None:
            as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
            if as_of < local_midnight(start):
                raise BadPeriod(f"The figures cannot be worked out as at {as_of:%d %B %Y %H:%M}, "
                                f"before the period starts on {start:%d %B %Y}. Give a time "
                                "on or after the start of the period.")
            if as_of >= local_midnight(CALENDAR_LAST + timedelta(days=1)):
                raise BadPeriod(f"Figures can be worked out as at a time up to the end of "
                                f"{CALENDAR_LAST:%Y}, not {as_of:%d %B %Y}.")
        if as_of is None:
            as_of = local_midnight(end + timedelta(days=1))
            if now is not None and now.replace(tzinfo=now.tzinfo or UTC) < as_of:
                as_of = now
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        return cls(start, end, as_of.astimezone(UTC))

    @property
    def starts_at(self) -> datetime:
        """The first instant of the period (UTC)."""
        return local_midnight(self.start)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period (UTC)."""
        return local_midnight(self.end + timedelta(days=1))

    @property
    def as_of_date(self) -> date:
        return self.as_of.astimezone(LONDON).date()


def local_midnight(day: date) -> datetime:
    """The UTC instant at which a local (Europe/London) day starts."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def percentage(numerator: int, denominator: int | None) -> int | None:
    """A whole-number percentage, rounded half up; None when there is nothing to divide by."""
    if not denominator:
        return None
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Count:
    """A numerator out of a denominator, each with the ids of its cases."""

    numerator: int
    denominator: int | None = None
    numerator_cases: tuple[int, ...] = ()
    denominator_cases: tuple[int, ...] = ()

    @property
    def percentage(self) -> int | None:
        return percentage(self.numerator, self.denominator)


@dataclass(frozen=True)
class Row:
    """One cell of a breakdown: the values it is grouped by, and its count."""

    group: dict[str, str]
    count: Count


@dataclass(frozen=True)
class Statistic:
    """A median and 90th percentile of working days (figure T5), over the cases behind it."""

    label: str
    cases: int
    median: float | None
    p90: int | None
    case_ids: tuple[int, ...] = ()


class Overdue(Protocol):
    """A milestone past its due date and not done at `as_of` (figure T6): a row of the
    database's result as it comes, since there can be a great many (a hundred thousand would
    take a third of a second more to copy into tuples of our own)."""

    case_id: int
    milestone: str
    deadline: str  # the milestone's name among the workflow's deadlines
    due_on: date
    working_days_overdue: int


@dataclass
class Figure:
    """One figure of METRICS.md, identified by its id ("T1", "D2", ...)."""

    id: str
    title: str
    value: Count | None = None
    breakdowns: dict[str, list[Row]] = field(default_factory=dict)
    statistics: list[Statistic] = field(default_factory=list)
    overdue: Sequence[Overdue] = field(default_factory=list)
    note: str = ""

    def case_ids(self) -> tuple[int, ...]:
        """Every case behind the figure."""
        ids: set[int] = set()
        if self.value is not None:
            ids.update(self.value.denominator_cases or self.value.numerator_cases)
        for rows in self.breakdowns.values():
            for row in rows:
                ids.update(row.count.denominator_cases or row.count.numerator_cases)
        for statistic in self.statistics:
            ids.update(statistic.case_ids)
        ids.update(o.case_id for o in self.overdue)
        return tuple(sorted(ids))
