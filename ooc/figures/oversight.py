"""Oversight, Q1 and Q2: what happened to each assessment submitted in the period."""

from __future__ import annotations

from sqlalchemy import func, select

from ooc.figures.model import Figure
from ooc.figures.sources import EVENTS, Sources


def submissions(src: Sources):
    """Each submission in the period with the main-track event that followed it by `as_of`."""
    main = (select(EVENTS.c.id, EVENTS.c.case_id, EVENTS.c.trigger, EVENTS.c.at,
                   EVENTS.c.seq)
            .where(EVENTS.c.track == "main",
                   EVENTS.c.case_id.in_(select(EVENTS.c.case_id).where(
                       EVENTS.c.trigger == "submit_assessment", src.in_period())))
            .subquery("main"))
    ordered = select(main, func.lead(main.c.trigger).over(
        partition_by=main.c.case_id, order_by=main.c.seq).label("next_trigger"),
        func.lead(main.c.at).over(partition_by=main.c.case_id, order_by=main.c.seq)
        .label("next_at")).subquery("ordered")
    return ordered


def oversight_figures(src: Sources) -> list[Figure]:
    o = submissions(src)
    submitted = o.c.trigger == "submit_assessment"
    in_period = src.in_period(o)
    next_by_as_of = o.c.next_at <= src.period.as_of

    def rows(next_trigger: str):
        return (select(o.c.case_id, ((o.c.next_trigger == next_trigger) & next_by_as_of)
                       .label("hit"))
                .where(submitted, in_period).subquery("rows"))

    return [
        Figure("Q1", "Assessments countersigned", src.count(rows("countersign")),
               note="Counts are submissions; a case may be submitted more than once."),
        Figure("Q2", "Returned for rework", src.count(rows("return_assessment")),
               note="Counts are submissions; a case may be submitted more than once."),
    ]
