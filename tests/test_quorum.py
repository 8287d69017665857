"""The quorum rule: the workflow file's until an administrator changes it, and the panel
decision guard always applies the rule in force."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ooc.definitions import Option
from ooc.errors import GuardsFailed, InvalidForm, RoleNotAllowed
from ooc.quorum import change_quorum, describe, effective_quorum, known_agencies
from tests.support import NOW, Walker, decision, make_meeting


def agencies(definition, *codes):
    return [a for a in definition.quorum.agencies if a.value in codes]


def change(session, definition, users, *, codes=("police", "yjs", "health", "education",
                                                  "victim_service"),
           required=("police", "yjs"), minimum=2, who="admin", **kwargs):
    return change_quorum(session, definition=definition, agencies=agencies(definition, *codes),
                         required=list(required), minimum_others=minimum, actor=users[who],
                         now=kwargs.pop("now", NOW), **kwargs)


def problems(excinfo) -> dict[str, str]:
    return {p.field: p.message for p in excinfo.value.problems}


def test_the_workflow_files_rule_applies_until_an_administrator_changes_it(session, registry,
                                                                           users):
    definition = registry.latest("oocd")
    assert effective_quorum(session, definition) == definition.quorum
    assert describe(definition.quorum) == ("Police and Youth justice service must attend, and "
                                           "at least 2 of the 6 other agencies.")


def test_the_latest_change_is_the_rule_and_records_who_and_when(session, registry, users):
    definition = registry.latest("oocd")
    change(session, definition, users, required=("police", "yjs", "health"), minimum=1)
    latest = change(session, definition, users, required=("police",), minimum=3,
                    now=NOW + timedelta(hours=1))
    session.commit()
    quorum = effective_quorum(session, definition)
    assert quorum.required == ("police",)
    assert quorum.minimum_others == 3
    assert [a.value for a in quorum.agencies] == ["police", "yjs", "health", "education",
                                                  "victim_service"]
    assert (latest.updated_by, latest.updated_at) == ("admin", NOW + timedelta(hours=1))


def test_a_rule_for_another_workflow_does_not_apply(session, registry, users):
    definition = registry.latest("oocd")
    other = change(session, definition, users, required=("police",), minimum=0)
    other.workflow_name = "another"
    session.commit()
    assert effective_quorum(session, definition) == definition.quorum


def test_only_an_admin_can_change_the_rule(session, registry, users):
    with pytest.raises(RoleNotAllowed, match="Only an admin can change the quorum rule"):
        change(session, registry.latest("oocd"), users, who="manager")


def test_every_problem_with_a_rule_is_named_at_once(session, registry, users):
    definition = registry.latest("oocd")
    with pytest.raises(InvalidForm) as refused:
        change(session, definition, users, codes=(), required=("police",), minimum="two")
    assert problems(refused) == {
        "agencies": "Choose at least one agency that attends panels.",
        "required": "Police must attend, so it must also be one of the agencies.",
        "minimum_others": "Enter how many other agencies must attend as a whole number, like 2.",
    }


def test_a_rule_no_panel_could_meet_is_refused(session, registry, users):
    definition = registry.latest("oocd")
    with pytest.raises(InvalidForm) as refused:
        change(session, definition, users, codes=("police", "yjs", "health"), minimum=2)
    assert problems(refused) == {"minimum_others": "There is only 1 other agency, so no panel "
                                                   "could meet a minimum of 2."}
    with pytest.raises(InvalidForm) as refused:
        change(session, definition, users, minimum=-1)
    assert problems(refused) == {"minimum_others": "The number of other agencies must be 0 or "
                                                   "more."}


def test_an_agency_can_be_added_by_name_but_not_twice(session, registry, users):
    definition = registry.latest("oocd")
    change(session, definition, users, new_agency="Youth offending team (East)")
    quorum = effective_quorum(session, definition)
    assert quorum.agencies[-1] == Option("youth_offending_team_east",
                                         "Youth offending team (East)")
    with pytest.raises(InvalidForm) as refused:
        change(session, definition, users, new_agency="health")
    assert problems(refused) == {"new_agency": "There is already an agency called health. "
                                               "Tick it instead."}
    # Agencies left out of the rule can still be ticked again later.
    change(session, definition, users, codes=("police", "yjs", "health", "education"))
    assert "youth_offending_team_east" in [a.value for a in known_agencies(session, definition)]


# --- the decision guard uses the rule in force ------------------------------------------------


def ready_case(session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    return walker, case


def test_a_decision_must_meet_the_administrators_rule(session, registry, users):
    walker, case = ready_case(session, registry, users)
    meeting = make_meeting(session, date(2026, 3, 4))  # police, yjs, health and education
    change(session, registry.latest("oocd"), users, required=("police", "yjs", "victim_service"),
           minimum=1)
    session.commit()
    with pytest.raises(GuardsFailed) as refused:
        walker.fire(case, "record_decision", "chair", decision(meeting.id))
    assert "Victim service did not attend" in " ".join(refused.value.reasons)
    session.refresh(case)
    assert case.state == "ready_for_panel"


def test_a_meeting_the_file_would_refuse_is_quorate_under_a_looser_rule(session, registry,
                                                                          users):
    walker, case = ready_case(session, registry, users)
    meeting = make_meeting(session, date(2026, 3, 4), agencies=["police", "yjs"])
    session.commit()
    with pytest.raises(GuardsFailed, match="cannot be done yet") as refused:
        walker.fire(case, "record_decision", "chair", decision(meeting.id))
    assert "it needs at least 2 other agencies and had 0" in " ".join(refused.value.reasons)
    change(session, registry.latest("oocd"), users, minimum=0)
    session.commit()
    walker.fire(case, "record_decision", "chair", decision(meeting.id))
    assert case.state == "awaiting_signoff"
