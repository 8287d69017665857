"""Every route × every role: who gets in and who does not.

The table below is the access policy. A route the application serves that the table does not
list fails the test, so nobody can add a page without deciding who may use it.
"""

from __future__ import annotations

import pytest
from starlette.routing import Mount

from ooc.accounts import issue_token
from tests.support import NOW, Walker
from tests.web_support import sign_in

CASE_VIEWERS = {"case_manager", "manager", "chair", "victim_worker"}
EVERYONE = {"police", "case_manager", "manager", "chair", "victim_worker", "board", "admin",
            "data_protection"}

# (method, path): the users (one per role, see tests/support.USERS) who may use it.
PAGES = {
    ("GET", "/"): EVERYONE,
    ("GET", "/caseload"): {"case_manager"},
    ("GET", "/cases/{case_id}"): CASE_VIEWERS,
    ("GET", "/cases/{case_id}/print"): CASE_VIEWERS,
    # Who viewed a case: managers (their team's cases) and data protection (any case).
    ("GET", "/cases/{case_id}/views"): {"manager", "data_protection"},
    ("GET", "/access-log"): {"manager", "data_protection"},
    ("GET", "/cases/{case_id}/actions/{trigger}"): CASE_VIEWERS,
    ("POST", "/cases/{case_id}/actions/{trigger}"): CASE_VIEWERS,
    ("GET", "/referrals/new"): {"police", "case_manager"},
    ("POST", "/referrals/new"): {"police", "case_manager"},
    ("GET", "/referrals/{case_id}/received"): {"police", "case_manager"},
    ("GET", "/referrals/upload"): {"police", "case_manager"},
    ("POST", "/referrals/upload"): {"police", "case_manager"},
    ("GET", "/referrals/upload/template.csv"): {"police", "case_manager"},
    ("GET", "/referrals/mine"): {"police"},
    ("GET", "/search"): CASE_VIEWERS,
    ("POST", "/search"): CASE_VIEWERS,
    ("GET", "/panel"): {"chair"},
    ("GET", "/panel/meetings/new"): {"chair"},
    ("POST", "/panel/meetings/new"): {"chair"},
    ("GET", "/panel/meetings/{meeting_id}"): {"chair"},
    ("GET", "/manager"): {"manager"},
    ("GET", "/victims"): {"victim_worker"},
    ("GET", "/quality"): {"manager"},
    ("POST", "/quality/{quarter}/sample"): {"manager"},
    ("GET", "/quality/audits/{audit_id}"): {"manager"},
    ("POST", "/quality/audits/{audit_id}"): {"manager"},
    ("GET", "/board"): {"board", "manager", "admin"},
    ("GET", "/board/figures"): {"board", "manager", "admin"},
    ("GET", "/board/pack"): {"board", "manager", "admin"},
    ("GET", "/board/figures/{figure_id}/cases"): {"manager"},
    ("GET", "/plan"): {"board", "manager", "admin"},
    ("POST", "/plan/ratings"): {"manager", "admin"},
    ("POST", "/plan/objectives"): {"manager", "admin"},
    ("GET", "/plan/objectives/{objective_id}/actions/new"): {"manager", "admin"},
    ("POST", "/plan/objectives/{objective_id}/actions/new"): {"manager", "admin"},
    ("GET", "/plan/actions/{action_id}"): {"manager", "admin"},
    ("POST", "/plan/actions/{action_id}"): {"manager", "admin"},
    ("GET", "/referrals/uploads/{job_id}"): {"police", "case_manager", "admin"},
    ("GET", "/admin"): {"admin"},
    ("GET", "/admin/users/new"): {"admin"},
    ("POST", "/admin/users/new"): {"admin"},
    ("GET", "/admin/users/{user_id}"): {"admin"},
    ("POST", "/admin/users/{user_id}/roles"): {"admin"},
    ("POST", "/admin/users/{user_id}/password"): {"admin"},
    ("POST", "/admin/users/{user_id}/active"): {"admin"},
    ("POST", "/admin/users/{user_id}/sign-out"): {"admin"},
    ("POST", "/admin/users/{user_id}/tokens/{token_id}/revoke"): {"admin"},
    ("GET", "/account"): EVERYONE,
    ("POST", "/account/sign-out-everywhere"): EVERYONE,
    ("POST", "/account/tokens/{token_id}/revoke"): EVERYONE,
    ("GET", "/admin/quorum/{workflow}"): {"admin"},
    ("POST", "/admin/quorum/{workflow}"): {"admin"},
}
# Open to anyone, signed in or not.
PUBLIC = {("GET", "/sign-in"), ("POST", "/sign-in"), ("POST", "/sign-out")}

