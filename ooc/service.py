"""The transition service: the one way a case is created or moved.

Each call checks the role, the form and the guards before anything is written, then writes the
new state, the case's recorded data, one audit event and the deadline changes, and flushes. It
never commits: the caller owns the transaction (see `ooc.db.unit_of_work`), so an error anywhere
leaves the case exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from ooc.access import refusal
from ooc.audit import CREATE, GENESIS, append_event, apply_records
from ooc.calendar import ENGLAND_AND_WALES, WorkingDayCalendar, to_utc
from ooc.deadlines import open_referral_deadlines, update_deadlines
from ooc.definitions import Definition, Transition
from ooc.drafts import discard_drafts
from ooc.errors import (
    Conflict,
    FieldProblem,
    GuardsFailed,
    InvalidForm,
    NotFound,
    RoleNotAllowed,
    UnknownTrigger,
)
from ooc.figures.facts import add_new_case_facts
from ooc.figures.upkeep import record_event
from ooc.forms import clean_form, to_json
from ooc.guards import GuardContext, evaluate, failures, holds
from ooc.inputs import NUL_MESSAGE, TEXT_MAX_LENGTH, calendar_date_problem, has_nul
from ooc.machine import TrackState, WorkflowRegistry
from ooc.models import TRACK_COLUMNS, Case, User
from ooc.search import index_case


def role_label(role: str) -> str:
    return role.replace("_", " ")


def _acting_role(actor: User, allowed: tuple[str, ...]) -> str | None:
    if not actor.active:
        return None
    return next((role for role in actor.roles if role in allowed), None)


def _role_refusal(actor: User, allowed: tuple[str, ...], action: str) -> str:
    if not actor.active:
        return f"{actor.username}'s account is not active."
    who = " or ".join(f"a {role_label(r)}" for r in allowed)
    held = ", ".join(role_label(r) for r in actor.roles) or "no role"
    return f"Only {who} can {action}; {actor.username} is signed in as {held}."


def _track_states(case: Case) -> dict[str, str]:
    return {track: getattr(case, column) for track, column in TRACK_COLUMNS.items()}


# --- creating a case -------------------------------------------------------------------------


def _outside_calendar(definition: Definition, values: dict[str, Any]) -> list[FieldProblem]:
    """Dates that deadlines count working days from must lie in the working-day calendar."""
    labels = {f.name: f.label for f in definition.referral.fields}
    starts = {name for rule in definition.deadlines for name in rule.from_fields}
    return [FieldProblem(name, problem) for name in sorted(starts)
            if isinstance(values.get(name), date)
            and (problem := calendar_date_problem(labels.get(name, name), values[name]))]


# A new case's columns before the referral's values are set.
_NEW_CASE = {c.name: None for c in Case.__table__.columns if c.name not in (
    "workflow_name", "workflow_version")} | {"state": "", "victim_state": "", "data": {},
                                             "version": 1}


@dataclass(frozen=True)
class CheckedReferral:
    """A referral that passed every check of `create_case` but the duplicate one: its cleaned
    values and the state each track starts in."""

    definition: Definition
    role: str
    values: dict[str, Any]
    initial: dict[str, str]


def check_referral(*, registry: WorkflowRegistry, actor: User, referral: dict[str, Any],
                   now: datetime, workflow: str = "oocd",
                   session: Session | None = None) -> CheckedReferral:
    """What `create_case` checks before it writes (role, form, lengths, guards), reading
    nothing; the police reference may still belong to a case."""
    definition = registry.latest(workflow)
    role = _acting_role(actor, definition.referral.roles)
    if role is None:
        raise RoleNotAllowed(_role_refusal(actor, definition.referral.roles, "make a referral"))
    values, problems = clean_form(definition.referral.fields, referral)
    problems += _outside_calendar(definition, values)
    if problems:
        raise InvalidForm(problems)
    values.setdefault("victim_opted_out", False)
    if not values.get("has_victim"):
        values["victim_opted_out"] = False
    # The guards read the case to be: a plain stand-in, as building a table model costs more
    # than every check together (an import checks 50,000).
    case = SimpleNamespace(**{**_NEW_CASE, **values, "workflow_name": definition.name,
                              "workflow_version": definition.version})
    ctx = GuardContext(definition=definition, case=case, actor=actor, form=values,
                       session=session, now=now)
    unmet = failures(definition.referral.guards, ctx)
    if unmet:
        raise GuardsFailed("The referral cannot be accepted.", unmet)
    initial = {}
    for name, track in definition.tracks.items():
        route = next(r for r in track.initial if r.when is None or holds(r.when, ctx))
        initial[name] = route.state
    return CheckedReferral(definition, role, values, initial)


def create_case(session: Session, *, registry: WorkflowRegistry, actor: User,
                referral: dict[str, Any], now: datetime, workflow: str = "oocd",
                calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> Case:
    """Record a referral as a new case on the latest version of `workflow`."""
    checked = check_referral(registry=registry, actor=actor, referral=referral, now=now,
                             workflow=workflow, session=session)
    definition, role, values, initial = (checked.definition, checked.role, checked.values,
                                         checked.initial)
    duplicate = session.exec(
        select(Case.id).where(Case.police_reference == values["police_reference"])).first()
    if duplicate is not None:
        raise InvalidForm([FieldProblem(
            "police_reference",
            f"A case with police reference {values['police_reference']} already exists "
            f"(case {duplicate}).")])
    at = to_utc(now)
    case = Case(workflow_name=definition.name, workflow_version=definition.version,
                state="", victim_state="", audit_head=GENESIS, created_at=at, updated_at=at,
                referred_by=actor.username, **values)
    for name, state in initial.items():
        setattr(case, TRACK_COLUMNS[name], state)
    session.add(case)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Another case with this police reference was created at the same "
                       "moment. Reload to see it.") from None
    event = append_event(
        session, prev_hash=GENESIS, case_id=case.id, seq=1, at=now, actor=actor.username,
        role=role, trigger=CREATE, track="main", to_state=case.state,
        data={"referral": to_json(values), "initial": initial},
        workflow_name=definition.name, workflow_version=definition.version)
    case.audit_head = event["hash"]
    open_referral_deadlines(session, definition=definition, case=case, calendar=calendar)
    session.flush()
    add_new_case_facts(session, registry, case.id)
    index_case(session, case)
    return case


# --- what can be done now --------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A trigger the case's current state allows, and whether this actor may fire it now."""

    transition: Transition
    allowed: bool
    reasons: tuple[str, ...]

    @property
    def trigger(self) -> str:
        return self.transition.trigger

    @property
    def label(self) -> str:
        return self.transition.label


