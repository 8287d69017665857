"""People who use ooc: adding them, changing their accounts, signing in with lockout, and API
tokens.

Passwords are stored as argon2id hashes; API tokens only as their SHA-256 (a token is a random
secret, so a fast hash is enough and lets each request find its token with one indexed query).
Every change to an account is a function here, not in a route, so that each can be recorded.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, case, or_, update
from sqlmodel import Session, select

from ooc import system_audit
from ooc.calendar import to_utc
from ooc.errors import FieldProblem, InvalidForm, NotFound, OocError
from ooc.inputs import too_long
from ooc.models import ApiToken, User
from ooc.sign_in_sessions import end_all_sessions

# Defaults of the settings of the same names (ooc.settings.Settings).
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_LIFETIME = timedelta(days=90)
# A token's last use is written at most this often: a write on every API call would make each
# read a write transaction (on SQLite one writer at a time for the whole database), and "used
# today" is what an administrator deciding to revoke a token needs to know.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 12
# A passphrase can be long; a megabyte pasted by mistake would only keep argon2 busy.
MAX_PASSWORD_LENGTH = 1000
USERNAME_LENGTH, DISPLAY_NAME_LENGTH, TEAM_LENGTH = (
    User.__table__.c[name].type.length for name in ("username", "display_name", "team"))
ROLES = ("police", "case_manager", "panel_chair", "manager", "victim_worker", "board", "admin",
         "data_protection")

_hasher = PasswordHasher()


class SignInRefused(OocError):
    """Wrong username or password, or locked out; the message never says which, so that it
    cannot tell anyone whether an account exists."""


def refusal_message(*, lockout: timedelta = LOCKOUT) -> str:
    minutes = int(lockout.total_seconds() // 60)
    return (f"Enter a correct username and password. After too many failed attempts to sign "
            f"in, an account is locked for {minutes} minutes: try again later, or ask an "
            f"administrator.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def add_user(session: Session, *, username: str, roles: list[str], password: str,
             display_name: str | None = None, team: str | None = None,
             now: datetime, actor: str | None = None) -> User:
    """Create a user; refuses unknown roles, weak passwords and names already taken. The
    creation is a system event by `actor` (None: the system itself, as in setting up)."""
    problems = [FieldProblem(name, message) for name, message in too_long(
        username=("A username", username, USERNAME_LENGTH),
        display_name=("A display name", display_name, DISPLAY_NAME_LENGTH),
        team=("A team's name", team, TEAM_LENGTH),
        password=("A password", password, MAX_PASSWORD_LENGTH))]
    if problems and problems[0].field == "username":
        pass  # too long: said once
    elif not username or not username.replace("_", "").replace(".", "").isalnum():
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
                        now=now)
    return user


def display_names(session: Session, usernames) -> dict[str, str]:
    """People's names for their usernames (a name nobody holds is left out)."""
    wanted = sorted({u for u in usernames if u})
    if not wanted:
        return {}
    return dict(session.exec(select(User.username, User.display_name)
                             .where(User.username.in_(wanted))).all())


def set_password(user: User, password: str) -> None:
    for name, message in too_long(password=("A password", password, MAX_PASSWORD_LENGTH)):
        raise InvalidForm([FieldProblem(name, message)])
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidForm([FieldProblem("password", f"The password must be at least "
                                                    f"{MIN_PASSWORD_LENGTH} characters long.")])
    user.password_hash = hash_password(password)


# --- changes an administrator makes ------------------------------------------------------------


def reset_password(session: Session, *, user: User, password: str, by: User,
                   now: datetime) -> None:
    """A new password, which also unlocks the account and signs the user out everywhere."""
    set_password(user, password)
    user.failed_sign_ins, user.locked_until = 0, None
    end_all_sessions(session, user_id=user.id)
    session.flush()
    system_audit.record(session, actor=by.username, action="reset_password",
                        subject=user.username, now=now)


def change_roles(session: Session, *, user: User, roles: list[str], by: User,
                 now: datetime) -> None:
    """Give the user these roles; they are signed out everywhere, to sign in to the new ones."""
    problem = None
    if not roles or any(role not in ROLES for role in roles):
        problem = "Choose at least one role. To stop someone signing in, deactivate them."
    elif user.id == by.id and "admin" not in roles:
        problem = "You cannot take away your own admin role: ask another administrator."
    if problem:
        raise InvalidForm([FieldProblem("roles", problem)])
    before = list(user.roles)
    user.roles = [role for role in ROLES if role in roles]
    end_all_sessions(session, user_id=user.id)
    session.flush()
    system_audit.record(session, actor=by.username, action="change_roles",
                        subject=user.username, details={"from": before, "to": user.roles},
                        now=now)


