"""Request-scoped dependencies: the database session, the signed-in user and the clock.

The session is the request's one unit of work: it commits once the route has answered without
an error, and rolls back if anything raised. Routes and everything below them only add and
flush; no route commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import FormData

from ooc.machine import WorkflowRegistry
from ooc.models import User
from ooc.settings import Settings
from ooc.sign_in_sessions import signed_in_user


@dataclass(frozen=True)
class Services:
    """What the application is built on; kept on `app.state.services`."""

    settings: Settings
    engine: Engine
    registry: WorkflowRegistry
    clock: Callable[[], datetime]


class SignInRequired(Exception):
    """No signed-in user for a page that needs one (answered with a redirect to sign in)."""


class Forbidden(Exception):
    """The signed-in user's roles do not allow this page."""

    def __init__(self, message: str = "You do not have access to this page."):
        super().__init__(message)
        self.message = message


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    # The commit is the request's last act, so nothing read before it needs reloading after.
    with Session(services.engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


# Ended when the route returns, before the response is sent: what the page says was saved is.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def posted_form(request: Request) -> FormData:
    """The request's form, read on the event loop, so that a route that uses the database can
    be a plain `def`, run in the thread pool. A route that used the database on the event loop
    stopped the whole process while it waited for a pooled connection or SQLite's write lock,
    and what would have freed them (other requests' commits) needs the event loop: under load
    (bench/web.py's open loop at 40 requests a second) every request then waited 30 s."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


# The key of the browser's sign-in session (ooc.sign_in_sessions), kept in the signed cookie.
SESSION_KEY = "sign_in"


def get_current_user(request: Request, session: SessionDep, services: ServicesDep) -> User:
    settings = services.settings
    user = signed_in_user(session, request.session.get(SESSION_KEY), now=services.clock(),
                          idle=settings.session_idle, lifetime=settings.session_lifetime)
    if user is None:
        request.session.clear()
        raise SignInRequired()
    # Kept apart from the unit of work, so that the navigation of an error page can still be
    # drawn after a rollback has expired everything the session holds.
    session.expunge(user)
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: str) -> Callable[[User], User]:
    """A dependency that lets in users holding any of `roles`."""

    def check(user: CurrentUser) -> User:
        if not set(user.roles) & set(roles):
            names = " or ".join(r.replace("_", " ") for r in roles)
            raise Forbidden(f"This page is for {names} users.")
        return user

    return check
