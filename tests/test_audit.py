"""The audit trail: one chained event per change, tamper detection, replay and export."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import text
from sqlmodel import select

from ooc.audit import GENESIS, case_events, export_events, replay, verify_trail
from ooc.models import AuditEvent
from tests.support import Walker


@pytest.fixture
def two_cases(session, registry, users):
    walker = Walker(session, registry, users)
    first = walker.create(has_victim=True)
    walker.to(first, "awaiting_signoff")
    second = walker.create(police_reference="TEST/0002")
    walker.to(second, "assessing")
    return first, second


def test_creation_is_an_event_carrying_the_referral(session, two_cases):
    first, _ = two_cases
    created = case_events(session, first.id)[0]
    assert (created.seq, created.trigger, created.to_state, created.actor, created.role) == (
        1, "create", "referred", "police", "police")
    assert created.prev_hash == GENESIS
    assert created.data["referral"]["police_reference"] == "TEST/0001"
    assert created.data["referral"]["date_of_birth"] == "2011-06-15"
    assert created.data["initial"] == {"main": "referred", "victim": "awaiting_contact"}


def test_each_transition_adds_one_event_chained_to_the_last(session, two_cases):
    first, _ = two_cases
    events = case_events(session, first.id)
    assert [e.seq for e in events] == list(range(1, first.version + 1))
    assert [e.trigger for e in events] == ["create", "take_case", "submit_assessment",
                                           "countersign", "record_victim_views",
                                           "record_decision"]
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert first.audit_head == events[-1].hash
    assert verify_trail(session) == (2, len(events) + 2, [])


def test_replaying_events_rebuilds_the_stored_case(session, registry, two_cases):
    for case in two_cases:
        session.refresh(case)
        snap = replay(registry, case_events(session, case.id))
        assert snap.states == {"main": case.state, "victim": case.victim_state}
        assert (snap.version, snap.data, snap.case_manager, snap.audit_head) == (
            case.version, case.data, case.case_manager, case.audit_head)


def _sql(session, statement: str, **params) -> None:
    session.execute(text(statement), params)
    session.commit()


def _event_id(session, case_id: int, seq: int) -> int:
    return session.exec(select(AuditEvent.id).where(AuditEvent.case_id == case_id,
                                                    AuditEvent.seq == seq)).one()


def test_an_edited_event_is_named(session, two_cases):
    first, _ = two_cases
    event_id = _event_id(session, first.id, 3)
    _sql(session, "UPDATE audit_events SET actor = 'someone_else' WHERE id = :id", id=event_id)
    _, _, problems = verify_trail(session)
    assert problems == [f"Case {first.id}, event 3 (submit_assessment): its contents were "
                        "changed after it was written."]


def test_an_edited_and_rehashed_event_breaks_the_next_link(session, two_cases):
    first, _ = two_cases
    from ooc.audit import chain_hash, content_digest

    event = session.get(AuditEvent, _event_id(session, first.id, 3))
    values = event.model_dump()
    values["reason"] = "forged"
    values["data_digest"] = content_digest(values["data"], "forged")  # as a forger would
    forged_hash = chain_hash(event.prev_hash, values)
    _sql(session, "UPDATE audit_events SET reason = 'forged', data_digest = :d, hash = :h "
         "WHERE id = :id", d=values["data_digest"], h=forged_hash, id=event.id)
    _, _, problems = verify_trail(session)
    assert problems == [f"Case {first.id}, event 4 (countersign): does not follow the event "
                        "before it (an earlier event was edited, deleted or reordered)."]


def test_a_deleted_event_is_named(session, two_cases):
    first, _ = two_cases
    _sql(session, "DELETE FROM audit_events WHERE id = :id", id=_event_id(session, first.id, 2))
    _, _, problems = verify_trail(session)
    assert f"Case {first.id}: events 2 to 2 are missing (deleted)." in problems


def test_deleting_the_newest_event_is_detected(session, two_cases):
    _, second = two_cases
    _sql(session, "DELETE FROM audit_events WHERE id = :id",
         id=_event_id(session, second.id, second.version))
    _, _, problems = verify_trail(session)
    assert problems == [f"Case {second.id}: the case is at version 2 but its trail ends at "
                        "event 1 (the newest events were deleted)."]


def test_reordered_events_are_detected(session, two_cases):
    first, _ = two_cases
    a, b = _event_id(session, first.id, 2), _event_id(session, first.id, 3)
    _sql(session, "UPDATE audit_events SET seq = -1 WHERE id = :a", a=a)
    _sql(session, "UPDATE audit_events SET seq = 2 WHERE id = :b", b=b)
    _sql(session, "UPDATE audit_events SET seq = 3 WHERE id = :a", a=a)
    _, _, problems = verify_trail(session)
    assert f"Case {first.id}, event 2 (submit_assessment): does not follow the event before " \
           "it (an earlier event was edited, deleted or reordered)." in problems


def test_export_writes_one_json_object_per_event(session, two_cases):
    out = io.StringIO()
    count = export_events(session, out)
    lines = out.getvalue().splitlines()
    assert count == len(lines) == sum(c.version for c in two_cases)
    first = json.loads(lines[0])
    assert set(first) >= {"case_id", "seq", "at", "actor", "role", "trigger", "track",
                          "from_state", "to_state", "reason", "reason_code", "data",
                          "workflow_name", "workflow_version"}
    assert first["at"] == "2026-03-02T10:00:00.000000Z"
    assert (first["trigger"], first["workflow_name"], first["workflow_version"]) == (
        "create", "oocd", 1)