def set_active(session: Session, *, user: User, active: bool, by: User,
               now: datetime) -> None:
    """Let the user sign in and use the API, or not (signed out everywhere at once)."""
    if user.id == by.id and not active:
        raise InvalidForm([FieldProblem(
            "active", "You cannot deactivate your own account: ask another administrator.")])
    user.active = active
    if not active:
        end_all_sessions(session, user_id=user.id)
    session.flush()
    system_audit.record(session, actor=by.username,
                        action="reactivate_user" if active else "deactivate_user",
                        subject=user.username, now=now)


# --- signing in ---------------------------------------------------------------------------------


def authenticate(session: Session, *, username: str, password: str, now: datetime,
                 max_failed: int = MAX_FAILED_SIGN_INS, lockout: timedelta = LOCKOUT) -> User:
    """The user, if the password is right and the account is not locked.

    Each attempt is counted as a failure before its password is checked, by one conditional
    UPDATE that only succeeds while the account has attempts left; a right password then clears
    the count. So however many guesses arrive at once, at most `max_failed` are ever checked
    before the lockout, and a locked account refuses even the right password. The count is
    written in a transaction of its own, committed at once, so that it holds whatever becomes
    of the request, and the row is locked only for that short UPDATE, never while argon2 works.
    """
    engine = session.get_bind()
    assert isinstance(engine, Engine), "authenticate needs a session bound to an engine"
    now = to_utc(now)
    refused = SignInRefused(refusal_message(lockout=lockout))
    not_locked = or_(User.locked_until.is_(None), User.locked_until <= now)
    # A full count on an account that is not locked is one whose lockout has run out.
    attempts = case((User.failed_sign_ins >= max_failed, 1), else_=User.failed_sign_ins + 1)
    with engine.begin() as connection:
        attempt = connection.execute(
            update(User).where(User.username == username.strip(), User.active.is_(True),
                               User.password_hash.is_not(None), not_locked)
            .values(failed_sign_ins=attempts,
                    locked_until=case((attempts >= max_failed, now + lockout), else_=None))
            .returning(User.id, User.password_hash)).first()
    if attempt is None:  # no such active user, or locked: the same answer, in the same time
        _hasher.hash(password)
        raise refused
    user_id, password_hash = attempt
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        raise refused from None
    cleared = {"failed_sign_ins": 0, "locked_until": None}
    if _hasher.check_needs_rehash(password_hash):
        cleared["password_hash"] = hash_password(password)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.id == user_id).values(**cleared))
    return session.get(User, user_id, populate_existing=True)


# --- API tokens ---------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, username: str, now: datetime,
                lifetime: timedelta = TOKEN_LIFETIME, label: str | None = None,
                actor: str | None = None) -> str:
    """A new API token for the user; the token itself is shown once and never stored. The
    issue is a system event by `actor`."""
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"There is no user '{username}'.")
    label = (label or "").strip() or None
    if label and len(label) > 100:
        raise InvalidForm([FieldProblem("label", "Describe the token in 100 characters or "
                                                 "fewer.")])
    token = secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_digest(token), label=label,
                   created_at=to_utc(now), expires_at=to_utc(now) + lifetime)
    session.add(row)
    session.flush()
    system_audit.record(session, actor=actor, action="issue_token", subject=username,
                        details={"token_id": row.id}, now=now)
    return token


def user_for_token(session: Session, token: str, *, now: datetime) -> User | None:
    """The active user a token belongs to, or None (unknown, expired or revoked)."""
    now = to_utc(now)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                              ApiToken.revoked_at.is_(None),
                                              ApiToken.expires_at > now)).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_used_at is None or now - to_utc(row.last_used_at) >= TOKEN_TOUCH_EVERY:
        row.last_used_at = now
    return user


def token_status(token: ApiToken, now: datetime) -> str:
    """Active, expired or revoked, as a person reads it."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if to_utc(token.expires_at) <= to_utc(now) else "active"


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    """The user's tokens, newest first (revoked and expired ones too, for the record)."""
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user.id)
                             .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all())


def revoke_token(session: Session, *, token_id: int, now: datetime,
                 owner: User | None = None, actor: str | None = None) -> ApiToken:
    """Stop a token working at once. With `owner`, only a token of that user can be revoked."""
    token = session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        raise NotFound(f"There is no API token {token_id}"
                       + (f" of {owner.username}." if owner is not None else "."))
    if token.revoked_at is None:
        token.revoked_at = to_utc(now)
        session.flush()
        system_audit.record(session, actor=actor, action="revoke_token",
                            subject=f"token {token.id}", details={"user_id": token.user_id},
                            now=now)
    return token
