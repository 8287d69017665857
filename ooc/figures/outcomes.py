"""Outcomes, O1 to O3: interventions that ended in the period (one pass over `step_facts`)."""

from __future__ import annotations

from sqlalchemy import and_, case, literal, true

from ooc.figures.model import Count, Figure, Row
from ooc.figures.sources import STEP_FACTS, Measure, Sources

S = STEP_FACTS.c


def outcome_figures(src: Sources) -> list[Figure]:
    breach = S.trigger == "breach"
    # After a breach, the panel's next decision if it was made by `as_of`.
    next_decision = case((and_(breach, src.by_as_of(S.next_at)), S.next_outcome),
                         (breach, literal("not yet decided")), else_=literal(""))
    ended = src.cube(STEP_FACTS, and_(S.kind == "ending", src.in_period(S.at)), [
        Measure("O1", true(), S.completed),
        Measure("O2", breach, true()),
        Measure("O3", S.trigger == "complete", S.feedback),
    ], {"outcome": next_decision})
    rows = [Row(row.group, Count(row.count.numerator, None, row.count.numerator_cases))
            for row in ended.rows("O2", ("outcome",))]
    breaches = ended.count("O2")
    o2 = Figure("O2", "Breaches reconsidered",
                Count(breaches.numerator, None, breaches.numerator_cases,
                      breaches.numerator_cases))
    o2.breakdowns["panel decision"] = rows
    return [Figure("O1", "Interventions completed (YJB KPI 6)", ended.count("O1")), o2,
            Figure("O3", "Exit feedback", ended.count("O3"))]
