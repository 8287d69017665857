"""Every transition of the reference workflow, from every source state: a refused role changes
nothing, an allowed role with valid data moves the case where the definition says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ooc.definitions import load_definition
from ooc.errors import RoleNotAllowed
from tests.support import Walker, assessment, completion, decision

REFERENCE = load_definition(Path(__file__).resolve().parent.parent / "workflows" / "oocd.v1.toml")

# trigger: (allowed user, refused user, data, keyword arguments)
STEPS: dict[str, tuple[str, str, Any, dict[str, Any]]] = {
    "take_case": ("case_manager", "police", None, {}),
    "submit_assessment": ("case_manager", "manager", "assessment", {}),
    "return_assessment": ("manager", "case_manager", {"comments": "Say more about desistance."},
                          {}),
    "countersign": ("manager", "chair", None, {}),
    "defer": ("chair", "manager", "meeting", {"reason": "Waiting for the school report.",
                                               "reason_code": "more_information_needed"}),
    "record_decision": ("chair", "case_manager", "decision", {}),
    "return_decision": ("manager", "chair", {"comments": "Reconsider the conditions."}, {}),
    "sign_off": ("manager", "case_manager", None, {}),
    "record_review": ("case_manager", "manager",
                      {"summary": "Attending sessions.", "child_views": "Going well."}, {}),
    "complete": ("case_manager", "victim_worker", completion(), {}),
    "breach": ("case_manager", "chair", None, {"reason": "Missed three sessions."}),
    "withdraw": ("manager", "case_manager", None, {"reason": "Referred in error.",
                                                    "reason_code": "referred_in_error"}),
    "contact_victim": ("victim_worker", "case_manager", {"consents_to_contact": True}, {}),
    "record_victim_views": ("victim_worker", "chair", {"views": "Wants an apology."}, {}),
    "offer_rj": ("victim_worker", "manager", {"reasons": "Victim open to a meeting."}, {}),
    "not_offer_rj": ("victim_worker", "manager", {"reasons": "Victim does not want contact."},
                     {}),
    "victim_declines_rj": ("victim_worker", "case_manager", None, {}),
    "start_rj": ("victim_worker", "case_manager", {"activity": "conference"}, {}),
    "complete_rj": ("victim_worker", "chair", {"victim_satisfied": True}, {}),
    "inform_victim": ("victim_worker", "police", None, {}),
}

# How to bring the victim track to each state (from awaiting_contact).
VICTIM_PATH = {
    "awaiting_contact": [],
    "contacted": [("contact_victim", {"consents_to_contact": True})],
    "views_recorded": [("record_victim_views", {"views": "Wants an apology."})],
    "rj_offered": [("record_victim_views", {"views": "Open to RJ."}),
                   ("offer_rj", {"reasons": "Suitable."})],
    "rj_declined": [("record_victim_views", {"views": "No RJ."}),
                    ("not_offer_rj", {"reasons": "Victim does not want RJ."})],
    "rj_in_progress": [("record_victim_views", {"views": "Open to RJ."}),
                       ("offer_rj", {"reasons": "Suitable."}),
                       ("start_rj", {"activity": "conference"})],
    "rj_completed": [("record_victim_views", {"views": "Open to RJ."}),
                     ("offer_rj", {"reasons": "Suitable."}),
                     ("start_rj", {"activity": "conference"}),
                     ("complete_rj", {"victim_satisfied": True})],
}

PAIRS = [(t.trigger, source) for t in REFERENCE.transitions for source in t.sources]


def test_every_transition_of_the_reference_workflow_is_in_the_table():
    assert {trigger for trigger, _ in PAIRS} == set(STEPS)


def _prepare(walker: Walker, trigger: str, source: str):
    transition = REFERENCE.transition(source, trigger)
    victim_track = transition.track == "victim"
    case = walker.create(has_victim=True) if victim_track or source == "intervention" \
        else walker.create()
    if victim_track:
        # The victim's outcome can only be given once the panel has decided.
        walker.to(case, "awaiting_signoff" if trigger == "inform_victim" else "referred")
        # Reaching awaiting_signoff has already recorded the victim's views.
        steps = VICTIM_PATH[source][1:] if trigger == "inform_victim" else VICTIM_PATH[source]
        for step, data in steps:
            walker.fire(case, step, "victim_worker", data)
        assert case.victim_state == source
    else:
        walker.to(case, source)
        if source == "intervention":
            walker.victim_done(case)
    return case, transition


def _data(walker: Walker, data: Any) -> Any:
    if data == "assessment":
        return assessment()
    if data == "decision":
        return decision(walker.quorate_meeting().id)
    if data == "meeting":
        return {"meeting_id": walker.quorate_meeting().id}
    return data


@pytest.mark.parametrize(("trigger", "source"), PAIRS, ids=[f"{t}-from-{s}" for t, s in PAIRS])
def test_transition_allowed_and_refused_roles(session, registry, users, trigger, source):
    walker = Walker(session, registry, users)
    case, transition = _prepare(walker, trigger, source)
    allowed, refused, data, kwargs = STEPS[trigger]
    data = _data(walker, data)
    before = (case.state, case.victim_state, case.version, dict(case.data))

    with pytest.raises(RoleNotAllowed) as refusal:
        walker.fire(case, trigger, refused, data, **kwargs)
    assert "Only a" in str(refusal.value)
    session.refresh(case)
    assert (case.state, case.victim_state, case.version, dict(case.data)) == before

    walker.tick()
    result = walker.fire(case, trigger, allowed, data, **kwargs)
    session.refresh(case)
    track_state = case.victim_state if transition.track == "victim" else case.state
    assert result.from_state == source
    assert track_state == result.to_state
    assert result.to_state in {route.state for route in transition.routes}
    assert case.version == before[2] + 1
