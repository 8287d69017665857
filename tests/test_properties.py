"""Property-based tests: whatever anyone tries on a case, in any order, the case stays legal.

Hypothesis plays random sequences of (trigger, person, form data) against a fresh case, on
SQLite and on PostgreSQL. Triggers are drawn from every trigger of the workflow (so most attempts
are refused: wrong state, wrong role, bad form, failed guard) with a bias towards the triggers
the case's current states allow, so that sequences also get deep into the workflow. People are
drawn from every user in `tests.support.USERS`, and form data from a few choices per trigger:
valid, missing fields, wrong types, unknown fields and guard-violating data (a decision departing
from the gravity score with no rationale, a decision at a meeting that is not quorate, an
assessment with a medium risk and no contingency plan, ...).

Proven after every attempt:

* a refusal is a domain error (`OocError`) of the right kind: a trigger the case's states do not
  allow is `UnknownTrigger`, a person without the role gets `RoleNotAllowed`, anything else a
  form or guard problem; and it leaves the case exactly as it was (states, version, recorded
  data, case manager, audit events, deadlines);
* a valid form for an action `available_actions` offers as allowed to that person is accepted;
* an accepted transition was offered as allowed to that person by `available_actions`, moves
  only its own track, to one of the destinations the definition gives it, into a state of the
  definition on the right track whose entry conditions hold, and adds exactly one audit event;
* the case's events replayed (`replay(registry, case_events(...))`) give exactly its stored
  states, version, recorded data, case manager and audit head;
* at the end of every sequence `verify_trail` finds no problem in the whole trail, and the
  figures' tables, written event by event, are what the whole trail gives (`facts_differences`).

Run with `--hypothesis-show-statistics` to see how deep the sequences went (which triggers
fired, which refusals were seen, which states the cases ended in).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from ooc import service
from ooc.audit import case_events, replay, verify_trail
from ooc.calendar import local_date
from ooc.definitions import Definition
from ooc.errors import GuardsFailed, InvalidForm, OocError, RoleNotAllowed, UnknownTrigger
from ooc.figures.facts import facts_differences
from ooc.guards import GuardContext, evaluate
from ooc.machine import WorkflowRegistry
from ooc.models import TRACK_COLUMNS, Case, Deadline, User
from tests.support import (
    NOW,
    USERS,
    assessment,
    completion,
    decision,
    make_meeting,
    referral,
)

MAX_STEPS = 30
MAX_EXAMPLES = 50


@dataclass(frozen=True)
class Meetings:
    quorate: int
    not_quorate: int


@dataclass(frozen=True)
class Choice:
    """One way of filling in a trigger's form: what a person might submit.

    `valid`: the form is complete, well typed and meets every condition on the form itself, so
    if the action is offered as allowed to the person, it must be accepted.
    """

    label: str
    data: Callable[[Meetings], dict[str, Any] | None] | dict[str, Any] | None = None
    kwargs: dict[str, Any] | None = None
    valid: bool = False

    def form(self, meetings: Meetings) -> dict[str, Any] | None:
        return self.data(meetings) if callable(self.data) else self.data


def _decision(**overrides: Any) -> Callable[[Meetings], dict[str, Any]]:
    """A decision at the quorate meeting (overrides may pick the other one by name)."""
    def build(m: Meetings) -> dict[str, Any]:
        values = {**decision(m.quorate), **overrides}
        if values["meeting_id"] == "not_quorate":
            values["meeting_id"] = m.not_quorate
        return values
    return build


def Valid(label: str, data: Any = None, kwargs: dict[str, Any] | None = None) -> Choice:
    return Choice(label, data, kwargs, valid=True)


ALWAYS_JUSTIFIED = {"deviation_rationale": "The panel weighed the circumstances.",
                    "victim_views_reason": "The victim could not be reached."}

# For each trigger: valid forms (`Valid`) and forms a person might wrongly submit (`Choice`).
CHOICES: dict[str, list[Choice]] = {
    "take_case": [
        Valid("no form"),
        Choice("a field the form does not have", {"note": "Mine."}),
        Choice("a reason where none is taken", None, {"reason": "Because."}),
    ],
    "submit_assessment": [
        Valid("valid", assessment()),
        Valid("medium risk with a contingency plan",
              assessment(risk_to_others="medium", contingency_plan="Weekly check-ins.")),
        Choice("missing fields", {}),
        Choice("wrong types", assessment(risk_to_others="extreme", desistance=5)),
        Choice("medium risk and no contingency plan", assessment(risk_to_others="medium")),
        Choice("no parent views and no reason", assessment(parent_views=None)),
    ],
    "return_assessment": [
        Valid("valid", {"comments": "Say more about desistance."}),
        Choice("missing comments", {}),
        Choice("comments of the wrong type", {"comments": 42}),
    ],
    "countersign": [
        Valid("no form"),
        Choice("a field the form does not have", {"comments": "Fine."}),
    ],
    "defer": [
        Valid("valid", lambda m: {"meeting_id": m.quorate},
              {"reason": "Waiting for the school report.",
               "reason_code": "more_information_needed"}),
        Valid("at a meeting that is not quorate", lambda m: {"meeting_id": m.not_quorate},
              {"reason": "The panel was not quorate.", "reason_code": "other"}),
        Choice("no meeting", None, {"reason": "The child was ill.",
                                    "reason_code": "child_did_not_attend"}),
        Choice("a reason with no code", lambda m: {"meeting_id": m.quorate},
               {"reason": "The child was ill."}),
        Choice("no reason", lambda m: {"meeting_id": m.quorate}, {}),
        Choice("a blank reason", lambda m: {"meeting_id": m.quorate},
               {"reason": "   ", "reason_code": "other"}),
        Choice("an unknown reason code", lambda m: {"meeting_id": m.quorate},
               {"reason": "Busy.", "reason_code": "busy"}),
    ],
    "record_decision": [
        Valid("valid, with every rationale", _decision(**ALWAYS_JUSTIFIED)),
        Valid("no further action, which ends the case",
              _decision(outcome="nfa", **ALWAYS_JUSTIFIED)),
        Valid("charge, which ends the case", _decision(outcome="charge", **ALWAYS_JUSTIFIED)),
        Choice("community resolution, with no deviation rationale", _decision()),
        Choice("youth caution departing from the gravity score with no rationale",
               _decision(outcome="youth_caution",
                         victim_views_reason="The victim could not be reached.")),
        Choice("at a meeting that is not quorate",
               _decision(meeting_id="not_quorate", **ALWAYS_JUSTIFIED)),
        Choice("at a meeting that does not exist",
               _decision(meeting_id=999_999, **ALWAYS_JUSTIFIED)),
        Choice("a conditional caution without consent or conditions",
               _decision(outcome="youth_conditional_caution", **ALWAYS_JUSTIFIED)),
        Choice("a caution without an admission",
               _decision(outcome="youth_caution", admission=False, **ALWAYS_JUSTIFIED)),
        Choice("missing fields", {}),
        Choice("wrong types", _decision(meeting_id="the first one", admission="perhaps",
                                        outcome="prison")),
    ],
    "return_decision": [
        Valid("valid", {"comments": "Reconsider the conditions."}),
        Choice("missing comments", {}),
    ],
    "sign_off": [
        Valid("no form"),
        Choice("a field the form does not have", {"signed": True}),
    ],
    "record_review": [
        Valid("valid", {"summary": "Attending sessions.", "child_views": "Going well."}),
        Choice("missing fields", {}),
        Choice("wrong types", {"summary": ["a", "list"], "child_views": "Fine."}),
    ],
    "complete": [
        Valid("valid", completion()),
        Valid("child declined feedback",
              completion(child_feedback=None, child_declined_feedback=True)),
        Choice("no child feedback and not declined", completion(child_feedback=None)),
        Choice("missing fields", {}),
        Choice("wrong types", completion(completed="sometimes")),
    ],
    "breach": [
        Valid("valid", None, {"reason": "Missed three sessions."}),
        Choice("no reason", None, {}),
        Choice("a reason code breach does not have", None,
               {"reason": "Missed sessions.", "reason_code": "other"}),
    ],
    "withdraw": [
        Valid("valid", None, {"reason": "Referred in error.",
                              "reason_code": "referred_in_error"}),
        Choice("a reason with no code", None, {"reason": "Moved away."}),
        Choice("no reason", None, {"reason_code": "moved_out_of_area"}),
        Choice("an unknown reason code", None, {"reason": "Bored.", "reason_code": "bored"}),
    ],
    "contact_victim": [
        Valid("valid", {"consents_to_contact": True}),
        Valid("the victim wants no further contact", {"consents_to_contact": False}),
        Choice("missing fields", {}),
        Choice("wrong types", {"consents_to_contact": "maybe"}),
    ],
    "record_victim_views": [
        Valid("valid", {"views": "Would like an apology."}),
        Valid("views not obtained, with the reason",
              {"reason_not_obtained": "The victim did not reply."}),
        Choice("neither views nor a reason", {}),
        Choice("wrong types", {"views": 3}),
    ],
    "offer_rj": [
        Valid("valid", {"reasons": "The victim is open to a meeting."}),
        Choice("missing reasons", {}),
    ],
    "not_offer_rj": [
        Valid("valid", {"reasons": "The victim does not want contact."}),
        Choice("missing reasons", {}),
    ],
    "victim_declines_rj": [
        Valid("no form"),
        Valid("with an optional reason", None, {"reason": "The victim changed their mind."}),
        Choice("a reason code it does not have", None,
               {"reason": "No.", "reason_code": "other"}),
    ],
    "start_rj": [
        Valid("valid", {"activity": "conference"}),
        Choice("an activity that is not offered", {"activity": "boxing match"}),
        Choice("missing fields", {}),
    ],
    "complete_rj": [
        Valid("valid", {"victim_satisfied": True}),
        Valid("yes as text", {"victim_satisfied": "yes"}),
        Choice("wrong types", {"victim_satisfied": 2}),
    ],
    "inform_victim": [
        Valid("no form"),
        Choice("a field the form does not have", {"told_by": "phone"}),
    ],
}

USERNAMES = sorted(USERS)
_references = itertools.count(1)


def test_every_trigger_of_the_workflow_has_form_choices(registry):
    assert set(CHOICES) == registry.latest("oocd").triggers()


# --- what a person sees of a case ------------------------------------------------------------


def _snapshot(session: Session, case_id: int) -> dict[str, Any]:
    session.expire_all()
    case = session.get(Case, case_id)
    deadlines = session.exec(
        select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)).all()
    return {
        "state": case.state,
        "victim_state": case.victim_state,
        "version": case.version,
        "data": dict(case.data),
        "case_manager": case.case_manager,
        "audit_head": case.audit_head,
        "events": len(case_events(session, case_id)),
        "deadlines": [(d.name, d.started_on, d.due_on, d.met_at, d.cancelled_at)
                      for d in deadlines],
    }


def _assert_replay_matches(session: Session, registry: WorkflowRegistry, case: Case) -> None:
    snap = replay(registry, case_events(session, case.id))
    assert snap.states == {track: getattr(case, column)
                           for track, column in TRACK_COLUMNS.items()}
    assert snap.version == case.version
    assert snap.data == case.data
    assert snap.case_manager == case.case_manager
    assert snap.audit_head == case.audit_head
    assert snap.workflow_version == case.workflow_version


def _assert_legal_states(definition: Definition, case: Case) -> None:
    for track, column in TRACK_COLUMNS.items():
        state = getattr(case, column)
        assert state in definition.states, f"{column} is '{state}', not a state of the workflow"
        assert definition.states[state].track == track
    # A case without a victim never leaves the victim track's "no identified victim".
    assert (case.victim_state == "not_applicable") == (not case.has_victim)


# --- the property ----------------------------------------------------------------------------


def _new_case(session: Session, registry: WorkflowRegistry, users: dict[str, User],
              shape: dict[str, Any]) -> tuple[Case, Meetings]:
    case = service.create_case(
        session, registry=registry, actor=users["police"], now=NOW,
        referral=referral(police_reference=f"PROP/{next(_references):06d}", **shape))
    session.commit()
    return case, _meetings_on(session, local_date(NOW), {})


def _meetings_on(session: Session, day: date, made: dict[date, Meetings]) -> Meetings:
    """A quorate and a non-quorate panel meeting held on `day`, made (and committed) the first
    time they are asked for: a decision cites a meeting held by then and not before the case
    was ready for it."""
    if day not in made:
        quorate = make_meeting(session, held_on=day)
        not_quorate = make_meeting(session, held_on=day, agencies=["police", "yjs"])
        session.commit()
        made[day] = Meetings(quorate.id, not_quorate.id)
    return made[day]


def _odds(data: st.DataObject, odds: int, label: str) -> bool:
    """True `odds` times out of `odds + 1` (shrinking towards True)."""
    return data.draw(st.sampled_from([True] * odds + [False]), label=label)


def _draw_step(data: st.DataObject, definition: Definition, case: Case) -> tuple[str, str, int]:
    """A trigger (from all of them, biased 5 to 1 towards those the case's states allow), a
    person (from all users, biased 5 to 1 towards those holding a role for it) and one of its
    form choices (biased 3 to 1 towards valid forms). Without the bias, nearly every attempt
    would be refused and sequences would rarely get past the first states."""
    # Withdrawing is possible from every open state and ends the case, so it is left to the
    # unbiased draw; otherwise most sequences would stop early.
    here = sorted({t.trigger for column in TRACK_COLUMNS.values()
                   for t in definition.transitions_from(getattr(case, column))} - {"withdraw"})
    everything = sorted(definition.triggers())
    allowed_here = bool(here) and _odds(data, 5, "a trigger the case's states allow")
    trigger = data.draw(st.sampled_from(here if allowed_here else everything), label="trigger")
    roles = {role for t in definition.transitions if t.trigger == trigger for role in t.roles}
    holders = [name for name in USERNAMES if roles & set(USERS[name])]
    holder = _odds(data, 5, "a person holding a role for it")
    who = data.draw(st.sampled_from(holders if holder else USERNAMES), label="who")
    choices = CHOICES[trigger]
    valid = [i for i, choice in enumerate(choices) if choice.valid]
    valid_form = _odds(data, 3, "a valid form")
    choice = data.draw(st.sampled_from(valid if valid_form else range(len(choices))),
                       label="form")
    return trigger, who, choice


def _play(engine: Engine, registry: WorkflowRegistry, data: st.DataObject) -> None:
    with Session(engine) as session:
        users = {u.username: u for u in session.exec(select(User))}
        shape = data.draw(st.fixed_dictionaries({
            "has_victim": st.booleans(),
            "victim_opted_out": st.booleans(),
            "gravity_score": st.integers(1, 5),
        }), label="referral")
        case, meetings = _new_case(session, registry, users, shape)
        case_id = case.id
        definition = registry.get(case.workflow_name, case.workflow_version)
        _assert_legal_states(definition, case)
        now = NOW
        made = {local_date(NOW): meetings}

        for _ in range(data.draw(st.integers(1, MAX_STEPS), label="steps")):
            case = session.get(Case, case_id)
            trigger, who, index = _draw_step(data, definition, case)
            choice = CHOICES[trigger][index]
            actor = users[who]
            before = _snapshot(session, case_id)
            track_states = {track: before[column] for track, column in TRACK_COLUMNS.items()}
            # Nothing can be done on a closed or withdrawn case, on either track.
            transition = None if definition.is_terminal(track_states["main"]) else next(
                (t for t in definition.transitions
                 if t.trigger == trigger and track_states[t.track] in t.sources), None)
            offered = {a.trigger: a.allowed for a in service.available_actions(
                session, registry=registry, case=session.get(Case, case_id), actor=actor,
                now=now)}
            now += timedelta(hours=20)
            meetings = _meetings_on(session, local_date(now), made)

            try:
                result = service.fire(session, registry=registry, case_id=case_id,
                                      trigger=trigger, actor=actor, now=now,
                                      data=choice.form(meetings), **(choice.kwargs or {}))
            except OocError as refusal:
                session.rollback()
                if transition is None:
                    assert isinstance(refusal, UnknownTrigger), refusal
                    assert f"'{trigger}' cannot be done" in str(refusal)
                elif not set(actor.roles) & set(transition.roles):
                    assert isinstance(refusal, RoleNotAllowed), refusal
                    assert f"{who} is signed in as" in str(refusal)
                else:
                    assert isinstance(refusal, InvalidForm | GuardsFailed), refusal
                    # A valid form for an action offered as allowed is never refused.
                    assert not (choice.valid and offered.get(trigger)), (
                        f"{trigger} by {who} was offered, with a valid form, then refused: "
                        f"{refusal}")
                assert str(refusal).strip()
                event(f"refused: {type(refusal).__name__}")
                assert _snapshot(session, case_id) == before, (
                    f"refused {trigger} by {who} ({choice.label}) changed the case")
                continue
            session.commit()
            event(f"fired {trigger}")

            # The attempt was legal: offered to this person, on a transition of the definition.
            assert transition is not None, f"{trigger} fired from {track_states}"
            assert offered.get(trigger) is True, f"{trigger} by {who} was not offered as allowed"
            assert set(actor.roles) & set(transition.roles)
            assert result.track == transition.track
            assert result.from_state == track_states[transition.track]
            assert result.to_state in {route.state for route in transition.routes}

            after = _snapshot(session, case_id)
            case = session.get(Case, case_id)
            _assert_legal_states(definition, case)
            assert getattr(case, TRACK_COLUMNS[transition.track]) == result.to_state
            for track, column in TRACK_COLUMNS.items():
                if track != transition.track:
                    assert after[column] == before[column], f"{trigger} moved the {track} track"
            entered = definition.states[result.to_state]
            assert evaluate(entered.entry_guards, GuardContext(
                definition=definition, case=case, actor=actor, session=session)) == []
            assert after["version"] == before["version"] + 1 == result.version
            assert after["events"] == before["events"] + 1 == after["version"]
            _assert_replay_matches(session, registry, case)

        session.expire_all()
        case = session.get(Case, case_id)
        _assert_legal_states(definition, case)
        event(f"ended {case.state} / {case.victim_state}")
        _assert_replay_matches(session, registry, case)
        assert len(case_events(session, case_id)) == case.version
        _, _, problems = verify_trail(session)
        assert problems == []
        # What each event wrote to the figures' tables is what the whole trail gives.
        assert facts_differences(session, registry) == []


@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_attempts_never_leave_a_case_in_a_state_the_workflow_does_not_allow(
        engine, registry, users, data):
    _play(engine, registry, data)
