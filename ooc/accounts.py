"""People who use ooc: adding them, signing in with lockout, and API tokens.

Passwords are stored as argon2id hashes; API tokens only as their SHA-256 (a token is a random
secret, so a fast hash is enough and lets each request find its token with one indexed query).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from ooc import system_audit
from ooc.calendar import to_utc
from ooc.errors import FieldProblem, InvalidForm, NotFound, OocError
from ooc.models import ApiToken, User

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
ROLES = ("police", "case_manager", "panel_chair", "manager", "victim_worker", "board", "admin",
         "data_protection")

_hasher = PasswordHasher()


class SignInRefused(OocError):
    """Wrong username or password, or locked out; the message never says which username exists."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def add_user(session: Session, *, username: str, roles: list[str], password: str,
             display_name: str | None = None, team: str | None = None,
             actor: str | None = None, now: datetime | None = None) -> User:
    """Create a user; refuses unknown roles, weak passwords and names already taken. The
    creation is a system event by `actor` (None: the system itself, as in setting up)."""
    problems = []
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        problems.append(FieldProblem("username", "A username may use only letters, numbers, "
                                                 "dots and underscores."))
    elif find_user(session, username):
        problems.append(FieldProblem("username", f"There is already a user called {username}."))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        problems.append(FieldProblem("roles", f"Give one or more roles from: {', '.join(ROLES)}"
                                              + (f" ('{unknown[0]}' is not one)." if unknown
                                                 else ".")))
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(FieldProblem("password", f"The password must be at least "
                                                 f"{MIN_PASSWORD_LENGTH} characters long."))
    if problems:
        raise InvalidForm(problems)
    user = User(username=username, display_name=display_name or username, roles=list(roles),
                team=team, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    system_audit.record(session, actor=actor, action="add_user", subject=username,
                        details={"roles": list(roles), "team": team,
                                 "display_name": user.display_name},
                        now=now or datetime.now(UTC))
    return user


def display_names(session: Session, usernames) -> dict[str, str]:
    """People's names for their usernames (a name nobody holds is left out)."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    return dict(session.exec(select(User.username, User.display_name)
                             .where(User.username.in_(wanted))).all())


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidForm([FieldProblem("password", f"The password must be at least "
                                                    f"{MIN_PASSWORD_LENGTH} characters long.")])
    user.password_hash = hash_password(password)


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> User:
    """The user, if the password is right and the account is not locked; counts failures."""
    user = find_user(session, username.strip())
    wrong = SignInRefused("Enter a correct username and password.")
    if user is None or not user.active or not user.password_hash:
        _hasher.hash(password)  # spend the same time as a real check, so names can't be probed
        raise wrong
    if user.locked_until and to_utc(user.locked_until) > to_utc(now):
        minutes = int((to_utc(user.locked_until) - to_utc(now)).total_seconds() // 60) + 1
        raise SignInRefused(f"There have been too many failed attempts to sign in to this "
                            f"account. Try again in {minutes} minutes, or ask an administrator.")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            user.locked_until = to_utc(now) + LOCKOUT
            user.failed_sign_ins = 0
        session.flush()
        raise wrong from None
    user.failed_sign_ins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, username: str, now: datetime,
                actor: str | None = None) -> str:
    """A new API token for the user; the token itself is shown once and never stored. The
    issue is a system event by `actor`."""
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"There is no user '{username}'.")
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_digest(token), created_at=to_utc(now))
    session.add(row)
    session.flush()
    system_audit.record(session, actor=actor, action="issue_token", subject=username,
                        details={"token_id": row.id}, now=now)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a token belongs to, or None."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                              ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user and user.active else None
