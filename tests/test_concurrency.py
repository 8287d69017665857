"""Two people acting on the same case at the same moment, on SQLite and on PostgreSQL.

Every race here uses real concurrent connections: each contender is a thread with its own
session (its own database connection), and every contender has loaded the case before any of
them writes (a `threading.Barrier` holds them until all have read it). What this proves:

* exactly one contender's change is saved; every other contender is told, with a `Conflict`
  that says what happened and to reload, that someone else changed the case first;
* the loser writes nothing: no audit event, no recorded data, no deadline changes of its own;
* the audit chain stays intact: `verify_trail` finds no problem and the case's version equals the
  number of its audit events, with the winner's event last;
* a change submitted while another is still being saved waits for it, then is refused (the
  SQLite write lock and the PostgreSQL row lock both turn into a `Conflict`, never a raw
  "database is locked" error);
* a stale `expected_version` (a form opened before someone else changed the case) is refused with
  a `Conflict` naming both versions, and writes nothing;
* people working on different cases at the same moment do not get in each other's way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from ooc import service
from ooc.audit import case_events, verify_trail
from ooc.db import unit_of_work
from ooc.errors import Conflict, InvalidForm, OocError
from ooc.machine import WorkflowRegistry
from ooc.models import AuditEvent, Case, Deadline, User
from tests.support import NOW, Walker, assessment, referral

LATER = NOW + timedelta(days=1)
BARRIER_TIMEOUT = 30  # seconds; only reached if a contender dies before the barrier


@dataclass
class Attempt:
    """One contender: who fires what."""

    who: str
    trigger: str
    data: dict[str, Any] | None = None
    kwargs: dict[str, Any] | None = None


@dataclass
class Outcome:
    attempt: Attempt
    loaded_version: int
    result: service.TransitionResult | None = None
    error: BaseException | None = None


def _user(session: Session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _race_on_cases(engine: Engine, registry: WorkflowRegistry,
                   jobs: list[tuple[int, Attempt]]) -> list[Outcome]:
    """Every attempt in its own thread and session; all load their case, then all fire at once.

    Each thread commits through `unit_of_work`, as a request would; the loser's error is kept.
    """
    barrier = threading.Barrier(len(jobs))

    def contend(job: tuple[int, Attempt]) -> Outcome:
        case_id, attempt = job
        outcome = Outcome(attempt, loaded_version=-1)
        try:
            with unit_of_work(engine) as session:
                actor = _user(session, attempt.who)
                # Keep a strong reference: the session's identity map is weak, and `fire` must
                # find this very copy (read before the barrier) rather than read the case again.
                loaded = session.get(Case, case_id)
                outcome.loaded_version = loaded.version
                barrier.wait(timeout=BARRIER_TIMEOUT)
                outcome.result = service.fire(
                    session, registry=registry, case_id=case_id, trigger=attempt.trigger,
                    actor=actor, now=LATER, data=attempt.data, **(attempt.kwargs or {}))
        except threading.BrokenBarrierError:
            raise
        except Exception as e:  # kept for the assertions, whatever it is
            outcome.result, outcome.error = None, e
        return outcome

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(contend, jobs))


def _race(engine: Engine, registry: WorkflowRegistry, case_id: int,
          attempts: list[Attempt]) -> list[Outcome]:
    """Everyone at once on the same case."""
    return _race_on_cases(engine, registry, [(case_id, a) for a in attempts])


def _snapshot(engine: Engine, case_id: int) -> dict[str, Any]:
    """What a person would see of the case, read in a fresh session."""
    with Session(engine) as session:
        case = session.get(Case, case_id)
        events = case_events(session, case_id)
        deadlines = session.exec(
            select(Deadline).where(Deadline.case_id == case_id).order_by(Deadline.id)).all()
        return {
            "state": case.state,
            "victim_state": case.victim_state,
            "version": case.version,
            "case_manager": case.case_manager,
            "data": dict(case.data),
            "audit_head": case.audit_head,
            "events": [(e.seq, e.trigger, e.actor) for e in events],
            "deadlines": [(d.name, d.due_on, d.met_at, d.cancelled_at) for d in deadlines],
        }


def _assert_chain_intact(engine: Engine) -> None:
    with Session(engine) as session:
        _, _, problems = verify_trail(session)
        assert problems == []
        for case in session.exec(select(Case)):
            events = case_events(session, case.id)
            assert case.version == len(events)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert case.audit_head == events[-1].hash


def _assert_conflict_message(error: BaseException | None, case_id: int) -> None:
    assert isinstance(error, Conflict), f"expected a Conflict, got {error!r}"
    message = str(error)
    assert f"case {case_id}" in message
    assert "was not saved" in message
    assert "Reload the case" in message


def _single_winner(outcomes: list[Outcome], case_id: int) -> Outcome:
    winners = [o for o in outcomes if o.error is None]
    losers = [o for o in outcomes if o.error is not None]
    assert len(winners) == 1, [repr(o.error) for o in losers]
    for loser in losers:
        _assert_conflict_message(loser.error, case_id)
    return winners[0]


@pytest.fixture
def walker(session, registry, users) -> Walker:
    return Walker(session, registry, users)


# --- two people, one case ------------------------------------------------------------------


def test_two_case_managers_taking_the_same_case_at_once_one_gets_it(engine, registry, walker):
    case = walker.create()
    before = _snapshot(engine, case.id)

    outcomes = _race(engine, registry, case.id, [Attempt("case_manager", "take_case"),
                                                 Attempt("case_manager2", "take_case")])

    assert [o.loaded_version for o in outcomes] == [1, 1]
    winner = _single_winner(outcomes, case.id)
    after = _snapshot(engine, case.id)
    assert after["state"] == "assessing"
    assert after["case_manager"] == winner.attempt.who
    assert after["version"] == before["version"] + 1 == winner.result.version
    assert after["events"] == before["events"] + [(2, "take_case", winner.attempt.who)]
    _assert_chain_intact(engine)


def test_two_assessments_submitted_at_once_only_the_winners_is_recorded(engine, registry,
                                                                         walker):
    case = walker.create()
    walker.to_assessing(case)
    before = _snapshot(engine, case.id)

    outcomes = _race(engine, registry, case.id, [
        Attempt("case_manager", "submit_assessment",
                assessment(desistance="Written by the first case manager.")),
        Attempt("case_manager2", "submit_assessment",
                assessment(desistance="Written by the second case manager.")),
    ])

    winner = _single_winner(outcomes, case.id)
    after = _snapshot(engine, case.id)
    assert after["state"] == "awaiting_countersignature"
    assert after["data"]["assessment"]["by"] == winner.attempt.who
    assert after["data"]["assessment"]["desistance"] == winner.attempt.data["desistance"]
    assert after["version"] == before["version"] + 1
    # One countersignature deadline opened (by the winner), and the assessment deadline met once.
    countersignature = [d for d in after["deadlines"] if d[0] == "countersignature"]
    assert len(countersignature) == 1
    assert len(after["deadlines"]) == len(before["deadlines"]) + 1
    assert [d for d in after["deadlines"] if d[0] == "assessment"][0][2] is not None
    _assert_chain_intact(engine)


def test_withdrawing_while_someone_takes_the_case_leaves_one_consistent_outcome(engine, registry,
                                                                                 walker):
    case = walker.create()

    outcomes = _race(engine, registry, case.id, [
        Attempt("manager", "withdraw",
                kwargs={"reason": "Referred in error.", "reason_code": "referred_in_error"}),
        Attempt("case_manager", "take_case"),
    ])

    winner = _single_winner(outcomes, case.id)
    after = _snapshot(engine, case.id)
    if winner.attempt.trigger == "withdraw":
        assert (after["state"], after["case_manager"]) == ("withdrawn", None)
        # A withdrawn case has no deadline left open.
        assert all(met or cancelled for _, _, met, cancelled in after["deadlines"])
    else:
        assert (after["state"], after["case_manager"]) == ("assessing", "case_manager")
    assert after["events"][-1] == (2, winner.attempt.trigger, winner.attempt.who)
    assert len(after["events"]) == 2
    _assert_chain_intact(engine)


def test_changes_on_the_two_tracks_of_one_case_at_once_are_not_both_saved(engine, registry,
                                                                          walker):
    """The victim track and the main track share the case's version and audit chain, so even
    changes to different tracks of one case are serialised: one is refused and must reload."""
    case = walker.create(has_victim=True)

    outcomes = _race(engine, registry, case.id, [
        Attempt("victim_worker", "contact_victim", {"consents_to_contact": True}),
        Attempt("case_manager", "take_case"),
    ])

    winner = _single_winner(outcomes, case.id)
    after = _snapshot(engine, case.id)
    if winner.attempt.trigger == "contact_victim":
        assert (after["state"], after["victim_state"]) == ("referred", "contacted")
    else:
        assert (after["state"], after["victim_state"]) == ("assessing", "awaiting_contact")
    assert after["version"] == 2
    _assert_chain_intact(engine)


def test_a_change_made_while_another_is_being_saved_waits_for_it_then_is_refused(
        engine, registry, walker):
    """The first writer holds its transaction open; the second must block on the lock (SQLite's
    write lock, PostgreSQL's row lock) and, once the first commits, be refused with a Conflict."""
    case_id = walker.create().id  # threads use only the id, never the walker's session
    both_loaded = threading.Barrier(2)
    first_written = threading.Event()
    timeline: dict[str, float] = {}

    def first() -> None:
        with unit_of_work(engine) as session:
            actor = _user(session, "case_manager")
            loaded = session.get(Case, case_id)  # noqa: F841 (held for the identity map)
            both_loaded.wait(timeout=BARRIER_TIMEOUT)
            service.fire(session, registry=registry, case_id=case_id, trigger="take_case",
                         actor=actor, now=LATER)
            first_written.set()
            time.sleep(0.5)  # still uncommitted: the second writer is waiting meanwhile
            timeline["first_committing"] = time.monotonic()
        timeline["first_committed"] = time.monotonic()

    def second() -> None:
        with unit_of_work(engine) as session:
            actor = _user(session, "case_manager2")
            loaded = session.get(Case, case_id)  # noqa: F841 (held for the identity map)
            both_loaded.wait(timeout=BARRIER_TIMEOUT)
            assert first_written.wait(timeout=BARRIER_TIMEOUT)
            try:
                service.fire(session, registry=registry, case_id=case_id, trigger="take_case",
                             actor=actor, now=LATER)
            finally:
                timeline["second_answered"] = time.monotonic()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first_done, second_done = pool.submit(first), pool.submit(second)
        first_done.result()
        with pytest.raises(Conflict) as refusal:
            second_done.result()

    _assert_conflict_message(refusal.value, case_id)
    # The second writer was answered only once the first had started committing: it waited.
    assert timeline["second_answered"] >= timeline["first_committing"]
    after = _snapshot(engine, case_id)
    assert (after["state"], after["case_manager"], after["version"]) == (
        "assessing", "case_manager", 2)
    _assert_chain_intact(engine)


# --- many people, one case -----------------------------------------------------------------

CONTENDERS = 8


def test_eight_people_racing_on_one_case_exactly_one_succeeds(engine, registry, walker):
    case = walker.create()
    managers = ["case_manager", "case_manager2"]

    outcomes = _race(engine, registry, case.id, [
        Attempt(managers[i % 2], "take_case") for i in range(CONTENDERS)])

    assert all(o.loaded_version == 1 for o in outcomes)
    winner = _single_winner(outcomes, case.id)
    after = _snapshot(engine, case.id)
    assert after["state"] == "assessing"
    assert after["case_manager"] == winner.attempt.who
    assert after["version"] == 2
    assert len(after["events"]) == 2
    _assert_chain_intact(engine)


def meeting_on(walker: Walker, day: datetime) -> int:
    """A panel meeting held on the day the contenders act (after the countersignature)."""
    walker.now = day
    return walker.quorate_meeting().id


# Each step of the path, raced by eight contenders of the right role(s).
RACED_PATH: list[tuple[str, list[str], Callable[[Walker], dict | None], dict[str, Any]]] = [
    ("take_case", ["case_manager", "case_manager2"], lambda w: None, {}),
    ("submit_assessment", ["case_manager", "case_manager2"], lambda w: assessment(), {}),
    ("countersign", ["manager", "manager2"], lambda w: None, {}),
    ("defer", ["chair", "chair_manager"], lambda w: {"meeting_id": meeting_on(w, LATER)},
     {"reason": "Waiting for the school report.", "reason_code": "more_information_needed"}),
]


def test_a_case_raced_at_every_step_keeps_one_clean_audit_chain(engine, registry, walker):
    case = walker.create()
    expected_version = 1
    winners = []
    for trigger, who, data, kwargs in RACED_PATH:
        outcomes = _race(engine, registry, case.id, [
            Attempt(who[i % len(who)], trigger, data(walker), kwargs)
            for i in range(CONTENDERS)])
        assert all(o.loaded_version == expected_version for o in outcomes)
        winner = _single_winner(outcomes, case.id)
        expected_version += 1
        assert winner.result.version == expected_version
        winners.append((expected_version, trigger, winner.attempt.who))

    after = _snapshot(engine, case.id)
    assert after["state"] == "ready_for_panel"
    assert after["version"] == expected_version == 1 + len(RACED_PATH)
    assert after["events"][1:] == winners
    _assert_chain_intact(engine)


# --- a stale form ----------------------------------------------------------------------------


def test_a_stale_expected_version_is_refused_and_writes_nothing(engine, registry, walker):
    case = walker.create()
    opened_at_version = case.version  # the manager opens the withdraw form now ...
    walker.to_assessing(case)         # ... and meanwhile a case manager takes the case
    before = _snapshot(engine, case.id)

    with unit_of_work(engine) as session, pytest.raises(Conflict) as refusal:
        service.fire(session, registry=registry, case_id=case.id, trigger="withdraw",
                     actor=_user(session, "manager"), now=LATER,
                     reason="Referred in error.", reason_code="referred_in_error",
                     expected_version=opened_at_version)

    message = str(refusal.value)
    assert f"Case {case.id} has changed since you opened it" in message
    assert "you had version 1; it is now at version 2" in message
    assert "Reload the case" in message
    assert _snapshot(engine, case.id) == before
    _assert_chain_intact(engine)


def test_the_current_expected_version_is_accepted(engine, registry, walker):
    case = walker.create()
    walker.to_assessing(case)

    with unit_of_work(engine) as session:
        result = service.fire(session, registry=registry, case_id=case.id, trigger="withdraw",
                              actor=_user(session, "manager"), now=LATER,
                              reason="Referred in error.", reason_code="referred_in_error",
                              expected_version=2)

    assert (result.to_state, result.version) == ("withdrawn", 3)
    _assert_chain_intact(engine)


def test_a_session_holding_an_old_copy_of_the_case_cannot_overwrite_a_newer_change(
        engine, registry, walker):
    """Even when the version check passes against a stale copy in the session, the write
    itself only matches the version that was read, so it is refused."""
    case = walker.create()
    with Session(engine) as stale:
        old_copy = stale.get(Case, case.id)
        assert old_copy.version == 1
        walker.to_assessing(case)  # another session moves the case on and commits
        before = _snapshot(engine, case.id)

        with pytest.raises(Conflict) as refusal:
            service.fire(stale, registry=registry, case_id=case.id, trigger="withdraw",
                         actor=_user(stale, "manager"), now=LATER,
                         reason="Referred in error.", reason_code="referred_in_error",
                         expected_version=1)
        stale.rollback()

    _assert_conflict_message(refusal.value, case.id)
    assert _snapshot(engine, case.id) == before
    _assert_chain_intact(engine)


# --- different cases -------------------------------------------------------------------------


def test_two_people_on_two_different_cases_at_once_both_succeed(engine, registry, walker):
    first = walker.create(police_reference="TEST/A")
    second = walker.create(police_reference="TEST/B")

    outcomes = _race_on_cases(engine, registry, [
        (first.id, Attempt("case_manager", "take_case")),
        (second.id, Attempt("case_manager2", "take_case")),
    ])

    assert [o.error for o in outcomes] == [None, None]
    assert _snapshot(engine, first.id)["case_manager"] == "case_manager"
    assert _snapshot(engine, second.id)["case_manager"] == "case_manager2"
    for case in (first, second):
        after = _snapshot(engine, case.id)
        assert (after["state"], after["version"], len(after["events"])) == ("assessing", 2, 2)
    _assert_chain_intact(engine)


def test_eight_people_on_eight_different_cases_at_once_all_succeed(engine, registry, walker):
    cases = [walker.create(police_reference=f"TEST/{i:04d}") for i in range(CONTENDERS)]

    outcomes = _race_on_cases(engine, registry, [
        (case.id, Attempt(["case_manager", "case_manager2"][i % 2], "take_case"))
        for i, case in enumerate(cases)])

    assert [o.error for o in outcomes] == [None] * CONTENDERS
    for case in cases:
        after = _snapshot(engine, case.id)
        assert (after["state"], after["version"], len(after["events"])) == ("assessing", 2, 2)
    _assert_chain_intact(engine)


# --- two referrals of the same offence -------------------------------------------------------


def test_two_referrals_with_the_same_police_reference_at_once_make_one_case(engine, registry,
                                                                            users):
    barrier = threading.Barrier(2)

    def refer(who: str) -> Case | BaseException:
        try:
            with unit_of_work(engine) as session:
                actor = _user(session, who)
                barrier.wait(timeout=BARRIER_TIMEOUT)
                case = service.create_case(session, registry=registry, actor=actor,
                                           referral=referral(police_reference="DUP/1"),
                                           now=NOW)
                return case.id
        except OocError as e:
            return e

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(refer, ["police", "case_manager"]))

    created = [a for a in answers if isinstance(a, int)]
    refused = [a for a in answers if not isinstance(a, int)]
    assert len(created) == 1 and len(refused) == 1
    # Depending on timing the second sees the first case (InvalidForm: "already exists") or
    # trips over it while saving (Conflict); either way it is told plainly, and nothing is saved.
    assert isinstance(refused[0], Conflict | InvalidForm)
    assert "police reference" in str(refused[0])
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 1
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 1
    _assert_chain_intact(engine)
