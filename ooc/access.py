"""Who may see a child's case, and the log of every time someone did."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from ooc.calendar import to_utc
from ooc.models import AccessLog, User

# Roles whose work needs the child's record. The board sees aggregate figures only; police see
# the referrals they make, not the YJS record; administrators manage accounts, not cases.
CASE_VIEWERS = ("case_manager", "manager", "panel_chair", "victim_worker")


def log_view(session: Session, *, user: User, case_id: int, view: str, now: datetime) -> None:
    """Record that `user` saw case `case_id` (the caller commits with the response)."""
    session.add(AccessLog(at=to_utc(now), username=user.username, case_id=case_id, view=view))
