"""Keeping the figures' tables up to date as each event is written.

What one event changes is worked out from the event itself and written in a statement or two,
in the transaction of the transition (`ooc.service.fire` calls `record_event`). The same rows
are worked out from the whole audit trail in SQL by `ooc.figures.facts`, which is the reference:
`ooc audit verify` and the tests check that the two agree, and `refresh_facts` rewrites them.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from ooc.calendar import calendar_rows, local_date
from ooc.definitions import Definition
from ooc.figures.facts import (
    CASE_FACTS,
    DECISION_FACTS,
    EVENTS,
    FIRST_TIME_OUTCOMES,
    MILESTONE_TRIGGERS,
    RJ_DECIDED,
    RJ_STEP,
    STEP_FACTS,
    VICTIM_COLUMNS,
    WORKING_DAYS,
)
from ooc.machine import WorkflowRegistry
from ooc.models import Case, PanelMeeting

MILESTONE_NAMES = {trigger: name for name, trigger in MILESTONE_TRIGGERS.items()}


@lru_cache(maxsize=1)
def _working_days() -> tuple[dict[date, int], dict[int, date]]:
    """The calendar table's running count of working days, and the first day of each count."""
    counts, first_of = {}, {}
    for row in calendar_rows():
        counts[row["day"]] = row["working_days_to"]
        first_of.setdefault(row["working_days_to"], row["day"])
    return counts, first_of


def working_days_to(day: date) -> int:
    return _working_days()[0][day]


def add_wd(day: date, n: int) -> date:
    """As the database's `add_wd`: the first day whose count is `day`'s plus n."""
    counts, first_of = _working_days()
    return first_of[counts[day] + n]


def not_blank(value: Any) -> bool:
    """As SQL's `coalesce(trim(x), '') != ''`: trim takes off spaces only."""
    return value is not None and str(value).strip(" ") != ""


def _first_of(at: datetime, name: str) -> dict[str, Any]:
    """A milestone's instant, local date and (where the table keeps it) working-day count."""
    on = local_date(at)
    columns = {f"{name}_at": at, f"{name}_on": on}
    if f"{name}_wd" in CASE_FACTS.c:
        columns[f"{name}_wd"] = working_days_to(on)
    return columns


def _case_changes(definition: Definition, event: dict[str, Any]) -> tuple[
        dict[str, Any], dict[str, Any]]:
    """(columns set only if still empty, columns always set) of the case's row."""
    trigger, at, data = event["trigger"], event["at"], event["data"]
    first: dict[str, Any] = {}
    always: dict[str, Any] = {}
    if trigger in MILESTONE_NAMES:
        first |= _first_of(at, MILESTONE_NAMES[trigger])
    if trigger == "submit_assessment":
        first["countersignature_due_on"] = add_wd(first["assessed_on"],
                                                  WORKING_DAYS["countersignature"])
    elif trigger == "record_decision":
        first["sign_off_due_on"] = add_wd(first["decided_on"], WORKING_DAYS["sign_off"])
        always = {"last_decided_at": at,
                  "last_formal": _is_formal(definition, data.get("outcome"))}
    elif trigger == "inform_victim":
        first |= {"informed_at": at, "informed_on": local_date(at)}
    elif trigger == "contact_victim" and data.get("consents_to_contact") is True:
        first["consented_at"] = at
    elif trigger == "start_rj":
        first["took_part_at"] = at
    main = event["track"] == "main"
    if main and definition.states[event["to_state"]].terminal:
        first["ended_at"] = at
    if trigger in RJ_STEP or (main and event["to_state"] == "closed"):
        first["rj_reached_at"] = at
    if trigger in RJ_DECIDED and not_blank(data.get("reasons")):
        first["rj_decided_at"] = at
    return first, always


def _is_formal(definition: Definition, outcome: str | None) -> bool:
    return outcome in {o.code for o in definition.outcomes.values() if o.formal}


@lru_cache(maxsize=256)
def _update(table, keep: frozenset[str], always: frozenset[str]):
    """UPDATE the case's rows: `keep` columns only where still empty, `always` columns outright."""
    def value(name: str):  # typed, so that instants are written as the column writes them
        return bindparam(f"v_{name}", type_=table.c[name].type)

    values = {name: func.coalesce(table.c[name], value(name)) for name in keep}
    values |= {name: value(name) for name in always}
    return update(table).where(table.c.case_id == bindparam("v_case_id")).values(values)


def _set(session: Session, table, case_id: int, first: dict[str, Any],
         always: dict[str, Any] | None = None) -> None:
    always = always or {}
    statement = _update(table, frozenset(first), frozenset(always))
    session.execute(statement, {"v_case_id": case_id,
                                **{f"v_{k}": v for k, v in (first | always).items()}})


def record_event(session: Session, registry: WorkflowRegistry, case: Case,
                 event: dict[str, Any]) -> None:
    """Bring the case's rows in the figures' tables up to date with `event`, just written."""
    definition = registry.get(case.workflow_name, case.workflow_version)
    first, always = _case_changes(definition, event)
    if first or always:
        _set(session, CASE_FACTS, case.id, first, always)
    victim = {k: v for k, v in first.items() if k in VICTIM_COLUMNS}
    if victim:
        _set(session, DECISION_FACTS, case.id, victim)
    trigger, at, data = event["trigger"], event["at"], event["data"]
    if event["track"] == "main" and event["from_state"] in _after_submission(definition):
        session.execute(_NEXT_MAIN_STEP, {"b_case_id": case.id, "b_trigger": trigger, "b_at": at})
    if trigger == "record_decision":
        session.execute(_NEXT_DECISION, {"b_case_id": case.id, "b_at": at})
        session.execute(_AFTER_BREACH, {"b_case_id": case.id, "b_at": at,
                                        "b_outcome": data.get("outcome")})
        _add_decision(session, registry, definition, case, event)
    step = _step(event)
    if step:
        session.execute(insert(STEP_FACTS), step)


