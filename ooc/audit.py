"""The append-only, hash-chained audit trail: writing events, verifying, replaying, exporting.

Each event's hash is SHA-256 over the previous event's hash and a canonical JSON serialisation
of the event (sorted keys, no spaces, UTF-8), so editing, deleting or reordering any event of a
case breaks the chain from that point on. The case row keeps the head of its chain and its
version (the last sequence number), so removing the newest events is detected too.

The event's personal content (`data`, the form it recorded, and `reason`, free text) is hashed
through a digest kept beside it (`data_digest`): the chain covers the digest, and verification
checks the content against the digest. Anonymisation (ooc/retention.py) can then remove the
content and the chain still verifies; verification skips the content check only for the cases
that an anonymisation recorded in the system chain (ooc/system_audit.py) names.

Verification also replays every case's events and compares the result with the case row (both
tracks' states, the recorded data, the case manager, the version), so editing the case row is
found. What the database alone cannot show (a rewound trail with its case row rewound too, a
chain recomputed after an edit, a deleted case) is found against a signed checkpoint kept
outside the database (ooc/anchor.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlmodel import Session

from ooc.calendar import to_utc
from ooc.definitions import Transition
from ooc.machine import WorkflowRegistry
from ooc.models import TRACK_COLUMNS, AuditEvent, Case

GENESIS = "0" * 64
CREATE = "create"
MIGRATE = "migrate_workflow"
HASHED_FIELDS = ("case_id", "seq", "at", "actor", "role", "trigger", "track", "from_state",
                 "to_state", "reason_code", "data_digest", "workflow_name", "workflow_version")
# The event's columns: the hashed ones and the content the digest covers.
EVENT_FIELDS = (*HASHED_FIELDS, "reason", "data")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_digest(data: dict[str, Any], reason: str | None) -> str:
    """SHA-256 of an event's personal content: the form it recorded and its reason."""
    return hashlib.sha256(canonical_json({"data": data, "reason": reason}).encode()).hexdigest()


def iso_utc(at: datetime) -> str:
    return to_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    payload = {name: values.get(name) for name in HASHED_FIELDS}
    if not payload["data_digest"]:
        payload["data_digest"] = content_digest(values["data"], values.get("reason"))
    payload["at"] = iso_utc(payload["at"])
    return payload


def chain_hash(prev_hash: str, values: dict[str, Any]) -> str:
    """The hash of an event whose columns are `values`; its `data_digest` is worked out from
    its data and reason when `values` has none."""
    canonical = canonical_json(_payload(values))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def append_event(session: Session, *, prev_hash: str, **values: Any) -> dict[str, Any]:
    """Insert one event chained to `prev_hash` and return its values (with `hash` and `id`).

    A Core insert in the session's transaction: events are never read back as objects in the
    same unit of work, so the ORM's bookkeeping would only cost time. A second event with the
    same case and sequence number raises IntegrityError, which callers turn into a conflict.
    """
    values["at"] = to_utc(values["at"])
    for name in ("reason_code", "reason", "from_state"):
        values.setdefault(name, None)
    values["data_digest"] = content_digest(values["data"], values["reason"])
    row = {**values, "prev_hash": prev_hash, "hash": chain_hash(prev_hash, values)}
    row["id"] = session.connection().execute(_INSERT_EVENT, row).inserted_primary_key[0]
    return row


_INSERT_EVENT = AuditEvent.__table__.insert()


def apply_records(data: dict[str, Any], transition: Transition, actor: str, at: datetime,
                  form: dict[str, Any]) -> dict[str, Any]:
    """The case's recorded data after a transition: what it `clears` removed, and its form
    kept under its `records` name with who recorded it and when."""
    data = {name: value for name, value in data.items() if name not in transition.clears}
    if transition.records:
        data[transition.records] = {**form, "by": actor, "at": iso_utc(at)}
    return data


# --- verification ----------------------------------------------------------------------------

_EVENT_COLUMNS = [getattr(AuditEvent, name) for name in EVENT_FIELDS] + [
    AuditEvent.prev_hash, AuditEvent.hash]


def _events_in_order(session: Session, case_ids: list[int] | None = None) -> Iterator[Any]:
    query = select(*_EVENT_COLUMNS).order_by(AuditEvent.case_id, AuditEvent.seq)
    if case_ids is not None:
        query = query.where(AuditEvent.case_id.in_(case_ids))
    yield from session.execute(query.execution_options(yield_per=5000))


def _check_case(case_id: int, version: int | None, head: str | None,
                events: list[Any], *, redacted: bool = False) -> list[str]:
    """The problems in one case's chain (`version`/`head` None: the case row is missing).
    `redacted`: the case was anonymised, so its events' content no longer matches its digest."""
    problems = []
    last_seq, last_hash = 0, GENESIS
    for row in events:
        where = f"Case {case_id}, event {row.seq} ({row.trigger})"
        if row.seq > last_seq + 1:
            problems.append(f"Case {case_id}: events {last_seq + 1} to {row.seq - 1} are "
                            "missing (deleted).")
        elif row.seq <= last_seq:
            problems.append(f"{where}: sequence number out of order.")
        if row.prev_hash != last_hash:
            problems.append(f"{where}: does not follow the event before it "
                            "(an earlier event was edited, deleted or reordered).")
        if (chain_hash(row.prev_hash, row._asdict()) != row.hash
                or not redacted and content_digest(row.data, row.reason) != row.data_digest):
            problems.append(f"{where}: its contents were changed after it was written.")
        last_seq, last_hash = row.seq, row.hash
    if version is None:
        problems.append(f"Case {case_id}: has audit events but no case record (case deleted).")
    elif not events:
        problems.append(f"Case {case_id}: has no audit events at all (all deleted).")
    elif last_seq < version:
        problems.append(f"Case {case_id}: the case is at version {version} but its trail ends "
                        f"at event {last_seq} (the newest events were deleted).")
    elif last_hash != head:
        problems.append(f"Case {case_id}: the last event does not match the case record "
                        "(an event was edited or the case record changed).")
    return problems


