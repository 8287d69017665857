"""A database that cannot be reached is a 503 that says the request may not have been saved,
never a 500 claiming that nothing was (web/errors.py)."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from ooc.db import make_engine
from ooc.settings import Settings
from tests.conftest import WORKFLOWS
from tests.support import NOW
from tests.web_support import csrf_token, sign_in
from web import errors
from web.app import create_app

MESSAGE = ("We could not reach the database. Your request may not have been saved: check "
           "before trying again.")


def app_on(engine, registry):
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        workflows_dir=WORKFLOWS, secret_key="test-secret-key")
    return create_app(settings=settings, engine=engine, registry=registry, clock=lambda: NOW)


def unreachable_engine(kind: str, tmp_path):
    if kind == "sqlite":
        # The database's folder is gone: SQLite cannot open (or create) the file.
        folder = tmp_path / "gone"
        engine = make_engine(f"sqlite:///{folder / 'ooc.db'}")
        shutil.rmtree(folder)
        return engine
    return make_engine("postgresql+psycopg://ooc@127.0.0.1:1/ooc",
                       connect_args={"connect_timeout": 2})


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql",
                                                         marks=pytest.mark.postgres)])
def test_a_database_that_is_down_is_a_503_saying_the_request_may_not_be_saved(
        kind, tmp_path, registry):
    engine = unreachable_engine(kind, tmp_path)
    with TestClient(app_on(engine, registry), raise_server_exceptions=False) as client:
        api = client.get("/api/v1/cases", headers={"Authorization": "Bearer some-token"})
        assert api.status_code == 503
        assert api.json()["message"] == MESSAGE
        page = client.post("/sign-in", data={"username": "case_manager", "password": "x",
                                             "csrf_token": csrf_token(client)})
        assert page.status_code == 503
        assert MESSAGE in page.text
        assert "Nothing you sent was saved" not in page.text
    engine.dispose()


def test_a_database_that_goes_down_during_a_session_is_a_503_on_the_page(app, users, tmp_path):
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, "case_manager")
        # Services is frozen: the engine is swapped as an outage would, behind its back.
        object.__setattr__(app.state.services, "engine", unreachable_engine("sqlite", tmp_path))
        response = client.get("/caseload")
        assert response.status_code == 503
        assert MESSAGE in response.text


def raising(exc: Exception) -> TestClient:
    """A bare application with ooc's error handling whose one endpoint raises `exc`."""
    app = FastAPI()
    errors.install(app)

    @app.get("/api/v1/boom")
    def boom():
        raise exc

    return TestClient(app, raise_server_exceptions=False)


def test_sqlite_locked_for_too_long_is_a_503_too():
    locked = OperationalError("UPDATE cases ...", {}, sqlite3.OperationalError(
        "database is locked"))
    response = raising(locked).get("/api/v1/boom")
    assert response.status_code == 503
    assert response.json()["message"] == MESSAGE


def test_a_value_the_database_refuses_is_a_422_and_a_race_it_catches_a_409():
    too_long = DataError("INSERT ...", {}, Exception("value too long for type character "
                                                      "varying(64)"))
    response = raising(too_long).get("/api/v1/boom")
    assert response.status_code == 422
    assert "cannot be stored" in response.json()["message"]
    raced = IntegrityError("INSERT ...", {}, Exception("duplicate key value"))
    response = raising(raced).get("/api/v1/boom")
    assert response.status_code == 409
    assert "at the same moment" in response.json()["message"]
