"""Signing in: the lockout holds however many guesses arrive at once, and never tells anyone
whether an account exists."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from ooc import accounts
from ooc.accounts import LOCKOUT, MAX_FAILED_SIGN_INS, SignInRefused, authenticate
from ooc.models import User
from tests.support import NOW, PASSWORD
from tests.web_support import csrf_token

GUESSES = 40


class CountingHasher:
    """The real password hasher, counting the passwords it checks against an account."""

    def __init__(self, real):
        self.real, self.checked, self.lock = real, 0, threading.Lock()

    def verify(self, password_hash, password):
        with self.lock:
            self.checked += 1
        return self.real.verify(password_hash, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


def _attempt(engine, password: str, now=NOW, username: str = "case_manager") -> str:
    # Each attempt in a session of its own, as each sign-in request has.
    with Session(engine) as session:
        try:
            authenticate(session, username=username, password=password, now=now)
        except SignInRefused as refusal:
            return refusal.message
        return "signed in"


def _user(engine, username: str = "case_manager") -> User:
    with Session(engine) as session:
        return session.exec(select(User).where(User.username == username)).one()


def test_parallel_guesses_check_no_more_passwords_than_the_limit_and_lock_the_account(
        engine, users, monkeypatch):
    hasher = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    start = threading.Barrier(GUESSES)

    def guess(n: int) -> str:
        start.wait()
        return _attempt(engine, f"wrong guess {n}")

    with ThreadPoolExecutor(GUESSES) as pool:
        answers = list(pool.map(guess, range(GUESSES)))
    assert answers == [accounts.refusal_message()] * GUESSES
    assert hasher.checked == MAX_FAILED_SIGN_INS  # the other guesses were never checked
    locked = _user(engine)
    assert locked.failed_sign_ins == MAX_FAILED_SIGN_INS
    assert locked.locked_until == NOW + LOCKOUT
    # Locked: even the right password is refused, until the lockout is over.
    assert _attempt(engine, PASSWORD, now=NOW + LOCKOUT - timedelta(seconds=1)) != "signed in"
    assert _attempt(engine, PASSWORD, now=NOW + LOCKOUT) == "signed in"
    assert (_user(engine).failed_sign_ins, _user(engine).locked_until) == (0, None)


def test_the_right_password_among_parallel_guesses_after_the_limit_is_refused(engine, users):
    for n in range(MAX_FAILED_SIGN_INS - 1):
        assert _attempt(engine, f"wrong {n}") != "signed in"
    start = threading.Barrier(10)

    def guess(password: str) -> str:
        start.wait()
        return _attempt(engine, password)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(guess, [f"wrong {n}" for n in range(9)] + [PASSWORD]))
    # One attempt was left: whichever took it, at most one of the ten was checked, and the
    # account is locked unless that one was the right password.
    signed_in = answers.count("signed in")
    assert signed_in <= 1
    assert (_user(engine).locked_until is None) == (signed_in == 1)


def test_a_locked_account_and_an_unknown_name_get_the_same_answer(engine, users):
    for n in range(MAX_FAILED_SIGN_INS):
        _attempt(engine, f"wrong {n}")
    locked = _attempt(engine, PASSWORD)
    unknown = _attempt(engine, PASSWORD, username="nobody_at_all")
    wrong = _attempt(engine, "wrong again", username="manager")
    assert locked == unknown == wrong == accounts.refusal_message()
    assert "locked" in locked  # it tells a locked-out person what may have happened


def test_the_lockout_follows_the_settings(engine, users):
    for n in range(2):
        with Session(engine) as session, pytest.raises(SignInRefused):
            authenticate(session, username="case_manager", password=f"wrong {n}", now=NOW,
                         max_failed=2, lockout=timedelta(minutes=1))
    assert _user(engine).locked_until == NOW + timedelta(minutes=1)


def test_the_sign_in_page_gives_one_message_for_every_refusal(client):
    def post(username: str, password: str):
        return client.post("/sign-in", data={"username": username, "password": password,
                                             "csrf_token": csrf_token(client)})

    for n in range(MAX_FAILED_SIGN_INS):
        post("case_manager", f"wrong {n}")
    locked, unknown = post("case_manager", PASSWORD), post("nobody_at_all", PASSWORD)
    assert locked.status_code == unknown.status_code == 401
    assert locked.context["problems"] == unknown.context["problems"]
