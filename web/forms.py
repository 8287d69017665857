"""Between HTML forms and the engine: submitted text to engine values, engine problems to
GOV.UK error messages on the right fields."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData

from ooc.definitions import FormField
from ooc.errors import GuardsFailed, InvalidForm, OocError

# Fields every form carries that are not the workflow's.
CONTROL_FIELDS = {"csrf_token", "expected_version", "reason", "reason_code"}


def date_parts(day: date | None) -> dict[str, str]:
    """A date as the boxes of a GOV.UK date input show it."""
    if day is None:
        return {}
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def date_from_parts(form: FormData, name: str) -> tuple[str | None, dict[str, str]]:
    """A GOV.UK date input's boxes as a year-month-day text (checked later), and the boxes."""
    parts = {part: (form.get(f"{name}-{part}") or "").strip() for part in ("day", "month", "year")}
    if not any(parts.values()):
        return None, parts
    # ASCII digits only: str.isdigit() also passes '²', which int() then cannot read.
    if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts.values()):
        return "not a date", parts
    return f"{int(parts['year']):04d}-{int(parts['month']):02d}-{int(parts['day']):02d}", parts


def read_form(fields: tuple[FormField, ...], form: FormData) -> tuple[dict[str, Any],
                                                                     dict[str, Any]]:
    """The engine's data (blank answers left out) and what to show again if it is refused."""
    data: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    for field in fields:
        if field.type == "date":
            value, shown[field.name] = date_from_parts(form, field.name)
        else:
            value = form.get(field.name)
            shown[field.name] = value
        if value not in (None, ""):
            data[field.name] = value
    # A question hidden by the answer it hangs on is not recorded, whatever its box still holds.
    for field in fields:
        if field.revealed_by and shown.get(field.revealed_by) not in field.revealed_when:
            data.pop(field.name, None)
    return data, shown


def form_values(fields: tuple[FormField, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Recorded engine values as a form shows them (the inverse of `read_form`)."""
    shown: dict[str, Any] = {}
    for field in fields:
        value = data.get(field.name)
        if value is None:
            continue
        if field.type == "date":
            shown[field.name] = date_parts(date.fromisoformat(str(value)))
        elif field.type == "bool":
            shown[field.name] = "yes" if value else "no"
        else:
            shown[field.name] = str(value)
    return shown


def problems_of(error: OocError) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The error summary's list and the message for each field, from an engine refusal."""
    if isinstance(error, InvalidForm):
        errors = {}
        for p in error.problems:
            errors.setdefault(p.field, p.message)
        summary = [{"text": p.message, "href": f"#{p.field}"} for p in error.problems]
        return summary, errors
    reasons = error.reasons if isinstance(error, GuardsFailed) and error.reasons else [
        error.message]
    # A condition about one field is shown by that field, like a bad answer.
    fields = {p.message: p.field
              for p in (error.problems if isinstance(error, GuardsFailed) else [])}
    errors = {}
    for message, field in fields.items():
        errors.setdefault(field, message)
    return [{"text": r, "href": f"#{fields[r]}" if r in fields else "#action-form"}
            for r in reasons], errors