def _after_submission(definition: Definition) -> set[str]:
    """The states a submission leads to: only a step from one of them can follow a submission
    (a test that saves a statement on every other step)."""
    return {route.state for t in definition.transitions if t.trigger == "submit_assessment"
            for route in t.routes}


# The submission waiting for the next main-track step; the case's decision waiting for the next
# decision; the breach waiting for the panel's next decision.
_NEXT_MAIN_STEP = (update(STEP_FACTS)
                   .where(STEP_FACTS.c.case_id == bindparam("b_case_id"),
                          STEP_FACTS.c.kind == "submission", STEP_FACTS.c.next_trigger.is_(None))
                   .values(next_trigger=bindparam("b_trigger"), next_at=bindparam("b_at")))
_NEXT_DECISION = (update(DECISION_FACTS)
                  .where(DECISION_FACTS.c.case_id == bindparam("b_case_id"),
                         DECISION_FACTS.c.next_at.is_(None))
                  .values(next_at=bindparam("b_at")))
_AFTER_BREACH = (update(STEP_FACTS)
                 .where(STEP_FACTS.c.case_id == bindparam("b_case_id"),
                        STEP_FACTS.c.trigger == "breach", STEP_FACTS.c.next_at.is_(None))
                 .values(next_at=bindparam("b_at"), next_outcome=bindparam("b_outcome")))


def _step(event: dict[str, Any]) -> dict[str, Any] | None:
    """The row of a submission or of the end of an intervention."""
    if event["track"] != "main":
        return None
    trigger, data = event["trigger"], event["data"]
    row = {"event_id": event["id"], "case_id": event["case_id"], "at": event["at"],
           "trigger": trigger, "next_trigger": None, "next_at": None, "next_outcome": None,
           "completed": False, "feedback": False}
    if trigger == "submit_assessment":
        return row | {"kind": "submission"}
    if event["from_state"] == "intervention" and event["to_state"] != "intervention":
        complete = trigger == "complete"
        feedback = complete and all(
            not_blank(data.get(f"{who}_feedback")) or data.get(f"{who}_declined_feedback") is True
            for who in ("child", "parent"))
        return row | {"kind": "ending", "feedback": feedback,
                      "completed": complete and data.get("completed") is True}
    return None


def _add_decision(session: Session, registry: WorkflowRegistry, definition: Definition,
                  case: Case, event: dict[str, Any]) -> None:
    data, outcome = event["data"], event["data"].get("outcome")
    facts = session.execute(select(CASE_FACTS).where(CASE_FACTS.c.case_id == case.id)).one()
    earlier = session.execute(
        select(EVENTS.c.trigger, EVENTS.c.data)
        .where(EVENTS.c.case_id == case.id, EVENTS.c.seq < event["seq"],
               EVENTS.c.trigger.in_(("submit_assessment", "record_decision", "sign_off",
                                     "record_victim_views", "countersign")))
        .order_by(EVENTS.c.seq)).all()
    submissions = [d for t, d in earlier if t == "submit_assessment"]
    meeting_id = data.get("meeting_id")
    quorate = bool(meeting_id) and bool(session.execute(
        select(PanelMeeting.quorate).where(PanelMeeting.id == meeting_id)).scalar())
    decided_on = local_date(event["at"])
    session.execute(insert(DECISION_FACTS), {
        "event_id": event["id"], "case_id": case.id, "seq": event["seq"], "at": event["at"],
        "next_at": None, "decided_on": decided_on, "outcome": outcome,
        "meeting_id": int(meeting_id) if meeting_id is not None else None,
        "indicated": outcome in definition.gravity.get(case.gravity_score, ()),
        "formal": _is_formal(definition, outcome),
        "rationale": not_blank(data.get("deviation_rationale")),
        "countersigned_before": any(t == "countersign" for t, _ in earlier),
        "quorate": quorate,
        "child_views": not_blank(data.get("child_views"))
        or any(not_blank(s.get("child_views")) for s in submissions),
        "parent_views": any(not_blank(d.get(k)) for d in (data, *submissions)
                            for k in ("parent_views", "parent_views_reason")),
        "victim_views_before": any(t == "record_victim_views" for t, _ in earlier)
        or not_blank(data.get("victim_views_reason")),
        "first_time": (outcome in FIRST_TIME_OUTCOMES and case.previous_formal_outcomes == 0
                       and not _formal_given_before(registry, earlier)),
        "inform_due_on": add_wd(decided_on, WORKING_DAYS["victim_informed"]),
        "ethnicity": facts.ethnicity, "sex": case.sex, "age_band": facts.age_band,
        "looked_after": facts.looked_after, "has_victim": case.has_victim,
        "victim_opted_out": case.victim_opted_out,
        **{name: getattr(facts, name) for name in VICTIM_COLUMNS},
    })


def _formal_given_before(registry: WorkflowRegistry, earlier: list) -> bool:
    """An earlier formal outcome that was then signed off (as `facts._formal_given_before`)."""
    formal_codes = {o.code for d in registry for o in d.outcomes.values() if o.formal}
    formal_pending = False
    for trigger, data in earlier:
        if trigger == "record_decision" and data.get("outcome") in formal_codes:
            formal_pending = True
        elif trigger == "sign_off" and formal_pending:
            return True
    return False
