"""Panel meetings: recorded once, with the agencies present as rows and whether the meeting met
the quorum rule in force when it was recorded. That is fixed then: the decision guard, the pages
and figure D5 all read it, so an administrator changing the rule later rewrites no history.

Which steps of a workflow happen at a meeting is the workflow's to say: those whose form names a
panel meeting (a field of type `meeting`). The one among them that moves the case on records the
panel's decision; one that leaves the case where it was (still awaiting the panel) defers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from ooc.calendar import ENGLAND_AND_WALES, LONDON, WorkingDayCalendar, to_utc
from ooc.definitions import Definition, Transition
from ooc.errors import FieldProblem
from ooc.guards import GuardContext, failures
from ooc.machine import WorkflowRegistry
from ooc.models import AuditEvent, Case, PanelAttendance, PanelMeeting
from ooc.quorum import known_agencies, quorum_in_force

DEFERRED = "Deferred"


def record_meeting(session: Session, *, definition: Definition, held_on: date, chair: str,
                   agencies: list[str], now: datetime) -> PanelMeeting:
    """A new panel meeting, flushed so that it has an id."""
    agencies = list(dict.fromkeys(agencies))
    quorate = not quorum_in_force(session, definition, now).problems(agencies)
    meeting = PanelMeeting(held_on=held_on, chair=chair, agencies_present=agencies,
                           quorate=quorate, created_at=to_utc(now))
    session.add(meeting)
    session.flush()
    session.add_all(PanelAttendance(meeting_id=meeting.id, agency=a) for a in agencies)
    session.flush()
    return meeting


def quorum_problems(session: Session, definition: Definition,
                    meeting: PanelMeeting) -> list[str]:
    """Why the meeting was not quorate (empty: it was), as the rule in force when it was
    recorded says. A meeting stored as not quorate that this rule would pass (one brought over
    from an older system, say) is described by the agencies that attended."""
    if meeting.quorate:
        return []
    problems = quorum_in_force(session, definition, meeting.created_at).problems(
        meeting.agencies_present)
    if problems:
        return problems
    labels = {a.value: a.label for a in known_agencies(session, definition)}
    present = ", ".join(labels.get(code, code) for code in meeting.agencies_present)
    return [f"it was recorded as not quorate, with {present or 'no agency'} present"]


# --- what happens at a meeting ----------------------------------------------------------------


def meeting_field(transition: Transition) -> str | None:
    """The field of the transition's form that names a panel meeting, if it has one."""
    return next((f.name for f in transition.fields if f.type == "meeting"), None)


def at_meeting(definition: Definition) -> list[Transition]:
    """The transitions recorded against a panel meeting."""
    return [t for t in definition.transitions if meeting_field(t)]


def deciding(definition: Definition) -> Transition | None:
    """The transition that records the panel's decision: the meeting step that moves the case
    on (a deferral leaves it where it was)."""
    return next((t for t in at_meeting(definition)
                 if any(r.state not in t.sources for r in t.routes)), None)


def agenda_states(definition: Definition) -> list[str]:
    """The states of the cases a panel considers: where its decision can be recorded from."""
    decide = deciding(definition)
    return list(decide.sources) if decide else []


def agenda_offered(definition: Definition, meeting: PanelMeeting, today: date,
                   calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> bool:
    """A meeting's page offers the cases ready for panel from the day it was held until
    `[panel] agenda_within_working_days` working days after."""
    return (meeting.held_on <= today and calendar.working_days_between(meeting.held_on, today)
            <= definition.panel.agenda_within_working_days)


def meeting_problems(session: Session, definition: Definition, case: Case, transition: Transition,
                     meeting: PanelMeeting, now: datetime) -> list[str]:
    """What the transition's guards find wrong with recording it at this meeting for this case
    (for example, the case was countersigned after the meeting): only what is about the
    meeting, as the rest of the form is not filled in yet."""
    field = meeting_field(transition)
    ctx = GuardContext(definition=definition, case=case, form={field: meeting.id},
                       session=session, now=now)
    return [f.message for f in failures(transition.guards, ctx)
            if isinstance(f, FieldProblem) and f.field == field]


@dataclass(frozen=True)
class MeetingItem:
    """A case decided or deferred at a meeting."""

    case_id: int
    child_name: str
    police_reference: str
    at: datetime
    result: str  # the outcome decided, or "Deferred"
    reason: str | None  # why it was deferred


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def done_at(session: Session, registry: WorkflowRegistry, meeting: PanelMeeting
            ) -> list[MeetingItem]:
    """The cases decided or deferred at the meeting, in the order it was recorded, from the
    audit trail: each event names its meeting. (Deferrals recorded before the deferral form
    named the meeting are put down to the meeting held that day, where there was only one.)"""
    fields = {t.trigger: meeting_field(t) for d in registry for t in at_meeting(d)}
    if not fields:
        return []
    names = sorted(set(fields.values()))
    starts = _local_midnight(meeting.held_on)  # nothing is recorded before the meeting
    named = or_(*[AuditEvent.data[name].as_integer() == meeting.id for name in names])
    only_that_day = session.execute(select(func.count()).select_from(PanelMeeting).where(
        PanelMeeting.held_on == meeting.held_on)).scalar() == 1
    if only_that_day:
        named = or_(named, and_(*[AuditEvent.data[name].as_integer().is_(None) for name in names],
                                AuditEvent.at < _local_midnight(meeting.held_on
                                                                + timedelta(days=1))))
    rows = session.execute(
        select(AuditEvent.case_id, AuditEvent.at, AuditEvent.trigger, AuditEvent.from_state,
               AuditEvent.to_state, AuditEvent.reason, AuditEvent.data,
               AuditEvent.workflow_name, AuditEvent.workflow_version, Case.given_name,
               Case.family_name, Case.police_reference)
        .join(Case, Case.id == AuditEvent.case_id)
        .where(AuditEvent.trigger.in_(sorted(fields)), AuditEvent.at >= to_utc(starts), named)
        .order_by(AuditEvent.at, AuditEvent.id))
    items = []
    for row in rows:
        outcomes = registry.get(row.workflow_name, row.workflow_version).outcomes
        outcome = outcomes.get((row.data or {}).get("outcome"))
        if row.from_state == row.to_state:
            result, reason = DEFERRED, row.reason
        else:
            result, reason = (outcome.label if outcome else row.trigger), None
        items.append(MeetingItem(row.case_id, f"{row.given_name} {row.family_name}",
                                 row.police_reference, row.at, result, reason))
    return items
