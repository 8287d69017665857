"""Outcomes, O1 to O3: interventions that ended in the period."""

from __future__ import annotations

from sqlalchemy import and_, func, literal, or_, select

from ooc.figures.model import Count, Figure, Row
from ooc.figures.sources import EVENTS, Sources, not_blank
from ooc.figures.sql import id_list, parse_ids


def outcome_figures(src: Sources) -> list[Figure]:
    ended = and_(EVENTS.c.from_state == "intervention", EVENTS.c.to_state != "intervention",
                 EVENTS.c.track == "main", src.in_period())
    data = EVENTS.c.data
    completed = and_(EVENTS.c.trigger == "complete", data["completed"].as_boolean())
    o1 = src.count(select(EVENTS.c.case_id, completed.label("hit")).where(ended)
                   .subquery("rows"))
    feedback = and_(or_(not_blank(data["child_feedback"].as_string()),
                        data["child_declined_feedback"].as_boolean()),
                    or_(not_blank(data["parent_feedback"].as_string()),
                        data["parent_declined_feedback"].as_boolean()))
    o3 = src.count(select(EVENTS.c.case_id, feedback.label("hit"))
                   .where(EVENTS.c.trigger == "complete", src.in_period()).subquery("rows"))
    return [Figure("O1", "Interventions completed (YJB KPI 6)", o1), breaches(src),
            Figure("O3", "Exit feedback", o3)]


def breaches(src: Sources) -> Figure:
    """O2: interventions ended by breach, and the panel's next decision on each."""
    breach = EVENTS.alias("breach")
    after = EVENTS.alias("after")
    next_seq = (select(func.min(after.c.seq))
                .where(after.c.case_id == breach.c.case_id, after.c.seq > breach.c.seq,
                       after.c.trigger == "record_decision", src.by_as_of(after))
                .scalar_subquery())
    decided = EVENTS.alias("decided")
    outcome = func.coalesce(decided.c.data["outcome"].as_string(), literal("not yet decided"))
    query = (select(outcome.label("outcome"), func.count(), id_list(breach.c.case_id))
             .select_from(breach.outerjoin(decided, and_(decided.c.case_id == breach.c.case_id,
                                                         decided.c.seq == next_seq)))
             .where(breach.c.trigger == "breach", src.in_period(breach))
             .group_by(outcome).order_by(outcome))
    rows = [Row({"outcome": o}, Count(int(n), None, parse_ids(ids)))
            for o, n, ids in src.session.execute(query)]
    total = sum(r.count.numerator for r in rows)
    cases = tuple(sorted(i for r in rows for i in r.count.numerator_cases))
    figure = Figure("O2", "Breaches reconsidered", Count(total, None, cases, cases))
    figure.breakdowns["panel decision"] = rows
    return figure
