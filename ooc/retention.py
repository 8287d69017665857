"""Retention: anonymising closed cases once the service no longer needs to know who they were.

A closed case (its main track in a terminal state) is due `retention_years` after its last
action, or, with `retention_from = "eighteenth_birthday"`, after the later of its last action
and the child's 18th birthday (ooc/settings.py: OOC_RETENTION_YEARS, OOC_RETENTION_FROM).

Anonymising removes what identifies the child or records what people said: the free-text and
name fields of the referral and of every form (the workflow's `string` and `text` fields), each
event's reason, the case's search keys and its drafts. A non-blank text becomes "[removed]"
and a blank one stays blank, so figures that count whether something was recorded (a
rationale, the child's views) are unchanged; dates, choices, numbers and yes/no answers stay,
and so do the figures' tables. The date of birth, sex and ethnicity stay too: the figures are
broken down by age band, sex and ethnicity.

The audit trail keeps verifying: each event's hash covers a digest of its content rather than
the content (ooc/audit.py), and the anonymisation itself is a system event naming the cases,
which tells verification that their content was removed on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from ooc import system_audit
from ooc.audit import CREATE, case_events, replay
from ooc.calendar import local_date
from ooc.definitions import Definition, FormField
from ooc.errors import OocError
from ooc.machine import WorkflowRegistry
from ooc.models import AuditEvent, Case, CaseSearchKey, Draft, SystemEvent
from ooc.search import index_case

REMOVED = "[removed]"
FREE_TEXT = ("string", "text")
BASES = ("last_action", "eighteenth_birthday")
# What the case record's identifying columns become (the reference must stay unique).
ANONYMOUS_NAME = ("Anonymised", "child")


@dataclass(frozen=True)
class RetentionRule:
    years: int | None = 6
    basis: str = "last_action"

    def __post_init__(self) -> None:
        if self.years is None or self.years < 0:
            raise OocError("OOC_RETENTION_YEARS must be a whole number of years, 0 or more, "
                           "like 6.")
        if self.basis not in BASES:
            raise OocError(f"OOC_RETENTION_FROM must be one of {', '.join(BASES)}, not "
                           f"'{self.basis}'.")

    def describe(self) -> str:
        start = ("its last action" if self.basis == "last_action" else
                 "the later of its last action and the child's 18th birthday")
        return f"closed cases, {self.years} years after {start}"

    def due_on(self, last_action: date, date_of_birth: date) -> date:
        start = last_action
        if self.basis == "eighteenth_birthday":
            start = max(start, _add_years(date_of_birth, 18))
        return _add_years(start, self.years)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Due:
    case_id: int
    last_action: date
    due_on: date


def anonymised_cases(session: Session) -> set[int]:
    """The cases an anonymisation in the system chain names."""
    rows = session.execute(select(SystemEvent.details)
                           .where(SystemEvent.action == system_audit.ANONYMISE))
    return {case_id for (details,) in rows for case_id in details.get("case_ids", [])}


def due_cases(session: Session, registry: WorkflowRegistry, rule: RetentionRule,
              today: date) -> list[Due]:
    """Closed cases not yet anonymised whose retention period has run out, oldest first."""
    done = anonymised_cases(session)
    closed = sorted({s for d in registry for s in d.states if d.is_terminal(s)
                     and d.states[s].track == "main"})
    rows = session.execute(select(Case.id, Case.updated_at, Case.date_of_birth)
                           .where(Case.state.in_(closed)).order_by(Case.id))
    due = []
    for row in rows:
        last = local_date(row.updated_at)
        on = rule.due_on(last, row.date_of_birth)
        if on <= today and row.id not in done:
            due.append(Due(row.id, last, on))
    return due


def _redact(value: Any) -> Any:
    return REMOVED if isinstance(value, str) and value.strip() else value


def _redact_form(fields: tuple[FormField, ...], form: dict[str, Any]) -> dict[str, Any]:
    free = {f.name for f in fields if f.type in FREE_TEXT}
    return {name: _redact(value) if name in free else value for name, value in form.items()}


def _redacted_data(definition: Definition, event: AuditEvent) -> dict[str, Any]:
    data = event.data
    if event.trigger == CREATE and "referral" in data:
        return {**data, "referral": _redact_form(definition.referral.fields, data["referral"])}
    transition = definition.transition(event.from_state, event.trigger) \
        if event.from_state else None
    return _redact_form(transition.fields, data) if transition else data


def _anonymise_case(session: Session, registry: WorkflowRegistry, case: Case) -> None:
    events = case_events(session, case.id)
    for event in events:
        definition = registry.get(event.workflow_name, event.workflow_version)
        data, reason = _redacted_data(definition, event), _redact(event.reason)
        if data != event.data or reason != event.reason:
            # The hash and the digest stay: they are what the trail was, and still verify.
            session.execute(update(AuditEvent).where(AuditEvent.id == event.id)
                            .values(data=data, reason=reason))
    session.expire_all()
    events = case_events(session, case.id)
    definition = registry.get(case.workflow_name, case.workflow_version)
    for f in definition.referral.fields:
        if f.type in FREE_TEXT and hasattr(case, f.name):
            setattr(case, f.name, _redact(getattr(case, f.name)))
    case.given_name, case.family_name = ANONYMOUS_NAME
    case.police_reference = f"ANON-{case.id}"
    case.data = replay(registry, events).data  # the record as the redacted events now say
    session.execute(delete(CaseSearchKey).where(CaseSearchKey.case_id == case.id))
    session.execute(delete(Draft).where(Draft.case_id == case.id))
    session.flush()
    index_case(session, case)


def anonymise(session: Session, registry: WorkflowRegistry, case_ids: list[int], *,
              actor: str | None, rule: RetentionRule, now: datetime) -> int:
    """Anonymise the cases, and record it in the system chain; the caller commits."""
    for case_id in case_ids:
        _anonymise_case(session, registry, session.get(Case, case_id))
    if case_ids:
        system_audit.record(session, actor=actor, action=system_audit.ANONYMISE,
                            subject=f"{len(case_ids)} closed case"
                                    f"{'s' if len(case_ids) != 1 else ''}",
                            details={"case_ids": list(case_ids), "rule": rule.describe()},
                            now=now)
    return len(case_ids)
