"""Helpers for testing pages: signing in through the real form and reading CSRF tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.support import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: TestClient, path: str = "/sign-in") -> str:
    """The session's CSRF token, read from a form on `path`."""
    match = CSRF.search(client.get(path, follow_redirects=True).text)
    assert match, f"no form with a CSRF token on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the sign-in form; returns the new session's CSRF token."""
    response = client.post("/sign-in", data={"username": username, "password": PASSWORD,
                                             "csrf_token": csrf_token(client)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_token(client)