def _destination(registry: WorkflowRegistry, definition: Definition, transition: Transition,
                 current: str, ctx: GuardContext) -> str:
    """Fire the shared machine on a stand-in to learn where this trigger goes now."""
    stand_in = TrackState(current)
    machine = registry.machine(definition, transition.track)
    machine.events[transition.trigger].trigger(stand_in, ctx=ctx)
    return stand_in.state


def _guard_names(definition: Definition, transition: Transition, dest: str) -> tuple[str, ...]:
    return transition.guards + definition.states[dest].entry_guards


def available_actions(session: Session, *, registry: WorkflowRegistry, case: Case,
                      actor: User, now: datetime) -> list[Action]:
    """Every trigger from the case's current states: allowed now, or blocked and why."""
    definition = registry.get(case.workflow_name, case.workflow_version)
    ctx = GuardContext(definition=definition, case=case, actor=actor, session=session, now=now)
    actions = []
    for state in _open_track_states(definition, case):
        for transition in definition.transitions_from(state):
            reasons = []
            if _acting_role(actor, transition.roles) is None:
                reasons.append(_role_refusal(actor, transition.roles,
                                             transition.label[0].lower() + transition.label[1:]))
            else:
                dest = _destination(registry, definition, transition, state, ctx)
                reasons.extend(evaluate(_guard_names(definition, transition, dest), ctx))
            actions.append(Action(transition, not reasons, tuple(reasons)))
    return actions