def _events_by_case(session: Session) -> Iterator[tuple[int, list[Any]]]:
    case_id, events = None, []
    for row in _events_in_order(session):
        if row.case_id != case_id and events:
            yield case_id, events
            events = []
        case_id = row.case_id
        events.append(row)
    if events:
        yield case_id, events


_CASE_COLUMNS = (Case.id, Case.version, Case.audit_head, Case.workflow_version, Case.state,
                 Case.victim_state, Case.data, Case.case_manager)


def verify_trail(session: Session, registry: WorkflowRegistry | None = None,
                 anonymised: frozenset[int] | set[int] = frozenset()) -> tuple[int, int,
                                                                                  list[str]]:
    """Check every case's chain: (cases checked, events checked, problems in plain words).

    With a `registry`, each case's events are also replayed and the result compared with the
    case row. `anonymised`: the cases an anonymisation in the system chain names (their events'
    content was removed on purpose). Cases and events are streamed side by side in id order,
    so memory does not grow with the size of the trail.
    """
    cases = session.execute(select(*_CASE_COLUMNS).order_by(Case.id)
                            .execution_options(yield_per=5000))
    chains = _events_by_case(session)
    problems: list[str] = []
    case_count = event_count = 0
    case, chain = next(cases, None), next(chains, None)
    while case is not None or chain is not None:
        if chain is None or (case is not None and case.id < chain[0]):
            problems += _check_case(case.id, case.version, case.audit_head, [])
            case_count += 1
            case = next(cases, None)
        elif case is None or chain[0] < case.id:
            problems += _check_case(chain[0], None, None, chain[1])
            event_count += len(chain[1])
            chain = next(chains, None)
        else:
            found = _check_case(case.id, case.version, case.audit_head, chain[1],
                                redacted=case.id in anonymised)
            if registry is not None and not found:
                found = replay_differences(registry, case, chain[1])
            problems += found
            case_count += 1
            event_count += len(chain[1])
            case, chain = next(cases, None), next(chains, None)
    return case_count, event_count, problems


def replay_differences(registry: WorkflowRegistry, case: Any, events: list[Any]) -> list[str]:
    """How the case row differs from what its events say it should be (none: it agrees)."""
    try:
        snap = replay(registry, events)
    except Exception as e:  # an event the workflow cannot replay is itself a finding
        return [f"Case {case.id}: its events cannot be replayed ({e})."]
    expected = {f"the {track} track's state": (snap.states.get(track), getattr(case, column))
                for track, column in TRACK_COLUMNS.items()}
    expected |= {"the recorded data": (snap.data, case.data),
                 "the case manager": (snap.case_manager, case.case_manager),
                 "the version": (snap.version, case.version),
                 "the workflow version": (snap.workflow_version, case.workflow_version)}
    problems = []
    for what, (replayed, stored) in expected.items():
        if replayed != stored:
            shown = ("" if what == "the recorded data"
                     else f": the events say {replayed!r}, the case record says {stored!r}")
            problems.append(f"Case {case.id}: {what} in the case record does not match its "
                            f"events (the case record was changed){shown}.")
    return problems


# --- replay ----------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """A case's workflow state as rebuilt from its events alone."""

    workflow_version: int = 0
    states: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    case_manager: str | None = None
    version: int = 0
    audit_head: str = GENESIS


def replay(registry: WorkflowRegistry, events: Iterable[AuditEvent]) -> Snapshot:
    """Fold a case's events (in sequence order) into its state."""
    snap = Snapshot()
    for e in events:
        snap.version, snap.audit_head = e.seq, e.hash
        if e.trigger == CREATE:
            snap.workflow_version = e.workflow_version
            snap.states = dict(e.data["initial"])
        elif e.trigger == MIGRATE:
            snap.workflow_version = e.workflow_version
            snap.states = {track: pair[1] for track, pair in e.data["states"].items()}
        else:
            definition = registry.get(e.workflow_name, e.workflow_version)
            transition = definition.transition(e.from_state, e.trigger)
            snap.states[e.track] = e.to_state
            if transition:
                snap.data = apply_records(snap.data, transition, e.actor, e.at, e.data)
            if transition and transition.assigns == "case_manager":
                snap.case_manager = e.actor
    return snap


def case_events(session: Session, case_id: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
    return list(session.scalars(query))


# --- export ----------------------------------------------------------------------------------


def export_events(session: Session, out: IO[str]) -> int:
    """Write every event as one JSON object per line; returns how many."""
    count = 0
    for row in _events_in_order(session):
        record = {
            "case_id": row.case_id,
            "seq": row.seq,
            "at": iso_utc(row.at),
            "actor": row.actor,
            "role": row.role,
            "trigger": row.trigger,
            "track": row.track,
            "from_state": row.from_state,
            "to_state": row.to_state,
            "reason_code": row.reason_code,
            "reason": row.reason,
            "data": row.data,
            "workflow_name": row.workflow_name,
            "workflow_version": row.workflow_version,
            "data_digest": row.data_digest,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count
