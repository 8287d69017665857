"""Check submitted form data against the fields a workflow declares.

Values may come from an HTML form (all text) or from JSON; both are turned into Python values
(bool, int, date, str) with one plain-words problem per bad field.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from ooc.calendar import CALENDAR_LAST, uk_date
from ooc.definitions import FormField
from ooc.errors import FieldProblem
from ooc.inputs import EARLIEST_DATE, MAX_ID, MAX_WHOLE_NUMBER, NUL_MESSAGE, has_nul, whole_number

TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _coerce(f: FormField, value: Any) -> Any:
    """The field's value as a Python value; raises ValueError with a message for the user."""
    if f.type in ("string", "text"):
        if not isinstance(value, str):
            raise ValueError(f"{f.label} must be text.")
        if has_nul(value):
            raise ValueError(f"{f.label} {NUL_MESSAGE}")
        value = value.strip()
        if f.max_length is not None and len(value) > f.max_length:
            raise ValueError(f"{f.label} must be {f.max_length:,} characters or fewer "
                             f"(it has {len(value):,}).")
        return value
    if f.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise ValueError(f"{f.label}: answer yes or no.")
    if f.type in ("int", "meeting"):
        if isinstance(value, bool):
            raise ValueError(f"{f.label} must be a whole number.")
        number = _whole_number(value)
        if number is None:
            raise ValueError(f"{f.label} must be a whole number.")
        if f.type == "meeting":
            if not 1 <= number <= MAX_ID:
                raise ValueError(f"{f.label}: choose a panel meeting.")
            return number
        low = f.minimum if f.minimum is not None else -MAX_WHOLE_NUMBER
        high = f.maximum if f.maximum is not None else MAX_WHOLE_NUMBER
        if not low <= number <= high:
            raise ValueError(f"{f.label} must be between {low:,} and {high:,}.")
        return number
    if f.type == "date":
        day = _date(value)
        if day is None:
            raise ValueError(
                f"{f.label} must be a real date, written as year-month-day, "
                "for example 2026-03-27."
            )
        if not EARLIEST_DATE <= day <= CALENDAR_LAST:
            raise ValueError(f"{f.label} must be between {uk_date(EARLIEST_DATE)} and "
                             f"{uk_date(CALENDAR_LAST)}.")
        return day
    if f.type == "choice":
        allowed = {o.value for o in f.options}
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{f.label}: choose one of the options given.")
        return value
    raise ValueError(f"{f.label} has an unknown type.")


def _whole_number(value: Any) -> int | None:
    """A whole number from JSON (an int, or a float with no fraction) or typed text in ASCII
    digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return whole_number(value) if isinstance(value, str) else None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    # fromisoformat also reads '20260327' and '2026-W13-5'; a form writes year-month-day.
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
                                                      value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _missing_message(f: FormField) -> str:
    label = f.label[0].lower() + f.label[1:]
    if f.type == "bool":
        return f"Answer yes or no: {label}."
    if f.type in ("choice", "meeting"):
        return f"Choose {label}."
    return f"Enter {label}."


def clean_form(
    fields: tuple[FormField, ...], raw: dict[str, Any]
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The values of the declared fields, and a problem for each bad or unknown one."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    declared = {f.name for f in fields}
    for name in raw:
        if name not in declared:
            problems.append(FieldProblem(name, f"'{name}' is not a field of this form."))
    for f in fields:
        value = raw.get(f.name)
        if _is_blank(value):
            if f.required:
                problems.append(FieldProblem(f.name, _missing_message(f)))
            continue
        try:
            values[f.name] = _coerce(f, value)
        except ValueError as e:
            problems.append(FieldProblem(f.name, str(e)))
    return values, problems


def to_json(values: dict[str, Any]) -> dict[str, Any]:
    """Form values as stored in records and audit events (dates as ISO text)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
