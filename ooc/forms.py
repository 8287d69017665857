"""Check submitted form data against the fields a workflow declares.

Values may come from an HTML form (all text) or from JSON; both are turned into Python values
(bool, int, date, str) with one plain-words problem per bad field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ooc.definitions import FormField
from ooc.errors import FieldProblem

TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _coerce(f: FormField, value: Any) -> Any:
    """The field's value as a Python value; raises ValueError with a message for the user."""
    if f.type in ("string", "text"):
        if not isinstance(value, str):
            raise ValueError(f"{f.label} must be text.")
        return value.strip()
    if f.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        raise ValueError(f"{f.label}: answer yes or no.")
    if f.type in ("int", "meeting"):
        if isinstance(value, bool):
            raise ValueError(f"{f.label} must be a whole number.")
        try:
            number = int(value.strip()) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{f.label} must be a whole number.") from None
        if isinstance(value, float) and value != number:
            raise ValueError(f"{f.label} must be a whole number.")
        if f.minimum is not None and number < f.minimum or (
                f.maximum is not None and number > f.maximum):
            raise ValueError(f"{f.label} must be between {f.minimum} and {f.maximum}.")
        if f.type == "meeting" and number < 1:
            raise ValueError(f"{f.label}: choose a panel meeting.")
        return number
    if f.type == "date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value.strip())
        except (AttributeError, ValueError):
            raise ValueError(
                f"{f.label} must be a real date, written as year-month-day, "
                "for example 2026-03-27."
            ) from None
    if f.type == "choice":
        allowed = {o.value for o in f.options}
        if value not in allowed:
            raise ValueError(f"{f.label}: choose one of the options given.")
        return value
    raise ValueError(f"{f.label} has an unknown type.")


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
