"""Outcomes, O1 to O3: interventions that ended in the period; counted in one pass over the
period's `step_facts` with the submissions of Q1 and Q2 (`ooc.figures.oversight`)."""

from __future__ import annotations

from sqlalchemy import and_, case, literal, true

from ooc.figures.model import Count, Figure, Row
from ooc.figures.oversight import oversight_measures
from ooc.figures.sources import STEP_FACTS, Cube, Measure, Sources

S = STEP_FACTS.c


def step_cube(src: Sources) -> Cube:
    ending = S.kind == "ending"
    return src.cube(STEP_FACTS, src.in_period(S.at), [
        *oversight_measures(src),
        Measure("O1", ending, S.completed),
        Measure("O2", and_(ending, S.trigger == "breach"), true()),
        Measure("O3", and_(ending, S.trigger == "complete"), S.feedback),
    ])


def reconsidered(src: Sources) -> list[Row]:
    """O2's breakdown: the breaches of the period by the panel's next decision, if it was made
    by `as_of` (a pass over the breaches only, so the period's other steps are not sorted)."""
    next_decision = case((src.by_as_of(S.next_at), S.next_outcome),
                         else_=literal("not yet decided"))
    breaches = src.cube(STEP_FACTS, and_(src.in_period(S.at), S.trigger == "breach"),
                        [Measure("O2", true(), true())], {"outcome": next_decision})
    return [Row(row.group, Count(row.count.numerator, None, row.count.numerator_cases))
            for row in breaches.rows("O2", ("outcome",))]


def outcome_figures(ended: Cube, reconsidered: list[Row]) -> list[Figure]:
    breaches = ended.count("O2")
    o2 = Figure("O2", "Breaches reconsidered",
                Count(breaches.numerator, None, breaches.numerator_cases,
                      breaches.numerator_cases))
    o2.breakdowns["panel decision"] = reconsidered
    return [Figure("O1", "Interventions completed (YJB KPI 6)", ended.count("O1")), o2,
            Figure("O3", "Exit feedback", ended.count("O3"))]
