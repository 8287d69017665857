"""Drafts: a long form saved unfinished, for its author alone to resume.

A draft is not an audit event and no figure reads it. The transition service removes a case's
drafts when their action is done, or when the case has moved on so that it can no longer be.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_
from sqlmodel import Session, select

from ooc.calendar import to_utc
from ooc.definitions import Transition
from ooc.errors import RoleNotAllowed
from ooc.models import Case, Draft, User


def save_draft(session: Session, *, case: Case, transition: Transition, author: User,
               values: dict[str, Any], now: datetime) -> Draft:
    """Keep `values` as `author`'s draft of `transition` on `case` (replacing an older one)."""
    if not set(author.roles) & set(transition.roles):
        raise RoleNotAllowed(f"Only people who can {transition.label.lower()} can save a draft "
                             "of it.")
    draft = find_draft(session, case_id=case.id, trigger=transition.trigger,
                       author=author.username)
    if draft is None:
        draft = Draft(case_id=case.id, trigger=transition.trigger, author=author.username,
                      saved_at=to_utc(now))
        session.add(draft)
    draft.values = values
    draft.saved_at = to_utc(now)
    session.flush()
    return draft


def find_draft(session: Session, *, case_id: int, trigger: str, author: str) -> Draft | None:
    return session.exec(select(Draft).where(Draft.case_id == case_id, Draft.trigger == trigger,
                                            Draft.author == author)).first()


def discard_drafts(session: Session, *, case_id: int, done: str, possible: set[str]) -> None:
    """After `done` was fired on a case: its drafts, and those of actions no longer possible.
    One Core statement, compiled once (it runs in every transition)."""
    session.connection().execute(_DISCARD, {"case_id": case_id, "done": done,
                                            "possible": sorted(possible) or [""]})


_DRAFTS = Draft.__table__
_DISCARD = _DRAFTS.delete().where(
    _DRAFTS.c.case_id == bindparam("case_id"),
    or_(_DRAFTS.c.trigger == bindparam("done"),
        _DRAFTS.c.trigger.not_in(bindparam("possible", expanding=True))))
