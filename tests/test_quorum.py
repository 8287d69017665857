"""The quorum rule: the workflow file's until an administrator changes it. A meeting is quorate
or not under the rule in force when it is recorded, and stays so: the decision guard and figure
D5 both read that."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ooc.definitions import Option
from ooc.errors import GuardsFailed, InvalidForm, RoleNotAllowed
from ooc.figures import Period, compute_figures
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


# --- a meeting's quorum is fixed when it is recorded --------------------------------------------


def ready_case(session, registry, users, reference="TEST/0001"):
    walker = Walker(session, registry, users)
    case = walker.create(police_reference=reference)
    walker.to(case, "ready_for_panel")  # countersigned on Wednesday 4 March
    return walker, case


def d5(session, registry):
    period = Period.of(date(2026, 3, 1), date(2026, 3, 31), datetime(2026, 4, 1, tzinfo=UTC))
    return compute_figures(session, registry=registry, period=period,
                           with_cases=True)["D5"].value


def test_a_meeting_recorded_after_a_change_must_meet_the_new_rule(session, registry, users):
    walker, case = ready_case(session, registry, users)
    change(session, registry.latest("oocd"), users, required=("police", "yjs", "victim_service"),
           minimum=1, now=walker.now - timedelta(hours=1))
    meeting = make_meeting(session, date(2026, 3, 4), now=walker.now)  # quorate by the file
    session.commit()
    assert not meeting.quorate
    with pytest.raises(GuardsFailed) as refused:
        walker.fire(case, "record_decision", "chair", decision(meeting.id))
    assert refused.value.reasons == ["The panel meeting on 04 March 2026 is not quorate: Victim "
                                     "service did not attend."]
    session.refresh(case)
    assert case.state == "ready_for_panel"


def test_changing_the_rule_later_changes_neither_the_guard_nor_d5_for_a_meeting(
        session, registry, users):
    walker, first = ready_case(session, registry, users)
    _, second = ready_case(session, registry, users, reference="TEST/0002")
    walker.now = datetime(2026, 3, 10, 10, tzinfo=UTC)
    # Recorded under the file's rule (police and YJS, and 2 others): one quorate, one not.
    quorate = make_meeting(session, date(2026, 3, 10), now=walker.now)
    short = make_meeting(session, date(2026, 3, 10), agencies=["police", "yjs"], now=walker.now)
    session.commit()
    assert (quorate.quorate, short.quorate) == (True, False)

    # Later the same day an administrator tightens the rule, then loosens it.
    definition = registry.latest("oocd")
    change(session, definition, users, required=("police", "yjs", "victim_service"), minimum=2,
           now=walker.now + timedelta(hours=1))
    session.commit()
    walker.now += timedelta(hours=2)
    walker.fire(first, "record_decision", "chair", decision(quorate.id))
    assert first.state == "awaiting_signoff"
    change(session, definition, users, minimum=0, now=walker.now + timedelta(hours=1))
    session.commit()
    walker.now += timedelta(hours=2)
    with pytest.raises(GuardsFailed) as refused:
        walker.fire(second, "record_decision", "chair", decision(short.id))
    # What was missing under the rule in force when the meeting was recorded.
    assert refused.value.reasons == ["The panel meeting on 10 March 2026 is not quorate: it "
                                     "needs at least 2 other agencies and had 0."]
    assert d5(session, registry).numerator_cases == (first.id,)
    assert d5(session, registry).denominator_cases == (first.id,)

    # A meeting recorded now meets the looser rule.
    later = make_meeting(session, date(2026, 3, 10), agencies=["police", "yjs"],
                         now=walker.now)
    session.commit()
    assert later.quorate
    walker.fire(second, "record_decision", "chair", decision(later.id))
    assert d5(session, registry).numerator_cases == (first.id, second.id)
