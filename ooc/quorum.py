"""The quorum rule in force: the workflow file's, until an administrator changes it.

A change is a new row, never an edit: the latest row for a workflow is its rule, and the earlier
ones record who changed what, and when.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, select

from ooc import system_audit
from ooc.calendar import to_utc
from ooc.definitions import Definition, Option, Quorum
from ooc.errors import FieldProblem, InvalidForm, RoleNotAllowed
from ooc.inputs import too_long, whole_number
from ooc.models import QuorumRule, User


def latest_rule(session: Session, workflow_name: str) -> QuorumRule | None:
    """The administrator's latest rule for a workflow, if there is one."""
    return session.exec(select(QuorumRule).where(QuorumRule.workflow_name == workflow_name)
                        .order_by(QuorumRule.id.desc()).limit(1)).first()


def as_quorum(rule: QuorumRule) -> Quorum:
    """The rule a stored row holds."""
    return Quorum(agencies=tuple(Option(a["code"], a["label"]) for a in rule.agencies),
                  required=tuple(rule.required), minimum_others=rule.minimum_others)


def effective_quorum(session: Session, definition: Definition) -> Quorum:
    """The rule a panel meeting of `definition`'s workflow recorded now must meet."""
    rule = latest_rule(session, definition.name)
    return definition.quorum if rule is None else as_quorum(rule)


def quorum_in_force(session: Session, definition: Definition, at: datetime) -> Quorum:
    """The rule in force at an instant: the last change an administrator had made by then, or
    else the workflow file's."""
    rule = session.exec(select(QuorumRule)
                        .where(QuorumRule.workflow_name == definition.name,
                               QuorumRule.updated_at <= to_utc(at))
                        .order_by(QuorumRule.updated_at.desc(), QuorumRule.id.desc())
                        .limit(1)).first()
    return definition.quorum if rule is None else as_quorum(rule)


def describe(quorum: Quorum) -> str:
    """The rule in words, for example "Police and Youth justice service must attend, and at
    least 2 of the 6 other agencies."."""
    labels = {a.value: a.label for a in quorum.agencies}
    required = [labels.get(code, code) for code in quorum.required]
    others = len(quorum.agencies) - len(required)
    agencies = f"{others} {'other ' if required else ''}agenc{'y' if others == 1 else 'ies'}"
    if not required:
        return f"At least {quorum.minimum_others} of the {agencies} must attend."
    must = " and ".join(filter(None, [", ".join(required[:-1]), required[-1]]))
    if not quorum.minimum_others:
        return f"{must} must attend."
    return f"{must} must attend, and at least {quorum.minimum_others} of the {agencies}."


def known_agencies(session: Session, definition: Definition) -> list[Option]:
    """Every agency the rule lists now, then those it no longer lists: from the workflow file,
    then from earlier rules (so an agency taken out can be put back)."""
    rules = session.exec(select(QuorumRule).where(QuorumRule.workflow_name == definition.name)
                         .order_by(QuorumRule.id.desc())).all()
    current = as_quorum(rules[0]) if rules else definition.quorum
    agencies = {a.value: a for a in current.agencies}
    for option in [*definition.quorum.agencies,
                   *(Option(a["code"], a["label"]) for rule in rules for a in rule.agencies)]:
        agencies.setdefault(option.value, option)
    return list(agencies.values())


AGENCY_NAME_LENGTH = 60


def agency_code(label: str) -> str:
    """An agency's code from its name: "Youth offending team" -> "youth_offending_team"."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def change_quorum(session: Session, *, definition: Definition, agencies: list[Option],
                  required: list[str], minimum_others: int | str, actor: User, now: datetime,
                  new_agency: str = "") -> QuorumRule:
    """Store a new rule for `definition`'s workflow; refuses, naming every problem at once, a
    rule that could never be met or that names an agency it does not list."""
    if not actor.active or "admin" not in actor.roles:
        raise RoleNotAllowed(f"Only an admin can change the quorum rule; {actor.username} "
                             "is not one.")
    problems = []
    known = known_agencies(session, definition)
    agencies = list(agencies)
    new_agency = new_agency.strip()
    # The agency's code is stored per attendance, in a column of 64 characters.
    long = too_long(new_agency=("The new agency's name", new_agency, AGENCY_NAME_LENGTH))
    if long:
        problems.append(FieldProblem(*long[0]))
    elif new_agency:
        code = agency_code(new_agency)
        if not code:
            problems.append(FieldProblem("new_agency", "Enter the new agency's name using "
                                                       "letters or numbers."))
        elif any(a.value == code or a.label.lower() == new_agency.lower()
                 for a in known):
            problems.append(FieldProblem("new_agency", f"There is already an agency called "
                                                       f"{new_agency}. Tick it instead."))
        else:
            agencies.append(Option(code, new_agency))
    if not agencies:
        problems.append(FieldProblem("agencies", "Choose at least one agency that attends "
                                                 "panels."))
    listed = {a.value: a.label for a in agencies}
    labels = {a.value: a.label for a in known}
    for code in required:
        if code not in listed:
            problems.append(FieldProblem("required", f"{labels.get(code, code)} must attend, so "
                                                     "it must also be one of the agencies."))
    minimum = whole_number(str(minimum_others))
    if minimum is None:
        problems.append(FieldProblem("minimum_others", "Enter how many other agencies must "
                                                       "attend as a whole number, like 2."))
    if minimum is not None:
        others = len(set(listed) - set(required))
        if minimum < 0:
            problems.append(FieldProblem("minimum_others", "The number of other agencies must "
                                                           "be 0 or more."))
        elif agencies and minimum > others:
            problems.append(FieldProblem(
                "minimum_others", f"There {'is' if others == 1 else 'are'} only {others} other "
                                  f"agenc{'y' if others == 1 else 'ies'}, so no panel could meet "
                                  f"a minimum of {minimum}."))
    if problems:
        raise InvalidForm(problems)
    rule = QuorumRule(workflow_name=definition.name,
                      agencies=[{"code": a.value, "label": a.label} for a in agencies],
                      required=[code for code in listed if code in required],
                      minimum_others=minimum, updated_at=to_utc(now),
                      updated_by=actor.username)
    session.add(rule)
    session.flush()
    system_audit.record(session, actor=actor.username, action="change_quorum",
                        subject=definition.name,
                        details={"agencies": rule.agencies, "required": rule.required,
                                 "minimum_others": rule.minimum_others}, now=now)
    return rule
