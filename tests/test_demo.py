"""Demo data: varied, realistic, made only of real audit events, and the same for the same seed."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

from sqlmodel import select

from ooc.audit import case_events, export_events, replay, verify_trail
from ooc.demo import load_demo
from ooc.figures.facts import facts_differences
from ooc.guards import age_on
from ooc.models import Case, Deadline, PanelMeeting, User
from tests.support import empty_database

TODAY = date(2026, 11, 20)


def load(session, registry, cases=150, seed=7):
    summary = load_demo(session, registry=registry, cases=cases, seed=seed, today=TODAY)
    session.commit()
    return summary


def test_demo_cases_cover_every_state_and_outcome(session, registry):
    summary = load(session, registry)
    definition = registry.latest("oocd")
    cases = session.exec(select(Case)).all()
    assert summary.cases == len(cases) == 150
    assert set(summary.by_state) == set(definition.open_states()) | {"closed", "withdrawn"}
    assert all(summary.by_state.values()), summary.by_state
    outcomes = {e.data["outcome"] for c in cases for e in case_events(session, c.id)
                if e.trigger == "record_decision"}
    assert outcomes == set(definition.outcomes)
    triggers = Counter(e.trigger for c in cases for e in case_events(session, c.id))
    for trigger in ("return_assessment", "return_decision", "withdraw", "breach",
                    "record_review", "start_rj", "inform_victim"):
        assert triggers[trigger], f"no {trigger} in the demo data"
    # A victim who asked not to be contacted never is (the engine would refuse it).
    assert not [c.id for c in cases if c.victim_opted_out for e in case_events(session, c.id)
                if e.trigger == "contact_victim"]


def test_demo_children_are_varied_and_synthetic(session, registry):
    load(session, registry)
    cases = session.exec(select(Case)).all()
    ages = [age_on(c.date_of_birth, c.offence_date) for c in cases]
    assert min(ages) >= 10 and max(ages) <= 17
    assert 0.05 <= sum(a <= 12 for a in ages) / len(ages) <= 0.25
    rollups = {registry.latest("oocd").ethnicity_rollup[c.ethnicity] for c in cases}
    assert rollups >= {"White", "Black", "Asian", "Mixed", "Other"}
    assert any(c.looked_after for c in cases)
    assert any(c.has_victim and c.victim_opted_out for c in cases)
    assert all(c.police_reference.startswith("DEMO/") for c in cases)
    users = session.exec(select(User)).all()
    assert all(u.is_demo for u in users)
    assert {role for u in users for role in u.roles} == set(registry.latest("oocd").roles)
    attendance = {tuple(sorted(m.agencies_present))
                  for m in session.exec(select(PanelMeeting)).all()}
    assert len(attendance) > 3


def test_every_demo_case_is_rebuilt_exactly_by_replaying_its_events(session, registry):
    load(session, registry)
    assert verify_trail(session)[2] == []
    # The figures' tables, written event by event, are what the whole trail gives.
    assert facts_differences(session, registry) == []
    for case in session.exec(select(Case)).all():
        snap = replay(registry, case_events(session, case.id))
        assert snap.states == {"main": case.state, "victim": case.victim_state}, case.id
        assert (snap.version, snap.data, snap.case_manager) == (
            case.version, case.data, case.case_manager), case.id


def test_the_same_seed_gives_the_same_data(engine, session, registry):
    def fresh_export(seed: int) -> str:
        session.close()  # end the read transaction so the tables can be emptied
        empty_database(engine)
        load(session, registry, cases=60, seed=seed)
        out = io.StringIO()
        export_events(session, out)
        return out.getvalue()

    first = fresh_export(seed=3)
    assert fresh_export(seed=3) == first
    assert fresh_export(seed=4) != first


def test_every_demo_case_in_intervention_has_its_review_due(session, registry):
    """Telling a victim the outcome must not cancel the 8-weekly review of the intervention."""
    load(session, registry)
    review = next(r for r in registry.latest("oocd").deadlines if r.repeats)
    in_intervention = session.exec(select(Case.id).where(
        Case.state == review.from_entering)).all()
    open_reviews = Counter(session.exec(select(Deadline.case_id).where(
        Deadline.name == review.name, Deadline.met_at.is_(None),
        Deadline.cancelled_at.is_(None))).all())
    assert in_intervention
    assert {case_id: open_reviews[case_id] for case_id in in_intervention} == {
        case_id: 1 for case_id in in_intervention}
