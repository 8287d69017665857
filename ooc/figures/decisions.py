"""Decisions, D1 to D8, and first-time entrants (C4): the decisions of the period."""

from __future__ import annotations

from sqlalchemy import Subquery, and_, func, literal, not_, or_, select

from ooc.figures.model import Count, Figure, Row
from ooc.figures.sources import EVENTS, Sources, not_blank
from ooc.figures.sql import id_list, parse_ids
from ooc.models import PanelAttendance, PanelMeeting

BREAKDOWNS = ("ethnicity", "sex", "age_band", "looked_after")
FIRST_TIME_OUTCOMES = ("youth_caution", "youth_conditional_caution")


def rows(decisions: Subquery, hit, where=None) -> Subquery:
    query = select(decisions.c.case_id, hit.label("hit"),
                   *[decisions.c[name] for name in ("outcome", *BREAKDOWNS)])
    if where is not None:
        query = query.where(where)
    return query.subquery("rows")


def with_breakdowns(src: Sources, figure: Figure, subquery: Subquery) -> Figure:
    for name in BREAKDOWNS:
        figure.breakdowns[name] = src.tally(subquery, (name,))
    return figure


def outcome_mix(src: Sources, decisions: Subquery) -> Figure:
    """D1: each outcome out of all decisions, and the same within each breakdown group."""
    figure = Figure("D1", "Outcome mix", src.count(rows(decisions, literal(True))))
    figure.breakdowns["outcome"] = _shares(src, decisions, ())
    for name in BREAKDOWNS:
        figure.breakdowns[name] = _shares(src, decisions, (name,))
    return figure


def _shares(src: Sources, decisions: Subquery, by: tuple[str, ...]) -> list[Row]:
    """Decisions of each outcome (numerator) out of the decisions of their group."""
    result = []
    totals = {tuple(r.group.values()): r.count for r in
              src.tally(rows(decisions, literal(True)), by)}
    for row in src.tally(rows(decisions, literal(True)), (*by, "outcome")):
        group_key = tuple(v for k, v in row.group.items() if k != "outcome")
        total = totals[group_key]
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
    decided = EVENTS.alias("decided")
    cases = (select(decided.c.case_id).distinct()
             .where(decided.c.trigger == "record_decision", src.by_as_of(decided),
                    decided.c.data["meeting_id"].as_integer().in_(
                        select(meetings.c.id).where(in_period)))
             .subquery("cases"))
    cases = parse_ids(src.session.execute(select(id_list(cases.c.case_id))).scalar())
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


def formal_given_before(src: Sources, d: Subquery):
    """A formal outcome decided, and signed off, on the same case before this decision (after a
    breach): the child is no longer a first-time entrant, whatever the referral said."""
    formal_codes = sorted({o.code for definition in src.registry
                           for o in definition.outcomes.values() if o.formal})
    earlier, signed = EVENTS.alias("earlier_decision"), EVENTS.alias("signed")
    signed_off = (select(signed.c.id)
                  .where(signed.c.case_id == d.c.case_id, signed.c.trigger == "sign_off",
                         signed.c.seq > earlier.c.seq, signed.c.seq < d.c.seq)
                  .correlate_except(signed).exists())
    return (select(earlier.c.id)
            .where(earlier.c.case_id == d.c.case_id, earlier.c.seq < d.c.seq,
                   earlier.c.trigger == "record_decision",
                   earlier.c.data["outcome"].as_string().in_(formal_codes), signed_off)
            .correlate_except(earlier).exists())


def decision_figures(src: Sources) -> list[Figure]:
    d = src.decisions()
    meetings = PanelMeeting.__table__
    quorate = (select(meetings.c.id).where(meetings.c.id == d.c.meeting_id, meetings.c.quorate)
               .exists())
    countersigned_before = src.event_before(d.c.case_id, d.c.seq, "countersign")
    child_views = or_(not_blank(d.c.child_views), src.event_before(
        d.c.case_id, d.c.seq, "submit_assessment",
        lambda e: not_blank(e.c.data["child_views"].as_string())))
    parent_views = or_(not_blank(d.c.parent_views), not_blank(d.c.parent_views_reason),
                       src.event_before(d.c.case_id, d.c.seq, "submit_assessment",
                                        lambda e: or_(
                                            not_blank(e.c.data["parent_views"].as_string()),
                                            not_blank(e.c.data["parent_views_reason"]
                                                      .as_string()))))
    first_time = and_(d.c.outcome.in_(FIRST_TIME_OUTCOMES), d.c.previous_formal_outcomes == 0,
                      not_(formal_given_before(src, d)))
    mix = outcome_mix(src, d)
    # METRICS.md breaks the formal-outcome rate down with D1, so it is part of D1.
    formal = rows(d, d.c.formal)
    mix.breakdowns["formal"] = src.tally(formal)
    for name in BREAKDOWNS:
        mix.breakdowns[f"formal by {name}"] = src.tally(formal, (name,))
    figures = [
        mix,
        with_breakdowns(src, Figure("D2", "Consistent with the gravity score",
                                    src.count(rows(d, d.c.indicated))),
                        rows(d, d.c.indicated)),
        Figure("D3", "Deviations with a rationale",
               src.count(rows(d, not_blank(d.c.deviation_rationale), not_(d.c.indicated)))),
        Figure("D4", "Based on a countersigned assessment",
               src.count(rows(d, countersigned_before))),
        Figure("D5", "Agreed by a quorate multi-agency panel", src.count(rows(d, quorate))),
        meeting_attendance(src),
        Figure("D7", "Child's views recorded", src.count(rows(d, child_views))),
        Figure("D8", "Parent's or carer's views recorded", src.count(rows(d, parent_views))),
        Figure("C4", "First-time entrants", src.count(rows(d, first_time))),
    ]
    return figures
