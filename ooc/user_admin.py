"""An administrator's changes to people: roles, passwords, deactivation. Each is checked, made
and written to the system chain (ooc/system_audit.py) with who made it, in one place, so the
pages and the command line leave the same trace."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ooc import system_audit
from ooc.accounts import ROLES, set_password
from ooc.errors import FieldProblem, InvalidForm
from ooc.models import User


def change_roles(session: Session, *, person: User, roles: list[str], actor: User,
                 now: datetime) -> list[str]:
    """Give `person` exactly `roles` (in the order ROLES lists them)."""
    roles = [role for role in ROLES if role in roles]
    if not roles:
        problem = "Choose at least one role. To stop someone signing in, deactivate them."
    elif person.id == actor.id and "admin" not in roles:
        problem = "You cannot take away your own admin role: ask another administrator."
    else:
        problem = None
    if problem:
        raise InvalidForm([FieldProblem("roles", problem)])
    before = list(person.roles)
    person.roles = roles
    session.flush()
    system_audit.record(session, actor=actor.username, action="change_roles",
                        subject=person.username, details={"from": before, "to": roles},
                        now=now)
    return roles


def reset_password(session: Session, *, person: User, password: str, actor: User,
                   now: datetime) -> None:
    """A new password, which also unlocks the account."""
    set_password(person, password)
    person.failed_sign_ins, person.locked_until = 0, None
    session.flush()
    system_audit.record(session, actor=actor.username, action="reset_password",
                        subject=person.username, now=now)


def change_active(session: Session, *, person: User, active: bool, actor: User,
                  now: datetime) -> None:
    if person.id == actor.id and not active:
        raise InvalidForm([FieldProblem(
            "active", "You cannot deactivate your own account: ask another administrator.")])
    person.active = active
    session.flush()
    system_audit.record(session, actor=actor.username,
                        action="reactivate_user" if active else "deactivate_user",
                        subject=person.username, now=now)
