"""Sign-in sessions end for good: a copied cookie stops working after sign-out, after an
administrator's change to the account, and after the idle and absolute timeouts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from ooc.settings import Settings
from tests.conftest import WORKFLOWS
from tests.support import PASSWORD
from tests.web_support import csrf_token, sign_in
from web.app import create_app

NEW_PASSWORD = "another-long-password-for-you"


def signed_in(client: TestClient) -> bool:
    return client.get("/account", follow_redirects=False).status_code == 200


def copy_of(client: TestClient, app) -> TestClient:
    """Another browser holding a copy of `client`'s session cookie."""
    thief = TestClient(app)
    thief.cookies.set("ooc_session", client.cookies["ooc_session"])
    return thief


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(client, app):
    token = sign_in(client, "case_manager")
    thief = copy_of(client, app)
    assert signed_in(thief)
    client.post("/sign-out", data={"csrf_token": token})
    assert not signed_in(thief)
    assert not signed_in(client)


def test_signing_out_one_browser_leaves_the_others_signed_in(client, app):
    with TestClient(app) as other:
        sign_in(other, "case_manager")
        token = sign_in(client, "case_manager")
        client.post("/sign-out", data={"csrf_token": token})
        assert signed_in(other)


@pytest.mark.parametrize(("change", "data"), [
    ("password", {"password": NEW_PASSWORD}),
    ("roles", {"roles": ["case_manager", "victim_worker"]}),
    ("active", {"active": "no"}),
    ("sign-out", {}),
])
def test_an_administrators_change_signs_the_user_out_everywhere(client, app, users, change,
                                                                 data):
    with TestClient(app) as worker, TestClient(app) as admin:
        sign_in(worker, "case_manager")
        thief = copy_of(worker, app)
        token = sign_in(admin, "admin")
        response = admin.post(f"/admin/users/{users['case_manager'].id}/{change}",
                              data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 303
        assert not signed_in(worker)
        assert not signed_in(thief)
        assert signed_in(admin)  # the administrator's own session is untouched


def test_the_user_can_sign_out_everywhere(client, app):
    with TestClient(app) as other:
        sign_in(other, "case_manager")
        token = sign_in(client, "case_manager")
        assert len(client.get("/account").context["sessions"]) == 2
        client.post("/account/sign-out-everywhere", data={"csrf_token": token})
        assert not signed_in(other)
        assert not signed_in(client)


@pytest.fixture
def timed_client(engine, registry, users, clock):
    """A browser on an application with the default session timeouts (the shared `app`
    fixture lifts them, for tests that move the clock on by days)."""
    def make(**timeouts):
        settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                            workflows_dir=WORKFLOWS, secret_key="test-secret-key", **timeouts)
        app = create_app(settings=settings, engine=engine, registry=registry,
                         clock=lambda: clock[0])
        return TestClient(app)
    return make


def test_an_idle_session_ends_after_the_idle_timeout(timed_client, clock):
    client = timed_client()
    sign_in(client, "case_manager")
    # In use every 20 minutes, the session outlives the 30-minute idle timeout...
    for _ in range(3):
        clock[0] += timedelta(minutes=20)
        assert signed_in(client)
    # ...but not 30 minutes of nothing.
    clock[0] += timedelta(minutes=30)
    response = client.get("/caseload", follow_redirects=False)
    assert response.headers["location"] == "/sign-in?next=/caseload"
    clock[0] -= timedelta(minutes=30)  # and going back does not bring it back
    assert not signed_in(client)


def test_a_busy_session_ends_at_its_lifetime(timed_client, clock):
    client = timed_client()
    sign_in(client, "case_manager")
    started = clock[0]
    while clock[0] + timedelta(minutes=20) < started + timedelta(hours=8):
        clock[0] += timedelta(minutes=20)
        assert signed_in(client)
    clock[0] = started + timedelta(hours=8)
    assert not signed_in(client)


def test_the_timeouts_are_settings(timed_client, clock):
    client = timed_client(session_idle=timedelta(minutes=5),
                          session_lifetime=timedelta(hours=1))
    sign_in(client, "case_manager")
    clock[0] += timedelta(minutes=4)
    assert signed_in(client)
    clock[0] += timedelta(minutes=5)
    assert not signed_in(client)
    sign_in(client, "case_manager")
    for _ in range(14):  # 56 minutes, never idle for 5
        clock[0] += timedelta(minutes=4)
        assert signed_in(client)
    clock[0] += timedelta(minutes=4)  # an hour since signing in
    assert not signed_in(client)


def test_signing_in_again_replaces_the_old_session(client, app):
    sign_in(client, "case_manager")
    before = copy_of(client, app)
    client.post("/sign-in", data={"username": "case_manager", "password": PASSWORD,
                                  "csrf_token": csrf_token(client)})
    assert signed_in(client)
    assert not signed_in(before)
