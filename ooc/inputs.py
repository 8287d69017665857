"""The limits every input meets, whichever way it comes in (a page, the API, a file, the
command line), so that bad input is refused with a message before the database sees it.

Each limit is one the databases would otherwise enforce with an error nobody can read: an id
beyond PostgreSQL's `integer`, a NUL character (PostgreSQL's text cannot hold one), a number
that is not finite, a date outside the working-day calendar.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Any

from ooc.calendar import CALENDAR_FIRST, CALENDAR_LAST, uk_date

# The largest id a row can have: PostgreSQL's `integer` (SQLite's would go to 2**63 - 1).
MAX_ID = 2**31 - 1
# The largest whole number any field takes (a count, a version): also PostgreSQL's `integer`.
MAX_WHOLE_NUMBER = MAX_ID

# Default lengths of free text, where the workflow does not declare one: a line of text, and
# an answer of several paragraphs (about 3,000 words).
STRING_MAX_LENGTH = 300
TEXT_MAX_LENGTH = 20_000

# Dates any form takes. Dates of birth may be older than the working-day calendar; the dates
# deadlines are counted from must lie inside it, with a year to spare for the deadlines'
# own working days (see `calendar_date_problem`).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_CALENDAR_START = CALENDAR_LAST - timedelta(days=366)

NUL = "\x00"
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


def whole_number(text: str) -> int | None:
    """The number `text` writes in ASCII digits, or None. Python's int() also reads other
    scripts' digits ('١٢' is 12) and underscores ('1_000'); nobody types those on purpose."""
    text = text.strip()
    if not _WHOLE_NUMBER.fullmatch(text) or len(text) > 30:
        return None
    return int(text)


def id_or_none(value: Any) -> int | None:
    """An id typed or sent as text, or None when it cannot name a row (not a number, or out
    of the range of ids): callers answer "not found"."""
    number = whole_number(value) if isinstance(value, str) else (
        value if isinstance(value, int) and not isinstance(value, bool) else None)
    return number if number is not None and 1 <= number <= MAX_ID else None


def finite_number(text: str) -> float | None:
    """A decimal number in ASCII digits, or None ('nan', 'inf' and '1e400' are not numbers
    anyone means)."""
    text = text.strip()
    if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def has_nul(value: Any) -> bool:
    """Whether a text, or any text inside a list or mapping, holds a NUL character."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def too_long(**fields: tuple[str, str | None, int]) -> list[tuple[str, str]]:
    """(name, message) for each text longer than its limit; fields are given as
    name=(label, text, limit)."""
    return [(name, f"{label} must be {limit:,} characters or fewer (this one has "
                   f"{len(text):,}).")
            for name, (label, text, limit) in fields.items() if text and len(text) > limit]


NUL_MESSAGE = ("contains a NUL character (a zero byte), which cannot be stored. Remove it and "
               "try again.")


def calendar_date_problem(label: str, day: date) -> str | None:
    """Why working days cannot be counted from `day`, if they cannot."""
    if CALENDAR_FIRST <= day <= LATEST_CALENDAR_START:
        return None
    return (f"{label} ({uk_date(day)}) is outside the dates the service counts working days "
            f"for. Enter a date from {uk_date(CALENDAR_FIRST)} to "
            f"{uk_date(LATEST_CALENDAR_START)}.")
