"""Timeliness, T1 to T6: milestones against their working-day due dates (docs/figures.md)."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)

from ooc.figures.model import Count, Figure, Overdue, Statistic
from ooc.figures.sources import CASES, EVENTS, Sources
from ooc.figures.sql import id_list, local_date, parse_ids

# (name, label, start column, working days, the column that must be set for it to apply)
MILESTONE_RULES = [
    ("assessment", "Assessment submitted", "referral_date", 10, "assessed_on", None),
    ("decision", "Panel decision", "decision_from", 15, "decided_on", None),
    ("countersignature", "Assessment countersigned", "assessed_on", 5, "countersigned_on",
     "assessed_on"),
    ("sign_off", "Decision signed off", "decided_on", 5, "signed_off_on", "decided_on"),
]

STAGES = [
    ("referral to assessment", "referral_date", "assessed_on"),
    ("assessment to countersignature", "assessed_on", "countersigned_on"),
    ("countersignature to decision", "countersigned_on", "decided_on"),
    ("decision to sign-off", "decided_on", "signed_off_on"),
]


def timelines(src: Sources, cases_where: ColumnElement[bool]) -> Subquery:
    """Per case: its dates, and the local date of each milestone's first event by `as_of`."""
    firsts = src.first_times(cases_where)
    return (select(CASES.c.id.label("case_id"), CASES.c.referral_date,
                   func.coalesce(CASES.c.bail_date, CASES.c.referral_date).label("decision_from"),
                   *[local_date(firsts.c[name]).label(name.replace("_at", "_on"))
                     for name in ("assessed_at", "countersigned_at", "decided_at",
                                  "signed_off_at", "withdrawn_at")])
            .select_from(CASES.outerjoin(firsts, firsts.c.case_id == CASES.c.id))
            .where(cases_where).subquery("timelines"))


def milestone_rows(src: Sources, lines: Subquery, start: str, days: int, done: str,
                   applies: str | None) -> Subquery:
    """Cases for which the milestone is due, each with `hit` when it was done on time."""
    dated = (select(lines.c.case_id, src.add_wd(lines.c[start], days).label("due_on"),
                    lines.c[done].label("done_on"), lines.c.withdrawn_on)
             .where(lines.c[applies].is_not(None) if applies else literal(True))
             .subquery("dated"))
    return (select(dated.c.case_id, (dated.c.done_on <= dated.c.due_on).label("hit"))
            .where(or_(dated.c.done_on.is_not(None), dated.c.due_on < src.period.as_of_date),
                   not_(and_(dated.c.withdrawn_on.is_not(None),
                             dated.c.withdrawn_on < dated.c.due_on)))
            .subquery("due"))


def stage_statistic(src: Sources, lines: Subquery, label: str, start: str,
                    end: str) -> Statistic:
    """Median and 90th percentile of working days from `start` to `end`, in the database."""
    days = (select(lines.c.case_id, (src.working_days_to(lines.c[end])
                                     - src.working_days_to(lines.c[start])).label("days"))
            .where(lines.c[start].is_not(None), lines.c[end].is_not(None)).subquery("days"))
    ranked = select(days.c.case_id, days.c.days,
                    func.row_number().over(order_by=days.c.days).label("rank"),
                    func.count().over().label("n")).subquery("ranked")
    middle = ranked.c.rank.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    row = src.session.execute(select(
        func.count(ranked.c.case_id),
        func.avg(case((middle, ranked.c.days))),
        func.max(case((ranked.c.rank == (9 * ranked.c.n + 9) // 10, ranked.c.days))),
        id_list(ranked.c.case_id))).one()
    cases, median, p90, ids = row
    return Statistic(label, int(cases), None if median is None else float(median),
                     None if p90 is None else int(p90), parse_ids(ids))


def open_at_as_of(src: Sources) -> ColumnElement[bool]:
    """Cases created by `as_of` and neither closed nor withdrawn by then."""
    terminal = sorted({s.name for d in src.registry for s in d.states.values()
                       if s.track == "main" and s.terminal})
    open_now = sorted({s for d in src.registry for s in d.open_states("main")})
    ended = EVENTS.alias("ended")
    ended_by_as_of = (select(ended.c.id).where(ended.c.case_id == CASES.c.id,
                                               ended.c.track == "main",
                                               ended.c.to_state.in_(terminal),
                                               src.by_as_of(ended)).exists())
    return and_(CASES.c.created_at <= src.period.as_of,
                or_(CASES.c.state.in_(open_now), not_(ended_by_as_of)))


def overdue_now(src: Sources) -> Figure:
    """T6: milestones past their due date and not done at `as_of`, for open cases."""
    lines = timelines(src, open_at_as_of(src))
    today = src.period.as_of_date
    parts = []
    for name, _, start, days, done, applies in MILESTONE_RULES:
        dated = (select(lines.c.case_id, literal(name).label("milestone"),
                        src.add_wd(lines.c[start], days).label("due_on"),
                        lines.c[done].label("done_on"))
                 .where(lines.c[applies].is_not(None) if applies else literal(True))
                 .subquery(f"due_{name}"))
        parts.append(select(dated.c.case_id, dated.c.milestone, dated.c.due_on,
                            (src.working_days_to(literal(today))
                             - src.working_days_to(dated.c.due_on)).label("overdue_by"))
                     .where(dated.c.done_on.is_(None), dated.c.due_on < today))
    overdue = union_all(*parts).subquery("overdue")
    rows = src.session.execute(select(overdue).order_by(overdue.c.overdue_by.desc(),
                                                        overdue.c.case_id)).all()
    labels = {rule[0]: rule[1] for rule in MILESTONE_RULES}
    open_ids = parse_ids(src.session.execute(select(id_list(lines.c.case_id))).scalar())
    late_ids = tuple(sorted({r.case_id for r in rows}))
    figure = Figure("T6", "Overdue now", Count(len(late_ids), len(open_ids), late_ids, open_ids))
    figure.overdue = [Overdue(r.case_id, labels[r.milestone], r.due_on, int(r.overdue_by))
                      for r in rows]
    return figure


def timeliness(src: Sources) -> list[Figure]:
    lines = timelines(src, src.cohort())
    figures = []
    for figure_id, title, rule in [
        ("T1", "Assessment on time", MILESTONE_RULES[0]),
        ("T2", "Decision on time (presented on time)", MILESTONE_RULES[1]),
        ("T3", "Countersignature on time", MILESTONE_RULES[2]),
        ("T4", "Sign-off on time", MILESTONE_RULES[3]),
    ]:
        _, _, start, days, done, applies = rule
        figures.append(Figure(figure_id, title,
                              src.count(milestone_rows(src, lines, start, days, done, applies))))
    figures.append(Figure("T5", "Working days per stage", statistics=[
        stage_statistic(src, lines, label, start, end) for label, start, end in STAGES]))
    figures.append(overdue_now(src))
    return figures
