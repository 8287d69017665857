"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server.

In CI (CI=true) a PostgreSQL test that cannot run is a failure, not a skip.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ooc.db import make_engine, upgrade_schema
from ooc.machine import WorkflowRegistry
from ooc.settings import Settings
from tests.pg_server import TemporaryPostgres, find_bindir
from tests.support import NOW, empty_database, make_users
from web.app import create_app

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
REQUIRE_SERVICES = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CI requires every real-service test to run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def registry() -> WorkflowRegistry:
    return WorkflowRegistry.from_folder(WORKFLOWS)


@pytest.fixture(scope="session")
def postgres_url():
    if os.environ.get("OOC_TEST_POSTGRES_URL"):
        yield os.environ["OOC_TEST_POSTGRES_URL"]
        return
    bindir = find_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries are not installed")
    server = TemporaryPostgres(bindir)
    try:
        url = server.start()
    except (RuntimeError, OSError, KeyError) as e:
        server.stop()
        unavailable(f"could not start PostgreSQL: {e}")
    yield url
    server.stop()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine(postgres_url):
    engine = make_engine(postgres_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request):
    """An empty database with the current schema, on each of the two databases."""
    engine = request.getfixturevalue(f"{request.param}_engine")
    empty_database(engine)
    return engine


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


@pytest.fixture
def users(session):
    users = make_users(session)
    session.commit()
    return users


@pytest.fixture
def clock():
    """The application's clock: a list holding "now", so a test can move time on."""
    return [NOW]


@pytest.fixture
def app(engine, registry, clock):
    # Tests move the clock on by days while signed in; the session timeouts, which would sign
    # them out, have tests of their own (tests/test_sign_in_sessions.py).
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        workflows_dir=WORKFLOWS, secret_key="test-secret-key",
                        session_idle=timedelta(days=3650),
                        session_lifetime=timedelta(days=3650))
    return create_app(settings=settings, engine=engine, registry=registry,
                      clock=lambda: clock[0])


@pytest.fixture
def client(app, users):
    with TestClient(app) as client:
        yield client
