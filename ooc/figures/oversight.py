"""Oversight, Q1 and Q2: what happened to each assessment submitted in the period."""

from __future__ import annotations

from sqlalchemy import and_, func, literal, select, union_all

from ooc.figures.model import Figure
from ooc.figures.sources import EVENTS, Sources
from ooc.models import QualityAudit
from ooc.quality import QUESTIONS, SUFFICIENT


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
        quality_audit(src),
    ]


def quality_audit(src: Sources) -> Figure:
    """Q3: audits recorded in the period; each question judged sufficient out of those
    answering it; the figure itself, audits judged sufficient on every question."""
    audits = QualityAudit.__table__
    recorded = and_(audits.c.audited_at >= src.period.starts_at,
                    audits.c.audited_at < src.period.ends_at,
                    audits.c.audited_at <= src.period.as_of)
    answer = {q.code: audits.c.answers[q.code].as_string() for q in QUESTIONS}
    all_sufficient = and_(*[a == SUFFICIENT for a in answer.values()])
    figure = Figure("Q3", "Quality audit: judged sufficient",
                    src.count(select(audits.c.case_id, all_sufficient.label("hit"))
                              .where(recorded).subquery("rows")),
                    note="Counts are audits; each question's share is in the breakdown.")
    per_question = union_all(*[
        select(audits.c.case_id, (answer[q.code] == SUFFICIENT).label("hit"),
               literal(q.label).label("question")).where(recorded, answer[q.code].is_not(None))
        for q in QUESTIONS]).subquery("rows")
    order = {q.label: i for i, q in enumerate(QUESTIONS)}
    figure.breakdowns["question"] = sorted(src.tally(per_question, ("question",)),
                                           key=lambda row: order[row.group["question"]])
    return figure