# --- firing a trigger ------------------------------------------------------------------------


@dataclass(frozen=True)
class TransitionResult:
    case_id: int
    trigger: str
    track: str
    from_state: str
    to_state: str
    version: int


def _open_track_states(definition: Definition, case: Case) -> list[str]:
    """The states actions can start from: none once the case itself is closed or withdrawn."""
    if definition.is_terminal(case.state):
        return []
    return list(_track_states(case).values())


def find_transition(definition: Definition, case: Case, trigger: str) -> tuple[str, Transition]:
    """The state `trigger` fires from and its transition, or UnknownTrigger saying what can."""
    states = _open_track_states(definition, case)
    for state in states:
        transition = definition.transition(state, trigger)
        if transition is not None:
            return state, transition
    allowed = sorted({t.trigger for s in states for t in definition.transitions_from(s)})
    labels = [definition.states[s].label.lower() for s in _track_states(case).values()]
    raise UnknownTrigger(trigger, " and ".join(labels), allowed)


def _check_reason(transition: Transition, reason: str | None,
                  reason_code: str | None) -> list[FieldProblem]:
    problems = []
    if reason and has_nul(reason):
        problems.append(FieldProblem("reason", f"The reason {NUL_MESSAGE}"))
    if reason and len(reason.strip()) > TEXT_MAX_LENGTH:
        problems.append(FieldProblem("reason", f"The reason must be {TEXT_MAX_LENGTH:,} "
                                               "characters or fewer."))
    if transition.reason == "required" and not (reason and reason.strip()):
        problems.append(FieldProblem("reason", f"Give a reason to {transition.label.lower()}."))
    if transition.reason == "none" and (reason or reason_code):
        problems.append(FieldProblem("reason", "This action does not take a reason."))
    if transition.reason == "required" and transition.reason_codes and reason_code is None:
        codes = ", ".join(transition.reason_codes)
        problems.append(FieldProblem("reason_code", f"Choose a reason code (one of: {codes})."))
    if reason_code is not None and reason_code not in transition.reason_codes:
        codes = ", ".join(transition.reason_codes) or "none"
        problems.append(FieldProblem(
            "reason_code", f"'{reason_code}' is not a reason code for this action "
                           f"(use one of: {codes})."))
    return problems


def check_version(case: Case, expected_version: int | None) -> None:
    """Refuse work based on an older copy of the case (a stale page, a form sent twice)."""
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            f"Case {case.id} has changed since you opened it (you had version "
            f"{expected_version}; it is now at version {case.version}). Reload the case to see "
            "what changed, then try again.")


@dataclass(frozen=True)
class Checked:
    """A transition that passed every check: what firing it now would do."""

    case: Case
    definition: Definition
    transition: Transition
    role: str
    from_state: str
    to_state: str
    form: dict[str, Any]
    ctx: GuardContext