API = {
    ("POST", "/referrals"): {"police", "case_manager"},
    ("GET", "/cases"): CASE_VIEWERS,
    ("GET", "/cases/{case_id}"): CASE_VIEWERS,
    ("POST", "/cases/{case_id}/transitions"): CASE_VIEWERS,
    ("GET", "/cases/{case_id}/audit"): CASE_VIEWERS,
}
API_PUBLIC = {("GET", "/openapi.json"), ("GET", "/docs")}


def _routes(app) -> set[tuple[str, str]]:
    """Every (method, path) the application serves, from its own OpenAPI description."""
    return {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
            for method in operations}


def _api_app(app):
    return next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1")


def test_every_route_has_an_access_rule(app):
    assert _routes(app) - PUBLIC == set(PAGES)
    assert _routes(_api_app(app)) - API_PUBLIC == set(API)


@pytest.fixture
def ids(session, registry, users):
    walker = Walker(session, registry, users)
    # A case every case-viewing role's work reaches: it has a victim, and is before a panel.
    case = walker.create(has_victim=True)
    walker.to(case, "ready_for_panel")
    meeting = walker.quorate_meeting()
    return {"case_id": case.id, "trigger": "take_case", "meeting_id": meeting.id,
            "user_id": users["board"].id, "workflow": "oocd", "figure_id": "T1",
            "quarter": "2026-01-01", "audit_id": 1, "objective_id": 1, "action_id": 1,
            "token_id": 1, "job_id": 1}


def _request(client, method: str, path: str, ids: dict):
    # Forms are sent with a wrong CSRF token: a role that gets past the access check is then
    # refused with 400 and nothing is written, so walking every route changes nothing.
    url = path.format(**ids)
    if method == "GET":
        return client.get(url, follow_redirects=False)
    return client.post(url, data={"csrf_token": "not-the-right-token"}, follow_redirects=False)


def test_signed_out_visitors_are_sent_to_sign_in(client, ids):
    for method, path in sorted(PAGES):
        response = _request(client, method, path, ids)
        assert response.status_code == 303, f"{method} {path} answered a signed-out visitor"
        assert response.headers["location"].startswith("/sign-in")


@pytest.mark.parametrize("username", sorted(EVERYONE))
def test_pages_let_in_exactly_the_roles_allowed(client, ids, username):
    sign_in(client, username)
    wrong = []
    for (method, path), allowed in sorted(PAGES.items()):
        status = _request(client, method, path, ids).status_code
        if username in allowed and status in (401, 403) or (
                username not in allowed and status != 403):
            wrong.append(f"{method} {path}: {status}")
        if method == "POST" and username in allowed:
            assert status == 400, f"{method} {path} accepted a wrong CSRF token: {status}"
    assert wrong == [], f"{username} was let in or kept out wrongly"


@pytest.mark.parametrize(("method", "path"), sorted(API))
def test_the_api_lets_in_exactly_the_roles_allowed(client, session, ids, method, path):
    tokens = {u: issue_token(session, username=u, now=NOW) for u in EVERYONE}
    session.commit()
    url = "/api/v1" + path
    assert _request(client, method, url, ids).status_code == 401
    for username, token in sorted(tokens.items()):
        headers = {"Authorization": f"Bearer {token}"}
        response = (client.get(url.format(**ids), headers=headers) if method == "GET" else
                    client.post(url.format(**ids), headers=headers, json={}))
        if username in API[(method, path)]:
            assert response.status_code not in (401, 403), (
                f"{username} was refused {method} {path}: {response.text}")
        else:
            assert response.status_code == 403, (
                f"{username} got {response.status_code} for {method} {path}")
