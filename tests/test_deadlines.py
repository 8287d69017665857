"""Deadlines open, are met and are cancelled as the workflow says, and list with working days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from ooc.deadlines import list_open_deadlines
from ooc.models import Deadline
from tests.support import Walker


@pytest.fixture
def walker(session, registry, users):
    return Walker(session, registry, users)


def deadlines_of(session, case) -> dict[str, list[tuple[date, str]]]:
    rows = session.exec(select(Deadline).where(Deadline.case_id == case.id)
                        .order_by(Deadline.id)).all()
    result: dict[str, list[tuple[date, str]]] = {}
    for d in rows:
        status = "met" if d.met_at else "cancelled" if d.cancelled_at else "open"
        result.setdefault(d.name, []).append((d.due_on, status))
    return result


def test_referral_deadlines_use_the_bail_date_when_there_is_one(walker):
    plain = walker.create()  # referred Monday 2 March 2026
    bailed = walker.create(police_reference="TEST/0002", bail_date="2026-03-30")
    assert deadlines_of(walker.session, plain) == {
        "assessment": [(date(2026, 3, 16), "open")],
        "decision": [(date(2026, 3, 23), "open")],
    }
    # 15 working days after 30 March 2026 crosses Good Friday and Easter Monday.
    assert deadlines_of(walker.session, bailed)["decision"] == [(date(2026, 4, 22), "open")]


def test_deadlines_follow_the_case_to_closure(walker):
    case = walker.create(has_victim=True)
    # Taken Mon 2 March, submitted Tue 3, countersigned Wed 4, decided Thu 5 March.
    walker.to(case, "awaiting_signoff")
    found = deadlines_of(walker.session, case)
    assert found["assessment"] == [(date(2026, 3, 16), "met")]
    assert found["countersignature"] == [(date(2026, 3, 10), "met")]
    assert found["decision"] == [(date(2026, 3, 23), "met")]
    assert found["sign_off"] == [(date(2026, 3, 12), "open")]
    assert found["victim_informed"] == [(date(2026, 3, 12), "open")]

    walker.tick()
    walker.fire(case, "sign_off", "manager")  # Friday 6 March
    found = deadlines_of(walker.session, case)
    assert found["sign_off"] == [(date(2026, 3, 12), "met")]
    assert found["review"] == [(date(2026, 5, 1), "open")]  # eight weeks

    walker.tick(7)
    walker.fire(case, "record_review", "case_manager",
                {"summary": "Going well.", "child_views": "Happy with the plan."})
    assert deadlines_of(walker.session, case)["review"] == [
        (date(2026, 5, 1), "met"), (date(2026, 5, 8), "open")]

    walker.fire(case, "breach", "case_manager", reason="Stopped attending.")
    assert deadlines_of(walker.session, case)["review"][-1] == (date(2026, 5, 8), "cancelled")


def test_no_victim_deadline_when_the_victim_opted_out(walker):
    case = walker.create(has_victim=True, victim_opted_out=True)
    walker.to(case, "awaiting_signoff")
    assert "victim_informed" not in deadlines_of(walker.session, case)


def test_a_returned_assessment_keeps_the_first_countersignature_due_date(walker):
    case = walker.create()
    walker.to(case, "awaiting_countersignature")
    walker.tick()
    walker.fire(case, "return_assessment", "manager", {"comments": "More on safety."})
    walker.tick(5)
    from tests.support import assessment

    walker.fire(case, "submit_assessment", "case_manager", assessment())
    assert deadlines_of(walker.session, case)["countersignature"] == [
        (date(2026, 3, 10), "open")]


def test_withdrawal_cancels_every_open_deadline(walker):
    case = walker.create()
    walker.to(case, "withdrawn")
    assert {rows[-1][1] for rows in deadlines_of(walker.session, case).values()} == {"cancelled"}
    assert list_open_deadlines(walker.session, registry=walker.registry,
                               now=walker.now) == []


def test_listing_shows_working_days_left_or_overdue(walker):
    first = walker.create()
    second = walker.create(police_reference="TEST/0002", referral_date="2026-02-20",
                           offence_date="2026-02-01")
    walker.to(second, "assessing")
    now = datetime(2026, 3, 9, 12, tzinfo=UTC)  # Monday 9 March
    listed = list_open_deadlines(walker.session, registry=walker.registry, now=now)
    summary = [(s.police_reference, s.name, s.due_on, s.working_days_left, s.describe())
               for s in listed]
    assert summary == [
        ("TEST/0002", "assessment", date(2026, 3, 6), -1, "overdue by 1 working day"),
        ("TEST/0002", "decision", date(2026, 3, 13), 4, "4 working days left"),
        ("TEST/0001", "assessment", date(2026, 3, 16), 5, "5 working days left"),
        ("TEST/0001", "decision", date(2026, 3, 23), 10, "10 working days left"),
    ]
    overdue = list_open_deadlines(walker.session, registry=walker.registry, now=now,
                                  overdue_only=True)
    assert [(s.case_id, s.name) for s in overdue] == [(second.id, "assessment")]
    mine = list_open_deadlines(walker.session, registry=walker.registry, now=now,
                               case_manager="case_manager")
    assert {s.case_id for s in mine} == {second.id}
    assert first.id not in {s.case_id for s in mine}


def test_a_victim_track_step_leaves_the_case_deadlines_open(walker):
    """The victim track ending (victim told the outcome) does not end the case: its review and
    sign-off deadlines stay open."""
    case = walker.create(has_victim=True)
    walker.to(case, "awaiting_signoff")
    walker.fire(case, "not_offer_rj", "victim_worker", {"reasons": "Not suitable."})
    walker.fire(case, "inform_victim", "victim_worker")  # the victim track's terminal state
    assert deadlines_of(walker.session, case)["sign_off"] == [(date(2026, 3, 12), "open")]
    walker.tick()
    walker.fire(case, "sign_off", "manager")
    assert deadlines_of(walker.session, case)["review"] == [(date(2026, 5, 1), "open")]


def test_a_victim_told_the_outcome_during_the_intervention_keeps_its_review_due(walker):
    case = walker.create(has_victim=True)
    walker.to(case, "intervention")
    walker.fire(case, "not_offer_rj", "victim_worker", {"reasons": "Not suitable."})
    walker.tick()
    walker.fire(case, "inform_victim", "victim_worker")
    assert deadlines_of(walker.session, case)["review"] == [(date(2026, 5, 1), "open")]
    listed = list_open_deadlines(walker.session, registry=walker.registry, now=walker.now,
                                 case_id=case.id)
    assert [s.name for s in listed] == ["review"]
