"""Oversight, Q1 and Q2: what happened to each assessment submitted in the period."""

from __future__ import annotations

from sqlalchemy import and_, literal, select, true, union_all

from ooc.figures.model import Figure
from ooc.figures.sources import STEP_FACTS, Cube, Measure, Sources
from ooc.models import QualityAudit
from ooc.quality import QUESTIONS, SUFFICIENT

S = STEP_FACTS.c
PER_SUBMISSION = "Counts are submissions; a case may be submitted more than once."


def oversight_measures(src: Sources) -> list[Measure]:
    """Q1 and Q2 (measures of the steps cube, `ooc.figures.outcomes`): each submission of the
    period, and the main-track step that followed it by `as_of`."""
    submission = S.kind == "submission"
    return [Measure(figure_id, submission, and_(S.next_trigger == trigger,
                                                src.by_as_of(S.next_at)))
            for figure_id, trigger in (("Q1", "countersign"), ("Q2", "return_assessment"))]


def oversight_figures(submissions: Cube, audits: Figure) -> list[Figure]:
    return [
        Figure("Q1", "Assessments countersigned", submissions.count("Q1"), note=PER_SUBMISSION),
        Figure("Q2", "Returned for rework", submissions.count("Q2"), note=PER_SUBMISSION),
        audits,
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
    audited = src.cube(audits, recorded, [Measure("Q3", true(), all_sufficient)])
    figure = Figure("Q3", "Quality audit: judged sufficient", audited.count("Q3"),
                    note="Counts are audits; each question's share is in the breakdown.")
    per_question = union_all(*[
        select(audits.c.case_id, (answer[q.code] == SUFFICIENT).label("hit"),
               literal(q.label).label("question")).where(recorded, answer[q.code].is_not(None))
        for q in QUESTIONS]).subquery("rows")
    order = {q.label: i for i, q in enumerate(QUESTIONS)}
    answers = src.cube(per_question, true(), [Measure("sufficient", true(), per_question.c.hit)],
                       {"question": per_question.c.question})
    figure.breakdowns["question"] = sorted(answers.rows("sufficient", ("question",)),
                                           key=lambda row: order[row.group["question"]])
    return figure
