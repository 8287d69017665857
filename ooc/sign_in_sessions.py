"""Signed-in browsers, kept in the database so that any of them can be signed out at once.

A browser's cookie holds a random key; the table keeps only its SHA-256, with when the session
started and when it was last seen. A session ends when its row is deleted (sign-out, or an
administrator's change to the account), when it has been idle too long, or when it reaches its
lifetime, however busy it is. A copied cookie is therefore worth nothing once its row is gone.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, select

from ooc.calendar import to_utc
from ooc.models import SignInSession, User

# `last_seen_at` is written at most this often, not on every page: a write per request would
# make every page view a write transaction (on SQLite, one writer at a time for the whole
# database). The idle timeout is therefore honoured to within this much.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(session: Session, *, user: User, now: datetime, idle: timedelta,
                  lifetime: timedelta) -> str:
    """A new session for the user; returns the key its cookie carries (never stored)."""
    _forget_stale(session, user_id=user.id, now=now, idle=idle, lifetime=lifetime)
    key = secrets.token_urlsafe(32)
    session.add(SignInSession(user_id=user.id, key_hash=_digest(key), started_at=to_utc(now),
                              last_seen_at=to_utc(now)))
    session.flush()
    return key


def signed_in_user(session: Session, key: str | None, *, now: datetime, idle: timedelta,
                   lifetime: timedelta) -> User | None:
    """The active user a session key belongs to, or None if the session has ended."""
    if not key:
        return None
    found = session.exec(select(SignInSession, User).join(User, User.id == SignInSession.user_id)
                         .where(SignInSession.key_hash == _digest(key))).first()
    if found is None:
        return None
    row, user = found
    now = to_utc(now)
    if (not user.active or now - to_utc(row.started_at) >= lifetime
            or now - to_utc(row.last_seen_at) >= idle):
        return None  # the row is tidied away at the user's next sign-in
    if now - to_utc(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
    return user


def end_session(session: Session, key: str | None) -> None:
    """Sign out the browser holding this key (other browsers of the same user stay in)."""
    if key:
        session.execute(delete(SignInSession).where(SignInSession.key_hash == _digest(key)))


def end_all_sessions(session: Session, *, user_id: int) -> int:
    """Sign the user out everywhere; returns how many sessions were ended."""
    result = session.execute(delete(SignInSession).where(SignInSession.user_id == user_id))
    return result.rowcount or 0


def list_sessions(session: Session, *, user_id: int, now: datetime, idle: timedelta,
                  lifetime: timedelta) -> list[SignInSession]:
    """The user's sessions that have not ended, newest first."""
    now = to_utc(now)
    return list(session.exec(select(SignInSession).where(
        SignInSession.user_id == user_id, SignInSession.started_at > now - lifetime,
        SignInSession.last_seen_at > now - idle).order_by(SignInSession.started_at.desc(),
                                                          SignInSession.id.desc())).all())


def _forget_stale(session: Session, *, user_id: int, now: datetime, idle: timedelta,
                  lifetime: timedelta) -> None:
    # Ended sessions of the user are tidied away when they sign in again, so the table holds
    # at most a few rows per person without a sweeper.
    now = to_utc(now)
    session.execute(delete(SignInSession).where(
        SignInSession.user_id == user_id,
        or_(SignInSession.started_at <= now - lifetime, SignInSession.last_seen_at <= now - idle)))
