"""Figures as the board reads them: suppressed (unless raw), with targets and RAG ratings, as
plain data that every format of the board pack and the dashboard is written from."""

from __future__ import annotations

from typing import Any

from ooc.figures import FiguresConfig, Target
from ooc.figures.model import Count, Figure, Row
from ooc.figures.suppression import SUPPRESSED, is_small, suppressed_cells


def rag(percentage: int | None, target: Target | None) -> str | None:
    """"green", "amber" or "red" against a target; None without a target or a percentage."""
    if target is None or percentage is None:
        return None
    if target.lower_is_better:
        return ("green" if percentage <= target.green else
                "amber" if percentage <= target.amber else "red")
    return "green" if percentage >= target.green else "amber" if percentage >= target.amber \
        else "red"


def _cell(count: Count, hide_numerator: bool, hide_denominator: bool,
          raw: bool) -> dict[str, Any]:
    if raw:
        hide_numerator = hide_denominator = False
    return {
        "numerator": SUPPRESSED if hide_numerator else count.numerator,
        "denominator": SUPPRESSED if hide_denominator else count.denominator,
        "percentage": (SUPPRESSED if hide_numerator or hide_denominator
                       else count.percentage),
    }


def present_value(count: Count | None, threshold: int, raw: bool) -> dict[str, Any]:
    if count is None:
        return {"numerator": None, "denominator": None, "percentage": None}
    return _cell(count, is_small(count.numerator, threshold),
                 is_small(count.denominator, threshold), raw)


def present_breakdown(rows: list[Row], threshold: int, raw: bool) -> list[dict[str, Any]]:
    """A breakdown table, suppressed as one table: numerators and denominators are columns
    whose totals are the figure's own (shown), and a two-way breakdown (D1 by a group) also has
    rows whose totals are the groups' decisions."""
    numerators = {i: row.count.numerator for i, row in enumerate(rows)}
    denominators = {i: row.count.denominator or 0 for i, row in enumerate(rows)}
    keys = list(numerators)
    lines = [keys]
    two_way = rows and len(rows[0].group) == 2
    if two_way:
        first, second = list(rows[0].group)
        for name in (first, second):
            for value in {row.group[name] for row in rows}:
                lines.append([i for i in keys if rows[i].group[name] == value])
    hidden_numerators = suppressed_cells(numerators, lines, threshold)
    hidden_denominators = suppressed_cells(
        denominators, [keys] if not two_way else [], threshold)
    return [{"group": row.group,
             **_cell(row.count, i in hidden_numerators, i in hidden_denominators, raw)}
            for i, row in enumerate(rows)]


def present_figure(figure: Figure, config: FiguresConfig, *, raw: bool = False,
                   previous: Figure | None = None) -> dict[str, Any]:
    threshold = config.suppression_threshold
    target = config.targets.get(figure.id)
    value = present_value(figure.value, threshold, raw)
    shown_percentage = value["percentage"] if value["percentage"] != SUPPRESSED else None
    data: dict[str, Any] = {
        "id": figure.id,
        "title": figure.title,
        **value,
        "target": None if target is None else {
            "green": target.green, "amber": target.amber,
            "lower_is_better": target.lower_is_better},
        "rag": rag(figure.value.percentage if figure.value else None, target),
        "note": figure.note,
        "breakdowns": {name: present_breakdown(rows, threshold, raw)
                       for name, rows in figure.breakdowns.items()},
    }
    if figure.statistics:
        data["statistics"] = [{"stage": s.label, "cases": s.cases, "median": s.median,
                               "p90": s.p90} for s in figure.statistics]
    if figure.overdue and raw:  # a list of cases: never in what the board sees
        data["overdue"] = [{"case_id": o.case_id, "milestone": o.milestone,
                            "due_on": o.due_on.isoformat(),
                            "working_days_overdue": o.working_days_overdue}
                           for o in figure.overdue]
    if previous is not None and previous.value is not None:
        before = present_value(previous.value, threshold, raw)["percentage"]
        data["previous_percentage"] = before
        if isinstance(before, int) and isinstance(shown_percentage, int):
            data["change"] = shown_percentage - before
    if raw:
        data["case_ids"] = list(figure.case_ids())
    return data
