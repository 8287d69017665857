"""API tokens expire, can be listed and revoked by their owner and by an administrator, and
record when they were last used."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from ooc.accounts import TOKEN_LIFETIME, issue_token
from ooc.models import ApiToken
from tests.support import NOW
from tests.web_support import sign_in

ENDPOINT = "/api/v1/cases"


def new_token(session, username: str = "case_manager", **options) -> dict[str, str]:
    token = issue_token(session, username=username, now=NOW, **options)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def stored(session) -> list[ApiToken]:
    session.expire_all()
    return list(session.exec(select(ApiToken).order_by(ApiToken.id)).all())


def test_a_token_stops_working_when_it_expires(client, session, clock):
    headers = new_token(session)
    clock[0] = NOW + TOKEN_LIFETIME - timedelta(seconds=1)
    assert client.get(ENDPOINT, headers=headers).status_code == 200
    clock[0] = NOW + TOKEN_LIFETIME
    expired = client.get(ENDPOINT, headers=headers)
    assert expired.status_code == 401
    assert expired.json()["message"].startswith("Give a valid API token")


def test_a_token_may_be_issued_for_less_time(client, session, clock):
    headers = new_token(session, lifetime=timedelta(days=1))
    assert stored(session)[0].expires_at == NOW + timedelta(days=1)
    clock[0] = NOW + timedelta(days=1)
    assert client.get(ENDPOINT, headers=headers).status_code == 401


def test_only_a_digest_of_the_token_is_stored(session, users):
    token = issue_token(session, username="case_manager", now=NOW)
    session.commit()
    row = stored(session)[0]
    assert token not in (row.token_hash, row.label) and len(row.token_hash) == 64


def test_the_last_use_is_written_at_most_once_a_minute(client, session, clock):
    headers = new_token(session)
    assert stored(session)[0].last_used_at is None
    clock[0] = NOW + timedelta(hours=1)
    client.get(ENDPOINT, headers=headers)
    assert stored(session)[0].last_used_at == NOW + timedelta(hours=1)
    clock[0] += timedelta(seconds=30)
    client.get(ENDPOINT, headers=headers)
    assert stored(session)[0].last_used_at == NOW + timedelta(hours=1)
    clock[0] += timedelta(seconds=30)
    client.get(ENDPOINT, headers=headers)
    assert stored(session)[0].last_used_at == clock[0]


def test_the_user_lists_and_revokes_their_own_tokens(client, session, clock):
    headers = new_token(session, label="nightly import")
    other = new_token(session)
    clock[0] = NOW + timedelta(minutes=5)
    client.get(ENDPOINT, headers=headers)
    csrf = sign_in(client, "case_manager")
    page = client.get("/account")
    assert [t.label for t in page.context["tokens"]] == [None, "nightly import"]
    assert "nightly import" in page.text and "Revoke" in page.text
    first = stored(session)[0]
    response = client.post(f"/account/tokens/{first.id}/revoke", data={"csrf_token": csrf},
                           follow_redirects=False)
    assert response.status_code == 303
    assert client.get(ENDPOINT, headers=headers).status_code == 401
    assert client.get(ENDPOINT, headers=other).status_code == 200
    assert "Revoked" in client.get("/account").text


def test_nobody_revokes_another_users_token_from_their_own_page(client, session):
    headers = new_token(session, username="manager")
    csrf = sign_in(client, "case_manager")
    token_id = stored(session)[0].id
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert stored(session)[0].revoked_at is None
    assert client.get(ENDPOINT, headers=headers).status_code == 200


def test_an_administrator_lists_and_revokes_a_users_tokens(client, session, users):
    headers = new_token(session, label="case system link")
    csrf = sign_in(client, "admin")
    person = users["case_manager"].id
    page = client.get(f"/admin/users/{person}")
    assert "case system link" in page.text
    token_id = page.context["tokens"][0].id
    client.post(f"/admin/users/{person}/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert stored(session)[0].revoked_at == NOW
    assert client.get(ENDPOINT, headers=headers).status_code == 401
