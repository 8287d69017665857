"""Children, C1 to C3: who the cohort is, and disproportionality."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, case, or_, select, true

from ooc.figures.model import Count, Figure, Row
from ooc.figures.sources import (
    CASE_FACTS,
    DECISION_FACTS,
    Cube,
    Measure,
    Sources,
    looked_after_label,
)
from ooc.figures.timeliness import milestone_measures

F = CASE_FACTS.c


def formal_by_as_of(src: Sources) -> ColumnElement[bool]:
    """The case's last decision by `as_of` is a formal outcome: its last decision of all when
    that was made by then, otherwise the one whose successor came after `as_of`."""
    d = DECISION_FACTS.c
    then = (select(d.formal).where(d.case_id == F.case_id, d.at <= src.period.as_of,
                                   or_(d.next_at.is_(None), d.next_at > src.period.as_of))
            .correlate_except(DECISION_FACTS).scalar_subquery())
    return case((F.last_decided_at <= src.period.as_of, F.last_formal), else_=then)


def cohort_cube(src: Sources) -> Cube:
    """The period's cases by ethnicity, looked-after status and age band: the timeliness
    measures (T1 to T4), the cohort itself, and the formal-outcome rate of those decided."""
    return src.cube(CASE_FACTS, src.cohort(), [
        Measure("cohort", true(), true()),
        Measure("formal", src.by_as_of(F.decided_at), formal_by_as_of(src)),
        *milestone_measures(src),
    ], {"ethnicity": F.ethnicity, "looked_after": looked_after_label(F.looked_after),
        "age_band": F.age_band})


def _part(part: Count, whole: Count) -> Count:
    """The cases of `part` as a numerator out of `whole`."""
    return Count(part.denominator or 0, whole.denominator, part.denominator_cases,
                 whole.denominator_cases)


def children_figures(cohort: Cube, population: Mapping[str, int]) -> list[Figure]:
    everyone = cohort.count("cohort")
    c1 = Figure("C1", "Very young children (10 to 12)",
                _part(cohort.count("cohort", {"age_band": "10-12"}), everyone))
    c2 = Figure("C2", "Looked-after children",
                _part(cohort.count("cohort", {"looked_after": "looked after"}), everyone))
    c2.breakdowns["formal-outcome rate"] = cohort.rows("formal", ("looked_after",))
    c3 = Figure("C3", "Disproportionality", everyone,
                note="Share of the cohort ÷ share of the local 10-17 population; "
                     "formal-outcome rate ÷ the White group's rate.")
    c3.breakdowns["cohort"] = cohort.rows("cohort", ("ethnicity",))
    c3.breakdowns["formal-outcome rate"] = cohort.rows("formal", ("ethnicity",))
    c3.breakdowns["ratios"] = disproportionality(everyone, c3.breakdowns["cohort"],
                                                 c3.breakdowns["formal-outcome rate"],
                                                 population)
    return [c1, c2, c3]


def disproportionality(everyone: Count, cohort: list[Row], formal: list[Row],
                       population: Mapping[str, int]) -> list[Row]:
    """Per ethnicity rollup, the two ratios of C3 (as text, to two decimal places)."""
    total_population = sum(population.values())
    rates = {r.group["ethnicity"]: r.count for r in formal}
    white = rates.get("White")
    white_rate = (white.numerator / white.denominator) if white and white.denominator else 0
    result = []
    for group in sorted(set(population) | {r.group["ethnicity"] for r in cohort}):
        in_cohort = next((r.count for r in cohort if r.group["ethnicity"] == group), Count(0, 0))
        share = in_cohort.denominator / everyone.denominator if everyone.denominator else 0
        population_share = population.get(group, 0) / total_population if total_population else 0
        rate = rates.get(group)
        own_rate = rate.numerator / rate.denominator if rate and rate.denominator else None
        result.append(Row({"ethnicity": group,
                           "cohort_ratio": _ratio(share, population_share),
                           "formal_ratio": _ratio(own_rate, white_rate)},
                          in_cohort))
    return result


def _ratio(a: float | None, b: float) -> str:
    return "" if a is None or not b else f"{a / b:.2f}"
