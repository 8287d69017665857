"""Who may see a child's case, and the log of every time someone did.

A case belongs to the team of its case manager. Case managers and managers work on their team's
cases, and on new referrals that nobody has taken yet; panel chairs on the cases listed for a
panel or decided or deferred at one; victim workers on the cases with a victim. A person with
several roles reaches what any of them reaches. People and cases with no team form a team of
their own, so a service that does not use teams works as one team.

The rule is one SQL condition (`viewable`), so that a case page and every list agree; a refusal
says why in plain words (`refusal`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import IO

from sqlalchemy import and_, exists, false, insert, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from ooc.calendar import to_utc
from ooc.errors import NotFound, RoleNotAllowed
from ooc.machine import WorkflowRegistry
from ooc.models import AccessLog, AuditEvent, Case, User
from ooc.panels import agenda_states, at_meeting

# Roles whose work needs the child's record. The board sees aggregate figures only; police see
# the referrals they make, not the YJS record; administrators manage accounts, not cases.
# The data-protection role sees who viewed a case, never the record itself.
CASE_VIEWERS = ("case_manager", "manager", "panel_chair", "victim_worker")
TEAM_ROLES = {"case_manager", "manager"}


def log_view(session: Session, *, user: User, case_id: int, view: str, now: datetime,
             address: str | None = None) -> None:
    """Record that `user` saw case `case_id` from the client `address` (the caller commits
    with the response)."""
    session.add(AccessLog(at=to_utc(now), username=user.username, case_id=case_id, view=view,
                          address=address))


# --- who may see which case ---------------------------------------------------------------------


def _same_team(team: str | None) -> ColumnElement[bool]:
    """The case's case manager is in `team` (both without a team counts as the same)."""
    members = select(User.username).where(
        User.team == team if team is not None else User.team.is_(None))
    return Case.case_manager.in_(members.scalar_subquery())


def _at_panel(registry: WorkflowRegistry) -> ColumnElement[bool]:
    """Listed for a panel now, or decided or deferred at one before."""
    listed = sorted({s for d in registry for s in agenda_states(d)})
    triggers = sorted({t.trigger for d in registry for t in at_meeting(d)})
    return or_(Case.state.in_(listed), exists().where(AuditEvent.case_id == Case.id,
                                                      AuditEvent.trigger.in_(triggers)))


def viewable(user: User, registry: WorkflowRegistry) -> ColumnElement[bool]:
    """The cases `user`'s work needs, as a condition on `Case`."""
    roles = set(user.roles) if user.active else set()
    reaches = []
    if roles & TEAM_ROLES:
        reaches += [Case.case_manager.is_(None), _same_team(user.team)]
    if "panel_chair" in roles:
        reaches.append(_at_panel(registry))
    if "victim_worker" in roles:
        reaches.append(Case.has_victim)
    return or_(*reaches) if reaches else false()


@lru_cache(maxsize=8)
def _listed_states(registry: WorkflowRegistry) -> frozenset[str]:
    return frozenset(s for d in registry for s in agenda_states(d))


def _plainly_reaches(user: User, case: Case, registry: WorkflowRegistry) -> bool:
    """The common cases, decided from the case row alone (no query): the case manager's own
    case, an untaken referral, a case with a victim for a victim worker, a case before a
    panel for a chair. Anything else is for `viewable` to say."""
    roles = set(user.roles)
    return user.active and (
        bool(roles & TEAM_ROLES) and case.case_manager in (None, user.username)
        or "victim_worker" in roles and case.has_victim
        or "panel_chair" in roles and case.state in _listed_states(registry))


def may_view(session: Session, *, user: User, case: Case, registry: WorkflowRegistry) -> bool:
    if _plainly_reaches(user, case, registry):
        return True
    return session.exec(select(Case.id).where(
        and_(Case.id == case.id, viewable(user, registry)))).first() is not None


def refusal(session: Session, *, user: User, case: Case,
            registry: WorkflowRegistry) -> str | None:
    """Why `user` may not open `case`, in plain words; None when their work needs it."""
    if may_view(session, user=user, case=case, registry=registry):
        return None
    roles = set(user.roles)
    if not roles & set(CASE_VIEWERS):
        return ("A child's case is only for case managers, managers, panel chairs and victim "
                "workers.")
    reasons = []
    if roles & TEAM_ROLES:
        team = session.execute(select(User.team)
                               .where(User.username == case.case_manager)).scalar()
        their = f"the {team} team" if team else "another team"
        yours = f"the {user.team} team" if user.team else "no team"
        reasons.append(f"it belongs to {their}, and you work in {yours}")
    if "panel_chair" in roles:
        reasons.append("it has not been listed for a panel")
    if "victim_worker" in roles:
        reasons.append("it has no identified victim")
    return (f"You cannot open this case: {'; '.join(reasons)}. If your work needs it, ask a "
            "manager of its team.")


def case_for(session: Session, *, user: User, case_id: int, registry: WorkflowRegistry) -> Case:
    """The case, if `user`'s work needs it; otherwise NotFound, or RoleNotAllowed saying why."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"There is no case {case_id}.")
    why = refusal(session, user=user, case=case, registry=registry)
    if why:
        raise RoleNotAllowed(why)
    return case


def log_list_view(session: Session, *, user: User, case_ids: Iterable[int], view: str,
                  now: datetime, address: str | None = None) -> None:
    """Record that `user` was shown each of the cases `case_ids` in a list that names the
    children (search results, a police officer's referrals): one row per case, as a case page
    writes, so that "who has seen this child" has one answer. The caller commits."""
    at = to_utc(now)
    rows = [{"at": at, "username": user.username, "case_id": case_id, "view": view,
             "address": address} for case_id in dict.fromkeys(case_ids)]
    if rows:
        session.execute(insert(AccessLog), rows)


# --- who has seen a case -------------------------------------------------------------------------

# Who may see who viewed a case: managers (for their team's cases) and the data-protection role
# (any case, to answer a subject access request or look into a breach).
VIEW_LOG_READERS = ("manager", "data_protection")


def may_read_view_log(session: Session, *, user: User, case: Case,
                      registry: WorkflowRegistry) -> bool:
    if not user.active:
        return False
    if "data_protection" in user.roles:
        return True
    return "manager" in user.roles and may_view(session, user=user, case=case,
                                                registry=registry)


def views_of(session: Session, case_id: int, limit: int = 500) -> list[AccessLog]:
    """The newest views of a case first."""
    return list(session.scalars(select(AccessLog).where(AccessLog.case_id == case_id)
                                .order_by(AccessLog.id.desc()).limit(limit)))


def export_access_log(session: Session, out: IO[str]) -> int:
    """Write every access-log row as one JSON object per line; returns how many."""
    from ooc.audit import canonical_json, iso_utc

    count = 0
    query = select(AccessLog).order_by(AccessLog.id).execution_options(yield_per=10000)
    for row in session.scalars(query):
        out.write(canonical_json({"record": "access", "id": row.id, "at": iso_utc(row.at),
                                  "username": row.username, "case_id": row.case_id,
                                  "view": row.view, "address": row.address}) + "\n")
        count += 1
    return count
