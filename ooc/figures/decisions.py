"""Decisions, D1 to D8, and first-time entrants (C4): the decisions of the period, all counted
in one pass over `decision_facts` along with the victims' figures (`ooc.figures.victims`)."""

from __future__ import annotations

from sqlalchemy import and_, func, not_, select, true

from ooc.figures.model import Count, Figure, Row
from ooc.figures.sources import DECISION_FACTS, Cube, Measure, Sources, looked_after_label
from ooc.figures.victims import victim_measures
from ooc.models import PanelAttendance, PanelMeeting

D = DECISION_FACTS.c
BREAKDOWNS = ("ethnicity", "sex", "age_band", "looked_after")


def decision_cube(src: Sources) -> Cube:
    return src.cube(DECISION_FACTS, src.period_decisions(), [
        Measure("decisions", true(), true()),
        Measure("D2", true(), D.indicated),
        Measure("formal", true(), D.formal),
        Measure("D3", not_(D.indicated), D.rationale),
        Measure("D4", true(), D.countersigned_before),
        Measure("D5", true(), D.quorate),
        Measure("D7", true(), D.child_views),
        Measure("D8", true(), D.parent_views),
        Measure("C4", true(), D.first_time),
        *victim_measures(src),
    ], {"ethnicity": D.ethnicity, "sex": D.sex, "age_band": D.age_band,
        "looked_after": looked_after_label(D.looked_after), "outcome": D.outcome})


def outcome_mix(decisions: Cube) -> Figure:
    """D1: each outcome out of all decisions, and the same within each breakdown group; and the
    formal-outcome rate, which METRICS.md breaks down with D1."""
    figure = Figure("D1", "Outcome mix", decisions.count("decisions"))
    for by in ((), *[(name,) for name in BREAKDOWNS]):
        figure.breakdowns["outcome" if not by else by[0]] = _shares(decisions, by)
    figure.breakdowns["formal"] = decisions.rows("formal", ())
    for name in BREAKDOWNS:
        figure.breakdowns[f"formal by {name}"] = decisions.rows("formal", (name,))
    return figure


def _shares(decisions: Cube, by: tuple[str, ...]) -> list[Row]:
    """Decisions of each outcome (numerator) out of the decisions of their group."""
    totals = {tuple(r.group.values()): r.count for r in decisions.rows("decisions", by)}
    result = []
    for row in decisions.rows("decisions", (*by, "outcome")):
        total = totals[tuple(v for k, v in row.group.items() if k != "outcome")]
        result.append(Row(row.group, Count(row.count.denominator, total.denominator,
                                           row.count.denominator_cases,
                                           total.denominator_cases)))
    return result


def meeting_attendance(src: Sources) -> Figure:
    """D6: panel meetings held in the period, and how many each agency attended."""
    meetings = PanelMeeting.__table__
    attendance = PanelAttendance.__table__
    in_period = and_(meetings.c.held_on.between(src.period.start, src.period.end),
                     meetings.c.created_at <= src.period.as_of)
    held = src.session.execute(select(func.count()).where(in_period)).scalar()
    cases = src.ids(select(D.case_id).distinct().where(
        src.by_as_of(D.at), D.meeting_id.in_(select(meetings.c.id).where(in_period))))
    figure = Figure("D6", "Agency attendance at panel meetings",
                    Count(int(held), None, cases, cases),
                    note="Counts are panel meetings; the cases are those decided at them.")
    per_agency = src.session.execute(
        select(attendance.c.agency, func.count())
        .join(meetings, meetings.c.id == attendance.c.meeting_id)
        .where(in_period).group_by(attendance.c.agency).order_by(attendance.c.agency)).all()
    figure.breakdowns["agency"] = [Row({"agency": agency}, Count(int(n), int(held)))
                                   for agency, n in per_agency]
    return figure


def decision_figures(decisions: Cube, attendance: Figure) -> list[Figure]:
    d2 = Figure("D2", "Consistent with the gravity score", decisions.count("D2"))
    for name in BREAKDOWNS:
        d2.breakdowns[name] = decisions.rows("D2", (name,))
    return [
        outcome_mix(decisions),
        d2,
        Figure("D3", "Deviations with a rationale", decisions.count("D3")),
        Figure("D4", "Based on a countersigned assessment", decisions.count("D4")),
        Figure("D5", "Agreed by a quorate multi-agency panel", decisions.count("D5")),
        attendance,
        Figure("D7", "Child's views recorded", decisions.count("D7")),
        Figure("D8", "Parent's or carer's views recorded", decisions.count("D8")),
        Figure("C4", "First-time entrants", decisions.count("C4")),
    ]
