"""Who may see a child's case, and the log of every time someone did."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session

from ooc.calendar import to_utc
from ooc.models import AccessLog, User

# Roles whose work needs the child's record. The board sees aggregate figures only; police see
# the referrals they make, not the YJS record; administrators manage accounts, not cases.
CASE_VIEWERS = ("case_manager", "manager", "panel_chair", "victim_worker")


def log_view(session: Session, *, user: User, case_id: int, view: str, now: datetime) -> None:
    """Record that `user` saw case `case_id` (the caller commits with the response)."""
    session.add(AccessLog(at=to_utc(now), username=user.username, case_id=case_id, view=view))


def log_list_view(session: Session, *, user: User, case_ids: Iterable[int], view: str,
                  now: datetime) -> None:
    """Record that `user` was shown each of the cases `case_ids` in a list that names the
    children (search results, a police officer's referrals): one row per case, as a case page
    writes, so that "who has seen this child" has one answer. The caller commits."""
    at = to_utc(now)
    rows = [{"at": at, "username": user.username, "case_id": case_id, "view": view}
            for case_id in case_ids]
    if rows:
        session.execute(insert(AccessLog), rows)
