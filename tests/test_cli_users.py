"""`ooc users add`, `ooc users token` and the demo-account warning of `ooc serve`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from ooc.accounts import SignInRefused, authenticate, user_for_token
from ooc.cli import app
from ooc.models import ApiToken, SignInSession, User
from ooc.sign_in_sessions import start_session
from tests.support import NOW

runner = CliRunner()
PASSWORD = "correct-horse-battery"


@pytest.fixture
def cli_env(engine, monkeypatch):
    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return engine


def ooc(*args: str, stdin: str | None = None):
    result = runner.invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output
    return result


def usernames(session) -> list[str]:
    session.expire_all()
    return sorted(session.exec(select(User.username)).all())


# --- users add --------------------------------------------------------------------------------


def test_users_add_creates_a_user_who_can_sign_in(cli_env, session):
    result = ooc("users", "add", "jo.bloggs", "--role", "manager", "--role", "panel_chair",
                 "--name", "Jo Bloggs", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Created user jo.bloggs (manager, panel_chair).\n"
    user = authenticate(session, username="jo.bloggs", password=PASSWORD, now=NOW)
    assert (user.display_name, user.roles, user.is_demo) == ("Jo Bloggs",
                                                             ["manager", "panel_chair"], False)
    with pytest.raises(SignInRefused):
        authenticate(session, username="jo.bloggs", password="not-the-password", now=NOW)


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--role", "manager"], "short\n", "The password must be at least 12 characters long."),
    (["--role", "wizard"], PASSWORD + "\n",
     "Give one or more roles from: police, case_manager, panel_chair, manager, victim_worker, "
     "board, admin, data_protection ('wizard' is not one)."),
])
def test_users_add_refuses_a_weak_password_or_an_unknown_role(cli_env, session, args, stdin,
                                                              message):
    result = ooc("users", "add", "sam", *args, "--password-stdin", stdin=stdin)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.startswith("Error: Some of the information is missing or not valid.")
    assert usernames(session) == []


def test_users_add_refuses_a_name_already_taken(cli_env, session):
    assert ooc("users", "add", "sam", "--role", "police", "--password-stdin",
               stdin=PASSWORD + "\n").exit_code == 0
    again = ooc("users", "add", "sam", "--role", "admin", "--password-stdin",
                stdin="another-long-password\n")
    assert again.exit_code == 1
    assert "There is already a user called sam." in again.stderr
    session.expire_all()
    sam = session.exec(select(User).where(User.username == "sam")).one()
    assert sam.roles == ["police"]


def test_users_add_wants_the_password_on_standard_input(cli_env, session):
    result = ooc("users", "add", "sam", "--role", "police")
    assert result.exit_code == 1
    assert "give the password on standard input with --password-stdin" in result.stderr
    assert usernames(session) == []


# --- users token ------------------------------------------------------------------------------


def test_users_token_prints_a_token_that_finds_the_user(cli_env, session, users):
    first = ooc("users", "token", "case_manager")
    assert first.exit_code == 0
    token = first.stdout.splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    found = user_for_token(session, token, now=datetime.now(UTC))
    assert found is not None and found.username == "case_manager"
    second = ooc("users", "token", "case_manager").stdout.splitlines()[-1]
    assert second != token
    assert user_for_token(session, second, now=datetime.now(UTC)).username == "case_manager"
    assert user_for_token(session, token + "x", now=datetime.now(UTC)) is None


def test_users_token_for_an_unknown_user_is_an_error(cli_env, session, users):
    result = ooc("users", "token", "nobody")
    assert result.exit_code == 1
    assert "There is no user 'nobody'." in result.stderr
    assert result.stdout == ""


def test_users_token_takes_a_lifetime_and_a_label(cli_env, session, users):
    result = ooc("users", "token", "case_manager", "--days", "7", "--label", "nightly import")
    assert result.exit_code == 0, result.output
    session.expire_all()
    row = session.exec(select(ApiToken)).one()
    assert (row.label, row.expires_at - row.created_at) == ("nightly import", timedelta(days=7))


def test_users_tokens_lists_them_and_revoke_token_stops_one(cli_env, session, users):
    kept = ooc("users", "token", "case_manager", "--label", "kept").stdout.splitlines()[-1]
    gone = ooc("users", "token", "case_manager", "--label", "gone").stdout.splitlines()[-1]
    now = datetime.now(UTC)
    user_for_token(session, kept, now=now)
    session.commit()
    listing = ooc("users", "tokens", "case_manager")
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert "gone; issued" in lines[1] and "last used never" in lines[1]
    assert "kept; issued" in lines[2] and "last used never" not in lines[2]
    assert all(" active " in line for line in lines[1:])
    gone_id = lines[1].split()[0]
    revoked = ooc("users", "revoke-token", gone_id)
    assert (revoked.exit_code, revoked.stdout) == (0, f"API token {gone_id} is revoked.\n")
    session.expire_all()
    assert user_for_token(session, gone, now=now) is None
    assert user_for_token(session, kept, now=now).username == "case_manager"
    assert " revoked " in ooc("users", "tokens", "case_manager").stdout.splitlines()[1]
    missing = ooc("users", "revoke-token", "999")
    assert (missing.exit_code, missing.stderr) == (1, "Error: There is no API token 999.\n")


def test_users_tokens_of_someone_without_any(cli_env, session, users):
    assert ooc("users", "tokens", "manager").stdout == "manager has no API tokens.\n"
    assert ooc("users", "tokens", "nobody").exit_code == 1


def test_users_sign_out_ends_every_session_of_the_user(cli_env, session, users):
    for _ in range(2):
        start_session(session, user=users["manager"], now=datetime.now(UTC),
                      idle=timedelta(minutes=30), lifetime=timedelta(hours=8))
    session.commit()
    result = ooc("users", "sign-out", "manager")
    assert result.stdout == "manager is signed out everywhere (2 sessions ended).\n"
    session.expire_all()
    assert session.exec(select(SignInSession)).all() == []


def test_a_bad_setting_is_a_clear_error(cli_env, monkeypatch, users):
    monkeypatch.setenv("OOC_TOKEN_DAYS", "ninety")
    result = ooc("users", "token", "manager")
    assert result.exit_code == 1
    assert result.stderr == "Error: OOC_TOKEN_DAYS must be a whole number of 1 or more, not " \
                            "'ninety'.\n"


# --- serve ------------------------------------------------------------------------------------


@pytest.fixture
def uvicorn_calls(monkeypatch):
    """Record what `ooc serve` would run instead of starting a server."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


