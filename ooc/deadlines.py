"""Deadlines: rows opened, met and cancelled by transitions, as the workflow's rules say.

They are database rows, never timers, so a restart loses nothing and any process can list what
is due or overdue for a given `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from ooc.calendar import ENGLAND_AND_WALES, WorkingDayCalendar, local_date, to_utc
from ooc.definitions import DeadlineRule, Definition, Transition
from ooc.guards import GuardContext, holds
from ooc.machine import WorkflowRegistry
from ooc.models import Case, Deadline


def due_date(rule: DeadlineRule, start: date, calendar: WorkingDayCalendar) -> date:
    if rule.working_days is not None:
        return calendar.add_working_days(start, rule.working_days)
    return start + timedelta(weeks=rule.weeks or 0)


def _open(case_id: int, rule: DeadlineRule, start: date, calendar: WorkingDayCalendar) -> Deadline:
    return Deadline(case_id=case_id, name=rule.name, started_on=start,
                    due_on=due_date(rule, start, calendar))


def referral_deadline_rows(definition: Definition, case_id: int, referral: dict,
                           calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> list[dict]:
    """The `deadlines` rows a new case opens: those that run from referral dates (the first of
    `from_fields` that is present)."""
    rows = []
    for rule in definition.deadlines:
        start = next((referral[f] for f in rule.from_fields if referral.get(f)), None)
        if start is not None:
            rows.append({"case_id": case_id, "name": rule.name, "started_on": start,
                         "due_on": due_date(rule, start, calendar), "met_at": None,
                         "cancelled_at": None})
    return rows


def open_referral_deadlines(session: Session, *, definition: Definition, case: Case,
                            calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> None:
    """Deadlines that run from referral dates (the first of `from_fields` that is present)."""
    referral = {f: getattr(case, f) for rule in definition.deadlines for f in rule.from_fields}
    for row in referral_deadline_rows(definition, case.id, referral, calendar):
        session.add(Deadline(**row))


def _ends_case(definition: Definition, t: Transition, to_state: str) -> bool:
    """The case itself ends: its main track reaches a terminal state. The victim track ending
    (the victim told the outcome) ends nothing else: the case's deadlines run on."""
    return t.track == "main" and definition.is_terminal(to_state)


def _touches(rule: DeadlineRule, definition: Definition, t: Transition, from_state: str,
             to_state: str) -> bool:
    moved = from_state != to_state
    return (t.trigger in rule.met_by or t.trigger == rule.from_trigger
            or (moved and rule.from_entering in (from_state, to_state))
            or _ends_case(definition, t, to_state))


