"""Changes to people and settings are audited (issue 12, point 5): each administrator's change
made in the pages, and each made on the command line, is a system event naming who made it,
what changed and when, in one hash chain that `ooc audit verify` checks."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from ooc.cli import app
from ooc.models import SystemEvent, User
from ooc.system_audit import verify_system_chain
from tests.support import NOW, PASSWORD
from tests.web_support import sign_in

NEW_PASSWORD = "a-brand-new-password"


def events(session) -> list[tuple]:
    session.expire_all()
    return [(e.seq, e.actor, e.action, e.subject, e.details, e.at)
            for e in session.exec(select(SystemEvent).order_by(SystemEvent.seq))]


def test_an_administrators_changes_are_system_events_with_who_and_when(client, session,
                                                                       users):
    token = sign_in(client, "admin")
    created = client.post("/admin/users/new", data={
        "csrf_token": token, "username": "newcomer", "display_name": "Nia Newcomer",
        "team": "North", "roles": ["case_manager"], "password": NEW_PASSWORD},
        follow_redirects=False)
    assert created.status_code == 303
    person = session.exec(select(User).where(User.username == "newcomer")).one()
    for path, data in [("roles", {"roles": ["case_manager", "manager"]}),
                       ("password", {"password": NEW_PASSWORD + "!"}),
                       ("active", {"active": "no"})]:
        response = client.post(f"/admin/users/{person.id}/{path}",
                               data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 303, path
    changed = client.post("/admin/quorum/oocd", data={
        "csrf_token": token, "agencies": ["police", "yjs", "health"],
        "required": ["police", "yjs"], "minimum_others": "1"}, follow_redirects=False)
    assert changed.status_code == 303

    assert events(session) == [
        (1, "admin", "add_user", "newcomer",
         {"roles": ["case_manager"], "team": "North", "display_name": "Nia Newcomer"}, NOW),
        (2, "admin", "change_roles", "newcomer",
         {"from": ["case_manager"], "to": ["case_manager", "manager"]}, NOW),
        (3, "admin", "reset_password", "newcomer", {}, NOW),
        (4, "admin", "deactivate_user", "newcomer", {}, NOW),
        (5, "admin", "change_quorum", "oocd",
         {"agencies": [{"code": "police", "label": "Police"},
                       {"code": "yjs", "label": "Youth justice service"},
                       {"code": "health", "label": "Health"}],
          "required": ["police", "yjs"], "minimum_others": 1}, NOW),
    ]
    assert verify_system_chain(session)[:2] == (5, [])


def test_a_refused_change_leaves_no_system_event(client, session, users):
    token = sign_in(client, "admin")
    response = client.post(f"/admin/users/{users['admin'].id}/active",
                           data={"csrf_token": token, "active": "no"})
    assert response.status_code == 422
    assert events(session) == []


@pytest.fixture
def cli_env(engine, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


def test_users_and_tokens_made_on_the_command_line_are_system_events(cli_env, session, users):
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "sam", "--role", "manager", "--password-stdin"],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    token = runner.invoke(app, ["users", "token", "sam"])
    assert token.exit_code == 0, token.output
    recorded = events(session)
    assert [(seq, action, subject) for seq, _, action, subject, _, _ in recorded] == [
        (1, "add_user", "sam"), (2, "issue_token", "sam")]
    assert all(actor.startswith("command line (") for _, actor, *_ in recorded)
    assert "token_id" in recorded[1][4]