def check_transition(session: Session, *, registry: WorkflowRegistry, case_id: int,
                     trigger: str, actor: User, now: datetime,
                     data: dict[str, Any] | None = None, reason: str | None = None,
                     reason_code: str | None = None,
                     expected_version: int | None = None) -> Checked:
    """Every check `fire` makes, writing nothing: a domain error saying exactly why not, or
    what the transition would do (for a page that asks the user to confirm first)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"There is no case {case_id}.")
    check_version(case, expected_version)
    definition = registry.get(case.workflow_name, case.workflow_version)
    from_state, transition = find_transition(definition, case, trigger)

    role = _acting_role(actor, transition.roles)
    if role is None:
        raise RoleNotAllowed(_role_refusal(actor, transition.roles, transition.label.lower()))
    kept_out = refusal(session, user=actor, case=case, registry=registry)
    if kept_out:
        raise RoleNotAllowed(kept_out)

    form, problems = clean_form(transition.fields, data or {})
    problems += _check_reason(transition, reason, reason_code)
    if problems:
        raise InvalidForm(problems)

    ctx = GuardContext(definition=definition, case=case, actor=actor, form=form, session=session,
                       now=now)
    to_state = _destination(registry, definition, transition, from_state, ctx)
    unmet = failures(_guard_names(definition, transition, to_state), ctx,
                     transition.guard_fields)
    if unmet:
        raise GuardsFailed(f"{transition.label} cannot be done yet.", unmet)
    return Checked(case, definition, transition, role, from_state, to_state, form, ctx)


def fire(session: Session, *, registry: WorkflowRegistry, case_id: int, trigger: str,
         actor: User, now: datetime, data: dict[str, Any] | None = None,
         reason: str | None = None, reason_code: str | None = None,
         expected_version: int | None = None,
         calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> TransitionResult:
    """Fire `trigger` on a case for `actor`, or raise a domain error saying exactly why not."""
    checked = check_transition(session, registry=registry, case_id=case_id, trigger=trigger,
                               actor=actor, now=now, data=data, reason=reason,
                               reason_code=reason_code, expected_version=expected_version)
    case, definition, transition = checked.case, checked.definition, checked.transition
    from_state, to_state, form, ctx = (checked.from_state, checked.to_state, checked.form,
                                       checked.ctx)
    role = checked.role

    stored_form = to_json(form)
    seq = case.version + 1
    changes: dict[str, Any] = {TRACK_COLUMNS[transition.track]: to_state, "version": seq,
                               "updated_at": to_utc(now)}
    if transition.records or transition.clears:
        changes["data"] = apply_records(case.data, transition, actor.username, now, stored_form)
    if transition.assigns:
        changes[transition.assigns] = actor.username
    try:
        event = append_event(
            session, prev_hash=case.audit_head, case_id=case.id, seq=seq, at=now,
            actor=actor.username, role=role, trigger=trigger, track=transition.track,
            from_state=from_state, to_state=to_state, reason_code=reason_code,
            reason=reason.strip() if reason else None, data=stored_form,
            workflow_name=definition.name, workflow_version=definition.version)
        changes["audit_head"] = event["hash"]
        write_case(session, case, changes)
        update_deadlines(session, definition=definition, case=case, ctx=ctx,
                         transition=transition, from_state=from_state, to_state=to_state,
                         now=now, calendar=calendar)
        discard_drafts(session, case_id=case.id, done=trigger, possible={
            t.trigger for state in _open_track_states(definition, case)
            for t in definition.transitions_from(state)})
        session.flush()
    except IntegrityError:
        # Another writer took this sequence number first.
        raise _conflict(case_id) from None
    record_event(session, registry, case, event)
    return TransitionResult(case.id, trigger, transition.track, from_state, to_state, seq)


def _conflict(case_id: int) -> Conflict:
    return Conflict(f"Someone else changed case {case_id} at the same moment, so your change "
                    "was not saved. Reload the case to see what changed, then try again.")


def write_case(session: Session, case: Case, changes: dict[str, Any]) -> None:
    """Update the case row only if nobody changed it since it was read."""
    result = session.connection().execute(
        _update_statement(tuple(sorted(changes))),
        {**changes, "case_id": case.id, "read_version": case.version},
    )
    if result.rowcount != 1:
        raise _conflict(case.id)
    for name, value in changes.items():
        set_committed_value(case, name, value)


@lru_cache(maxsize=64)
def _update_statement(columns: tuple[str, ...]):
    """One compiled-once Core statement per set of changed columns (a transition changes the
    same columns every time), instead of building an ORM update on every call."""
    table = Case.__table__
    return (table.update()
            .where(table.c.id == bindparam("case_id"),
                   table.c.version == bindparam("read_version"))
            .values({name: bindparam(name) for name in columns}))