def update_deadlines(session: Session, *, definition: Definition, case: Case, ctx: GuardContext,
                     transition: Transition, from_state: str, to_state: str, now: datetime,
                     calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> None:
    """Meet, open and cancel the case's deadlines for a transition that just happened."""
    rules = [r for r in definition.deadlines
             if _touches(r, definition, transition, from_state, to_state)]
    if not rules:
        return
    at, today = to_utc(now), local_date(now)
    rows = list(session.scalars(select(Deadline).where(Deadline.case_id == case.id)))
    moved = from_state != to_state
    ends_case = _ends_case(definition, transition, to_state)
    for rule in rules:
        mine = [d for d in rows if d.name == rule.name]
        still_open = [d for d in mine if d.met_at is None and d.cancelled_at is None]
        if transition.trigger in rule.met_by:
            for d in still_open:
                d.met_at = at
            if still_open and rule.repeats and not ends_case:
                session.add(_open(case.id, rule, today, calendar))
            still_open = []
        if transition.trigger == rule.from_trigger and not mine and (
                rule.when is None or holds(rule.when, ctx)):
            session.add(_open(case.id, rule, today, calendar))
        if moved and rule.from_entering == to_state:
            session.add(_open(case.id, rule, today, calendar))
        leaving = moved and rule.from_entering == from_state
        if leaving or ends_case:
            for d in still_open:
                d.cancelled_at = at


# --- overdue: one rule for every page, the command line, the board and figure T6 -------------


def is_overdue(due_on: date, today: date) -> bool:
    """Past its due date. METRICS.md: a milestone done on or before its due date is on time, so
    from the next day, whatever day of the week that is, it is overdue."""
    return due_on < today


def working_days_overdue(due_on: date, today: date,
                         calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> int:
    """Working days after the due date up to and including today (figure T6's count): none when
    it is not overdue, and none yet on a weekend or bank holiday straight after the due date."""
    return calendar.working_days_between(due_on, today) if is_overdue(due_on, today) else 0


@dataclass(frozen=True)
class DeadlineStatus:
    case_id: int
    police_reference: str
    child_name: str
    case_state: str
    case_manager: str | None
    name: str
    label: str
    due_on: date
    working_days_left: int  # negative: overdue by that many working days
    overdue: bool  # past its due date (even when no working day has passed since)

    @classmethod
    def on(cls, today: date, *, due_on: date,
           calendar: WorkingDayCalendar = ENGLAND_AND_WALES, **details) -> DeadlineStatus:
        """A deadline's status on `today`."""
        return cls(due_on=due_on, working_days_left=calendar.working_days_between(today, due_on),
                   overdue=is_overdue(due_on, today), **details)

    @property
    def working_days_overdue(self) -> int:
        return -self.working_days_left if self.overdue else 0

    def describe(self) -> str:
        if self.overdue:
            n = self.working_days_overdue
            if not n:
                return f"overdue: it was due on {self.due_on:%A} {self.due_on.day} " \
                       f"{self.due_on:%B}"
            return f"overdue by {n} working day{'s' if n != 1 else ''}"
        if self.working_days_left == 0:
            return "due today"
        n = self.working_days_left
        return f"{n} working day{'s' if n != 1 else ''} left"


def list_open_deadlines(session: Session, *, registry: WorkflowRegistry,
                        now: datetime, overdue_only: bool = False,
                        case_manager: str | None = None, case_id: int | None = None,
                        calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> list[DeadlineStatus]:
    """Open deadlines of open cases, most urgent first, with working days left at `now`."""
    today = local_date(now)
    open_states = sorted({s for d in registry for s in d.open_states("main")})
    # Columns, not whole cases: a case row carries its recorded data, which nothing here reads.
    query = (
        select(Deadline.name, Deadline.due_on, Case.id, Case.police_reference, Case.given_name,
               Case.family_name, Case.state, Case.case_manager, Case.workflow_name,
               Case.workflow_version)
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None),
               Case.state.in_(open_states))
        .order_by(Deadline.due_on, Deadline.case_id)
    )
    if overdue_only:
        query = query.where(Deadline.due_on < today)  # is_overdue
    if case_manager is not None:
        query = query.where(Case.case_manager == case_manager)
    if case_id is not None:
        query = query.where(Case.id == case_id)
    statuses = []
    days_left: dict[date, int] = {}  # many deadlines fall on the same day
    for row in session.execute(query):
        definition = registry.get(row.workflow_name, row.workflow_version)
        if definition.is_terminal(row.state):  # terminal in this version, open in another
            continue
        rule = next((r for r in definition.deadlines if r.name == row.name), None)
        if row.due_on not in days_left:
            days_left[row.due_on] = calendar.working_days_between(today, row.due_on)
        statuses.append(DeadlineStatus(
            working_days_left=days_left[row.due_on],
            overdue=is_overdue(row.due_on, today),
            case_id=row.id,
            police_reference=row.police_reference,
            child_name=f"{row.given_name} {row.family_name}",
            case_state=definition.states[row.state].label,
            case_manager=row.case_manager,
            name=row.name,
            label=rule.label if rule else row.name,
            due_on=row.due_on,
        ))
    return statuses
