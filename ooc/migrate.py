"""Move open cases from one workflow version to another: explicit, previewable and audited.

A case stays on the version it started on until an administrator migrates it. Every state of
the old version that an open case is in must exist in the new version or be mapped to one; the
migration writes one audit event per case and refuses to start if any case could not be moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from ooc.audit import MIGRATE, append_event
from ooc.errors import FieldProblem, GuardsFailed, InvalidForm, RoleNotAllowed
from ooc.figures.facts import refresh_facts
from ooc.machine import WorkflowRegistry
from ooc.models import TRACK_COLUMNS, Case, User
from ooc.service import write_case

MIGRATING_ROLE = "admin"


@dataclass(frozen=True)
class CaseMove:
    case_id: int
    police_reference: str
    states: dict[str, tuple[str, str]]  # track: (old state, new state)

    def describe(self) -> str:
        moves = ", ".join(f"{old} → {new}" if old != new else old
                          for old, new in self.states.values())
        return f"case {self.case_id} ({self.police_reference}): {moves}"


def parse_state_map(pairs: list[str]) -> dict[str, str]:
    """OLD=NEW pairs from the command line."""
    mapping: dict[str, str] = {}
    problems = []
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            problems.append(FieldProblem("map", f"'{pair}' should be written OLD_STATE=NEW_STATE."))
        else:
            mapping[old.strip()] = new.strip()
    if problems:
        raise InvalidForm(problems)
    return mapping


def plan_migration(session: Session, *, registry: WorkflowRegistry, workflow: str,
                   from_version: int, to_version: int,
                   state_map: dict[str, str]) -> list[CaseMove]:
    """What would change for each open case; raises if any case has nowhere to go."""
    source = registry.get(workflow, from_version)
    target = registry.get(workflow, to_version)
    problems = []
    for old, new in state_map.items():
        if old not in source.states:
            problems.append(f"'{old}' is not a state of {workflow} version {from_version}.")
        if new not in target.states:
            problems.append(f"'{new}' is not a state of {workflow} version {to_version}.")
        elif old in source.states and source.states[old].track != target.states[new].track:
            problems.append(f"'{old}' and '{new}' are on different tracks.")
    if problems:
        raise GuardsFailed("The state mapping is not valid.", problems)

    cases = session.exec(
        select(Case)
        .where(Case.workflow_name == workflow, Case.workflow_version == from_version,
               Case.state.in_(source.open_states()))
        .order_by(Case.id)
    ).all()
    moves, stuck = [], set()
    for case in cases:
        states = {}
        for track, column in TRACK_COLUMNS.items():
            old = getattr(case, column)
            new = state_map.get(old, old)
            if new not in target.states:
                stuck.add(old)
            states[track] = (old, new)
        moves.append(CaseMove(case.id, case.police_reference, states))
    if stuck:
        raise GuardsFailed(
            "Some open cases are in states that version "
            f"{to_version} does not have. Map each of them to a new state with --map OLD=NEW.",
            [f"'{s}' has no equivalent in version {to_version}." for s in sorted(stuck)])
    return moves


def migrate_cases(session: Session, *, registry: WorkflowRegistry, workflow: str,
                  from_version: int, to_version: int, state_map: dict[str, str], actor: User,
                  now: datetime) -> list[CaseMove]:
    """Migrate every open case, one audit event each. The caller commits (all or nothing)."""
    if MIGRATING_ROLE not in actor.roles or not actor.active:
        raise RoleNotAllowed(f"Only an admin can migrate cases; {actor.username} is not one.")
    moves = plan_migration(session, registry=registry, workflow=workflow,
                           from_version=from_version, to_version=to_version,
                           state_map=state_map)
    for move in moves:
        case = session.get(Case, move.case_id)
        event = append_event(
            session, prev_hash=case.audit_head, case_id=case.id, seq=case.version + 1, at=now,
            actor=actor.username, role=MIGRATING_ROLE, trigger=MIGRATE, track="main",
            from_state=move.states["main"][0], to_state=move.states["main"][1],
            data={"from_version": from_version, "to_version": to_version,
                  "states": {track: list(pair) for track, pair in move.states.items()}},
            workflow_name=workflow, workflow_version=to_version)
        changes = {TRACK_COLUMNS[track]: new for track, (_, new) in move.states.items()}
        changes.update(workflow_version=to_version, version=event["seq"],
                       audit_head=event["hash"], updated_at=event["at"])
        write_case(session, case, changes)
    session.flush()
    refresh_facts(session, registry, [move.case_id for move in moves])
    return moves
