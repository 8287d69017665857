"""The application factory. Configuration, the database and the clock are passed in."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from ooc.db import make_engine
from ooc.machine import WorkflowRegistry
from ooc.private import private_folder, write_private
from ooc.settings import PROJECT_ROOT, Settings
from web import errors
from web.deps import Services
from web.inputs import refuse_nul
from web.routes import (
    access_log,
    account,
    admin,
    api,
    auth,
    board,
    cases,
    figures,
    manager,
    panel,
    plan,
    quality,
    referrals,
    search,
    victims,
)
from web.security import SecurityHeaders

STATIC = Path(__file__).resolve().parent / "static"


def secret_key(settings: Settings) -> str:
    """OOC_SECRET_KEY, or a key kept in var/ so sessions survive a restart."""
    if settings.secret_key:
        return settings.secret_key
    path = PROJECT_ROOT / "var" / "secret_key"
    if not path.exists():
        private_folder(path.parent)
        write_private(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def create_app(*, settings: Settings | None = None, engine: Engine | None = None,
               registry: WorkflowRegistry | None = None,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    settings = settings or Settings.from_environ(os.environ)
    app = FastAPI(title="ooc", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(refuse_nul)])
    app.state.services = Services(
        settings=settings,
        engine=engine or make_engine(settings.database_url),
        registry=registry or WorkflowRegistry.from_folder(settings.workflows_dir),
        clock=clock or (lambda: datetime.now(UTC)),
    )
    # The cookie lives as long as a session may; whether the session is still open is the
    # database's answer (ooc.sign_in_sessions), checked on every request.
    app.add_middleware(SessionMiddleware, secret_key=secret_key(settings),
                       session_cookie="ooc_session",
                       max_age=int(settings.session_lifetime.total_seconds()),
                       same_site="lax", https_only=settings.cookies_https_only)
    app.add_middleware(SecurityHeaders, https=settings.https)
    if (STATIC / "govuk").exists():
        app.mount("/assets", StaticFiles(directory=STATIC / "govuk" / "assets"), name="assets")
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app)
    for area in (auth, account, cases, search, referrals, panel, manager, quality, victims, board,
                 figures, plan, admin, access_log):
        app.include_router(area.router)
    app.mount("/api/v1", api.create_api(app.state.services))
    return app
