"""The SQL every figure is built from: events, cases, the working-day calendar, and `tally`,
which counts a set of rows (one per case, or per event) in the database.

A figure's rows are a subquery with a `case_id` column, a boolean `hit` column (in the
numerator) and any columns it is broken down by; the rows themselves are its denominator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Subquery, and_, case, false, func, literal, select
from sqlmodel import Session

from ooc.figures.model import Count, Period, Row
from ooc.figures.sql import id_list, local_date, parse_ids, whole_years
from ooc.machine import WorkflowRegistry
from ooc.models import AuditEvent, CalendarDay, Case

EVENTS = AuditEvent.__table__
CASES = Case.__table__
CALENDAR = CalendarDay.__table__

# The first event of each milestone (METRICS.md: a milestone is done at its first event).
MILESTONES = {
    "assessed_at": "submit_assessment",
    "countersigned_at": "countersign",
    "decided_at": "record_decision",
    "signed_off_at": "sign_off",
    "withdrawn_at": "withdraw",
}


@dataclass(frozen=True)
class Sources:
    """What every figure needs: the session, the period and the workflow definitions."""

    session: Session
    period: Period
    registry: WorkflowRegistry

    def by_as_of(self, events=EVENTS) -> ColumnElement[bool]:
        return events.c.at <= self.period.as_of

    def in_period(self, events=EVENTS) -> ColumnElement[bool]:
        """Events whose local date is in the period (and that happened by `as_of`)."""
        return and_(events.c.at >= self.period.starts_at, events.c.at < self.period.ends_at,
                    events.c.at <= self.period.as_of)

    def cohort(self, cases=CASES) -> ColumnElement[bool]:
        """Cases referred in the period and entered by `as_of`."""
        return and_(cases.c.referral_date.between(self.period.start, self.period.end),
                    cases.c.created_at <= self.period.as_of)

    # --- what the workflow files say -----------------------------------------------------

    def indicated(self, outcome: ColumnElement, cases=CASES) -> ColumnElement[bool]:
        """The outcome is one the case's gravity score indicates (its own workflow version)."""
        whens = [(and_(cases.c.workflow_name == d.name, cases.c.workflow_version == d.version,
                       cases.c.gravity_score == score), outcome.in_(codes))
                 for d in self.registry for score, codes in d.gravity.items() if codes]
        return case(*whens, else_=false()) if whens else false()

    def formal(self, outcome: ColumnElement, cases=CASES) -> ColumnElement[bool]:
        whens = [(and_(cases.c.workflow_name == d.name, cases.c.workflow_version == d.version),
                  outcome.in_([o.code for o in d.outcomes.values() if o.formal] or [""]))
                 for d in self.registry]
        return case(*whens, else_=false())

    def ethnicity_rollup(self, cases=CASES) -> ColumnElement[str]:
        rollup: dict[str, str] = {}
        for name in sorted({d.name for d in self.registry}):
            rollup.update(self.registry.latest(name).ethnicity_rollup)
        groups: dict[str, list[str]] = {}
        for code, group in rollup.items():
            groups.setdefault(group, []).append(code)
        return case(*[(cases.c.ethnicity.in_(codes), literal(group))
                      for group, codes in sorted(groups.items())], else_=literal("Not known"))

    def dimensions(self, cases=CASES) -> dict[str, ColumnElement]:
        """The breakdowns of METRICS.md: ethnicity rollup, sex, age band, looked-after."""
        age = whole_years(cases.c.date_of_birth, cases.c.offence_date)
        return {
            "ethnicity": self.ethnicity_rollup(cases),
            "sex": cases.c.sex,
            "age_band": case((age.between(10, 12), literal("10-12")),
                             (age.between(13, 14), literal("13-14")),
                             (age.between(15, 17), literal("15-17")), else_=literal("other")),
            "looked_after": case((cases.c.looked_after, literal("looked after")),
                                 else_=literal("not looked after")),
        }

    # --- events -----------------------------------------------------------------------------

    def first_times(self, cases_where: ColumnElement[bool],
                    milestones: dict[str, str] = MILESTONES) -> Subquery:
        """Per case (of those `cases_where` picks), the instant of each milestone's first
        event by `as_of`: one pass over their events."""
        columns = [func.min(case((EVENTS.c.trigger == trigger, EVENTS.c.at))).label(name)
                   for name, trigger in milestones.items()]
        return (select(EVENTS.c.case_id, *columns)
                .where(EVENTS.c.case_id.in_(select(CASES.c.id).where(cases_where)),
                       EVENTS.c.trigger.in_(set(milestones.values())), self.by_as_of())
                .group_by(EVENTS.c.case_id).subquery("first_times"))

    def decisions(self) -> Subquery:
        """The decisions of the period: each case's last `record_decision` in it, with what it
        recorded and the case's details."""
        last = (select(EVENTS.c.case_id, func.max(EVENTS.c.seq).label("seq"))
                .where(EVENTS.c.trigger == "record_decision", self.in_period())
                .group_by(EVENTS.c.case_id).subquery("last_decision"))
        data = EVENTS.c.data
        return (select(EVENTS.c.case_id, EVENTS.c.seq, EVENTS.c.at,
                       local_date(EVENTS.c.at).label("decided_on"),
                       data["outcome"].as_string().label("outcome"),
                       data["meeting_id"].as_integer().label("meeting_id"),
                       data["deviation_rationale"].as_string().label("deviation_rationale"),
                       data["child_views"].as_string().label("child_views"),
                       data["parent_views"].as_string().label("parent_views"),
                       data["parent_views_reason"].as_string().label("parent_views_reason"),
                       data["victim_views_reason"].as_string().label("victim_views_reason"),
                       *[column.label(name) for name, column in self.dimensions().items()],
                       CASES.c.gravity_score, CASES.c.has_victim, CASES.c.victim_opted_out,
                       CASES.c.previous_formal_outcomes,
                       self.indicated(data["outcome"].as_string()).label("indicated"),
                       self.formal(data["outcome"].as_string()).label("formal"))
                .select_from(EVENTS.join(last, and_(last.c.case_id == EVENTS.c.case_id,
                                                    last.c.seq == EVENTS.c.seq))
                             .join(CASES, CASES.c.id == EVENTS.c.case_id))
                .subquery("decisions"))

    def event_before(self, case_id: ColumnElement, seq: ColumnElement, trigger: str,
                     condition: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
        """An event `trigger` of the case before its event `seq` (and matching `condition`)."""
        earlier = EVENTS.alias("earlier")
        where = [earlier.c.case_id == case_id, earlier.c.seq < seq, earlier.c.trigger == trigger]
        if condition is not None:
            where.append(condition(earlier))
        return select(earlier.c.id).where(*where).exists()

    def event_by_as_of(self, case_id: ColumnElement, triggers: Sequence[str],
                       condition=None) -> ColumnElement[bool]:
        other = EVENTS.alias("other")
        where = [other.c.case_id == case_id, other.c.trigger.in_(triggers), self.by_as_of(other)]
        if condition is not None:
            where.append(condition(other))
        return select(other.c.id).where(*where).exists()

    # --- working days ---------------------------------------------------------------------

    @staticmethod
    def working_days_to(day: ColumnElement) -> ColumnElement[int]:
        day_row = CALENDAR.alias("day_row")
        return (select(day_row.c.working_days_to).where(day_row.c.day == day)
                .correlate_except(day_row).scalar_subquery())

    @classmethod
    def add_wd(cls, day: ColumnElement, n: int) -> ColumnElement:
        """METRICS.md's add_wd(d, n): the n-th working day after `day` (day 0)."""
        due = CALENDAR.alias("due")
        return (select(func.min(due.c.day))
                .where(due.c.working_days_to == cls.working_days_to(day) + n)
                .correlate_except(due).scalar_subquery())

    # --- counting -------------------------------------------------------------------------

    def tally(self, rows: Subquery, by: Sequence[str] = ()) -> list[Row]:
        """Count `rows` (the denominator) and those that `hit` (the numerator), with their case
        ids, in the database; one row per group of `by`."""
        groups = [rows.c[name] for name in by]
        hit = case((rows.c.hit, 1), else_=0)
        query = (select(*groups, func.count(rows.c.case_id), func.coalesce(func.sum(hit), 0),
                        id_list(rows.c.case_id),
                        id_list(case((rows.c.hit, rows.c.case_id))))
                 .group_by(*groups).order_by(*groups))
        result = []
        for row in self.session.execute(query):
            values = tuple(row)
            group = {name: str(value) for name, value in zip(by, values, strict=False)}
            count, hits, ids, hit_ids = values[len(by):]
            result.append(Row(group, Count(int(hits), int(count), parse_ids(hit_ids),
                                           parse_ids(ids))))
        return result

    def count(self, rows: Subquery) -> Count:
        return self.tally(rows)[0].count


def not_blank(text: ColumnElement) -> ColumnElement[bool]:
    return func.coalesce(func.trim(text), "") != ""