def test_serve_warns_loudly_when_demo_accounts_are_present(cli_env, session, users,
                                                           uvicorn_calls):
    session.add(User(username="demo_police", display_name="Demo police", roles=["police"],
                     is_demo=True))
    session.commit()
    result = ooc("serve", "--host", "127.0.0.1", "--port", "8123")
    assert result.exit_code == 0
    assert "WARNING: this database has 1 DEMO ACCOUNTS with a published password." \
        in result.stderr
    assert "Never use it for real cases." in result.stderr
    assert "ooc is running at http://127.0.0.1:8123/" in result.stdout
    assert len(uvicorn_calls) == 1
    args, kwargs = uvicorn_calls[0]
    assert args == ("web.main:app",)
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 8123)


def test_serve_does_not_warn_without_demo_accounts(cli_env, users, uvicorn_calls):
    result = ooc("serve")
    assert result.exit_code == 0
    assert "WARNING" not in result.output and "DEMO" not in result.output
    assert uvicorn_calls[0][1]["host"] == "127.0.0.1" and uvicorn_calls[0][1]["port"] == 8000


def test_serve_with_workers_turns_nagle_off(cli_env, users, monkeypatch):
    """uvicorn binds the socket of several workers without TCP_NODELAY (asyncio sets it only on
    sockets it binds): without it a page waited 40 ms for the client's delayed ACK."""
    import socket

    from uvicorn import supervisors

    sockets = []

    class Supervisor:
        def __init__(self, config, sockets: list) -> None:
            self.sockets = sockets

        def run(self) -> None:
            sockets.extend(self.sockets)

    monkeypatch.setattr(supervisors, "Multiprocess", Supervisor)
    result = ooc("serve", "--port", "0", "--workers", "2")
    assert result.exit_code == 0, result.output
    try:
        assert sockets[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sockets[0].close()
