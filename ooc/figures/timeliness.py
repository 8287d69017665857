"""Timeliness, T1 to T6: milestones against their working-day due dates (docs/figures.md).

T1 to T4 are measures of the cohort cube, which the children's figures share (one pass over the
period's cases); T5 is a histogram of working days per stage; T6 reads the open cases."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    union_all,
)

from ooc.figures.facts import WORKING_DAYS
from ooc.figures.model import Count, Figure, Statistic
from ooc.figures.sources import CASE_FACTS, Cube, Measure, Sources, working_days_to
from ooc.figures.sql import id_list, parse_ids, row_by_row

F = CASE_FACTS.c

# (id, title, due date, first event, its local date, what must have happened for it to apply,
#  the due date's working-day count: its start's plus the working days allowed)
MILESTONES = [
    ("T1", "Assessment on time", F.assessment_due_on, F.assessed_at, F.assessed_on, None,
     F.referral_wd + WORKING_DAYS["assessment"]),
    ("T2", "Decision on time (presented on time)", F.decision_due_on, F.decided_at,
     F.decided_on, None, F.decision_from_wd + WORKING_DAYS["decision"]),
    ("T3", "Countersignature on time", F.countersignature_due_on, F.countersigned_at,
     F.countersigned_on, F.assessed_at, F.assessed_wd + WORKING_DAYS["countersignature"]),
    ("T4", "Sign-off on time", F.sign_off_due_on, F.signed_off_at, F.signed_off_on,
     F.decided_at, F.decided_wd + WORKING_DAYS["sign_off"]),
]
OVERDUE_LABELS = {"T1": "Assessment submitted", "T2": "Panel decision",
                  "T3": "Assessment countersigned", "T4": "Decision signed off"}
# Each milestone's name among the deadlines of the workflow files (the caseloads list those).
OVERDUE_DEADLINES = {"T1": "assessment", "T2": "decision", "T3": "countersignature",
                     "T4": "sign_off"}

# (label, working-day count at the start, first event at the end, its working-day count)
STAGES = [
    ("referral to assessment", F.referral_wd, F.assessed_at, F.assessed_wd),
    ("assessment to countersignature", F.assessed_wd, F.countersigned_at, F.countersigned_wd),
    ("countersignature to decision", F.countersigned_wd, F.decided_at, F.decided_wd),
    ("decision to sign-off", F.decided_wd, F.signed_off_at, F.signed_off_wd),
]


def _applies(src: Sources, after: ColumnElement | None) -> ColumnElement[bool]:
    return true() if after is None else src.by_as_of(after)


def milestone_measure(src: Sources, figure_id: str, due_on, done_at, done_on,
                      after) -> Measure:
    """Due: done by `as_of`, or its due date before `as_of`'s date, unless the case was
    withdrawn before the due date. On time: done on or before the due date."""
    done = src.by_as_of(done_at)
    withdrawn_first = and_(src.by_as_of(F.withdrawn_at), F.withdrawn_on < due_on)
    return Measure(figure_id,
                   and_(_applies(src, after), or_(done, due_on < src.period.as_of_date),
                        not_(withdrawn_first)),
                   and_(done, done_on <= due_on))


def milestone_measures(src: Sources) -> list[Measure]:
    return [milestone_measure(src, figure_id, due_on, done_at, done_on, after)
            for figure_id, _, due_on, done_at, done_on, after, _ in MILESTONES]


# T5 counts the cases with each combination of the four stages' days under one whole number
# (each stage's days, offset so as never to be negative, one "digit" of this base; no days
# recorded is digit 0), so that the database groups a sorted column of numbers in one pass.
DIGIT = 2 ** 15
OFFSET = DIGIT // 2


def stage_statistics(src: Sources) -> list[Statistic]:
    """T5: median and 90th percentile of working days per stage; each stage's histogram is the
    sum of the counts of the combinations holding each of its values."""
    key: ColumnElement = literal(0, BigInteger)
    for i, (_, start, end_at, end) in enumerate(STAGES):
        digit = case((src.by_as_of(end_at), end - start + OFFSET), else_=0)
        key = key + func.coalesce(digit, 0) * literal(DIGIT ** i, BigInteger)
    rows = row_by_row(src.session, select(
        key.label("combination"), *([F.case_id] if src.with_cases else [])).where(src.cohort()))
    ids = id_list(rows.c.case_id) if src.with_cases else null()
    # per stage, the cases with each number of days, and the texts of their ids
    histograms: list[dict[int, int]] = [defaultdict(int) for _ in STAGES]
    id_texts: list[dict[int, list[str]]] = [defaultdict(list) for _ in STAGES]
    for combination, cases, case_ids in src.session.execute(
            select(rows.c.combination, func.count(), ids).group_by(rows.c.combination)):
        for histogram, texts in zip(histograms, id_texts, strict=True):
            combination, digit = divmod(int(combination), DIGIT)
            if digit:
                histogram[digit - OFFSET] += cases
                if case_ids:
                    texts[digit - OFFSET].append(case_ids)
    return [_statistic(label, [(days, n, ",".join(texts[days]))
                               for days, n in sorted(histogram.items())],
                       src.with_cases)
            for (label, *_), histogram, texts in zip(STAGES, histograms, id_texts, strict=True)]


def _statistic(label: str, histogram: list[tuple[int, int, str]], with_cases: bool) -> Statistic:
    """The median (the mean of the middle two when there are an even number) and the value at
    rank (9n + 9) // 10, as docs/figures.md defines them."""
    n = sum(cases for _, cases, _ in histogram)
    ids = tuple(sorted(i for *_, text in histogram for i in parse_ids(text))) if with_cases else ()
    if not n:
        return Statistic(label, 0, None, None, ids)

    def ranked(rank: int) -> int:
        seen = 0
        for days, cases, _ in histogram:
            seen += cases
            if seen >= rank:
                return days
        raise AssertionError("rank beyond the count")

    median = (ranked((n + 1) // 2) + ranked((n + 2) // 2)) / 2
    return Statistic(label, n, median, ranked((9 * n + 9) // 10), ids)


def open_at_as_of(src: Sources) -> list[ColumnElement[bool]]:
    """Cases entered by `as_of` and neither closed nor withdrawn by then, as two conditions that
    share no case: each is one range of the index `ix_case_facts_open`, where the two OR-ed
    would have SQLite gather the cases of both and set aside those found twice."""
    entered = F.created_at <= src.period.as_of
    return [and_(F.ended_at.is_(None), entered), and_(F.ended_at > src.period.as_of, entered)]


def overdue_now(src: Sources) -> Figure:
    """T6: milestones past their due date and not done at `as_of`, for open cases, most overdue
    first; overdue and working days overdue as `ooc.deadlines` counts them for every page (the
    due date before `as_of`'s local date; working days after it up to that date).

    One pass over the open cases gives each late case's row, with each milestone's due date and
    working days overdue when it is late (a common table expression, which both databases work
    out once as it is read four times); the database then lists and sorts the milestones."""
    today = src.period.as_of_date
    today_wd = src.session.execute(select(working_days_to(literal(today)))).scalar()
    open_at = open_at_as_of(src)
    late = {figure_id: and_(_applies(src, after), not_(src.by_as_of(done_at)), due_on < today)
            for figure_id, _, due_on, done_at, _, after, _ in MILESTONES}
    columns = [column for i, (figure_id, _, due_on, *_, due_wd) in enumerate(MILESTONES)
               for column in (due_on.label(f"due_{i}"),
                              case((late[figure_id], today_wd - due_wd)).label(f"days_{i}"))]
    late_cases = union_all(*[select(F.case_id, *columns).where(open_cases, or_(*late.values()))
                             for open_cases in open_at]).cte("late_cases")
    overdue_rows = union_all(*[
        select(late_cases.c.case_id, literal(OVERDUE_LABELS[figure_id]).label("milestone"),
               literal(OVERDUE_DEADLINES[figure_id]).label("deadline"),
               late_cases.c[f"due_{i}"].label("due_on"),
               late_cases.c[f"days_{i}"].label("working_days_overdue"))
        .where(late_cases.c[f"days_{i}"].is_not(None))
        for i, (figure_id, *_) in enumerate(MILESTONES)]).subquery("overdue")
    overdue = src.session.execute(select(overdue_rows).order_by(  # fetched at once: faster
        overdue_rows.c.working_days_overdue.desc(), overdue_rows.c.case_id)).all()
    late_ids = tuple(sorted({o.case_id for o in overdue}))
    open_count = sum(src.session.execute(select(func.count()).where(open_cases)).scalar()
                     for open_cases in open_at)
    open_ids = src.ids(union_all(*[select(F.case_id).where(open_cases) for open_cases in open_at]))
    figure = Figure("T6", "Overdue now", Count(len(late_ids), open_count, late_ids, open_ids))
    figure.overdue = overdue
    return figure


def timeliness(cohort: Cube, stages: list[Statistic], overdue: Figure) -> list[Figure]:
    figures = [Figure(rule[0], rule[1], cohort.count(rule[0])) for rule in MILESTONES]
    figures.append(Figure("T5", "Working days per stage", statistics=stages))
    figures.append(overdue)
    return figures
