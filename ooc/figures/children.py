"""Children, C1 to C3: who the cohort is, and disproportionality."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Subquery, and_, func, literal, select

from ooc.figures.model import Count, Figure, Row
from ooc.figures.sources import CASES, EVENTS, Sources


def cohort_rows(src: Sources) -> Subquery:
    """The cohort, with each case's last decision by `as_of` (if any) and its breakdowns."""
    last = (select(EVENTS.c.case_id, func.max(EVENTS.c.seq).label("seq"))
            .where(EVENTS.c.trigger == "record_decision", src.by_as_of())
            .group_by(EVENTS.c.case_id).subquery("last_decision"))
    decision = EVENTS.alias("decision")
    outcome = decision.c.data["outcome"].as_string()
    return (select(CASES.c.id.label("case_id"),
                   (decision.c.id.is_not(None)).label("decided"),
                   src.formal(outcome).label("formal"),
                   *[column.label(name) for name, column in src.dimensions().items()])
            .select_from(CASES.outerjoin(last, last.c.case_id == CASES.c.id)
                         .outerjoin(decision, and_(decision.c.case_id == last.c.case_id,
                                                   decision.c.seq == last.c.seq)))
            .where(src.cohort()).subquery("cohort"))


def _hits(cohort: Subquery, hit, where=None) -> Subquery:
    query = select(cohort.c.case_id, hit.label("hit"), cohort.c.ethnicity,
                   cohort.c.looked_after)
    return (query if where is None else query.where(where)).subquery("rows")


def children_figures(src: Sources, population: Mapping[str, int]) -> list[Figure]:
    cohort = cohort_rows(src)
    everyone = src.count(_hits(cohort, literal(True)))
    c1 = Figure("C1", "Very young children (10 to 12)",
                src.count(_hits(cohort, cohort.c.age_band == "10-12")))
    c2 = Figure("C2", "Looked-after children",
                src.count(_hits(cohort, cohort.c.looked_after == "looked after")))
    formal = _hits(cohort, cohort.c.formal, cohort.c.decided)
    c2.breakdowns["formal-outcome rate"] = src.tally(formal, ("looked_after",))
    c3 = Figure("C3", "Disproportionality", everyone,
                note="Share of the cohort ÷ share of the local 10-17 population; "
                     "formal-outcome rate ÷ the White group's rate.")
    c3.breakdowns["cohort"] = src.tally(_hits(cohort, literal(True)), ("ethnicity",))
    c3.breakdowns["formal-outcome rate"] = src.tally(formal, ("ethnicity",))
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
