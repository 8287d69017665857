"""The administrator's pages: users and roles, deactivation, and the panel quorum rule."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from ooc.errors import GuardsFailed
from ooc.models import QuorumRule, User
from tests.support import NOW, Walker, decision, make_meeting
from tests.web_support import csrf_token, sign_in

NEW_PASSWORD = "a-brand-new-password"


def new_user(client, token, **overrides):
    form = {"csrf_token": token, "username": "newcomer", "display_name": "Nia Newcomer",
            "team": "North", "roles": ["case_manager", "victim_worker"],
            "password": NEW_PASSWORD}
    form.update(overrides)
    return client.post("/admin/users/new", data=form, follow_redirects=False)


def signs_in(app, username: str, password: str) -> bool:
    with TestClient(app) as other:
        response = other.post("/sign-in", data={"username": username, "password": password,
                                                "csrf_token": csrf_token(other)},
                              follow_redirects=False)
        return response.status_code == 303


def user(session, username: str) -> User:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).one()


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["board", "manager", "case_manager", "police"])
def test_only_admins_may_use_the_admin_pages(client, users, username):
    token = sign_in(client, username)
    for path in ("/admin", "/admin/users/new", f"/admin/users/{users['police'].id}",
                 "/admin/quorum/oocd"):
        assert client.get(path).status_code == 403, path
    refused = [new_user(client, token),
               client.post(f"/admin/users/{users['police'].id}/active",
                           data={"csrf_token": token, "active": "no"}),
               client.post("/admin/quorum/oocd", data={"csrf_token": token,
                                                       "agencies": ["police"],
                                                       "minimum_others": "0"})]
    assert [r.status_code for r in refused] == [403, 403, 403]


def test_the_admin_page_lists_users_roles_status_and_the_quorum_rule(client, session, users):
    users["victim_worker"].active = False
    session.commit()
    sign_in(client, "admin")
    page = client.get("/admin")
    assert page.status_code == 200
    assert [u.username for u in page.context["users"]] == sorted(u for u in users)
    assert "Panel chair, manager" in page.text  # chair_manager's roles
    assert "Deactivated" in page.text
    assert ("Police and Youth justice service must attend, and at least 2 of the 6 other "
            "agencies.") in page.text
    assert "The workflow file, oocd.v1.toml" in page.text


# --- users ------------------------------------------------------------------------------------


def test_a_user_added_by_an_admin_can_sign_in_with_their_roles(client, app, session):
    token = sign_in(client, "admin")
    response = new_user(client, token)
    assert (response.status_code, response.headers["location"]) == (303, "/admin")
    added = user(session, "newcomer")
    assert (added.display_name, added.team, added.roles) == (
        "Nia Newcomer", "North", ["case_manager", "victim_worker"])
    assert "newcomer can now sign in as case manager, victim worker." in client.get(
        "/admin").text
    assert signs_in(app, "newcomer", NEW_PASSWORD)


def test_each_problem_with_a_new_user_is_shown_and_nothing_is_saved(client, session):
    token = sign_in(client, "admin")
    response = new_user(client, token, username="no spaces!", roles=[], password="short")
    assert response.status_code == 422
    assert "There is a problem" in response.text
    for field in ("username", "roles", "password"):
        assert f'href="#{field}"' in response.text
    assert "The password must be at least 12 characters long." in response.text
    assert 'value="no spaces!"' in response.text  # what was typed is kept
    assert session.exec(select(User).where(User.username == "no spaces!")).first() is None


def test_a_username_cannot_be_taken_twice(client):
    token = sign_in(client, "admin")
    response = new_user(client, token, username="manager")
    assert response.status_code == 422
    assert "There is already a user called manager." in response.text


def test_an_admin_changes_someones_roles(client, app, session, users):
    token = sign_in(client, "admin")
    response = client.post(f"/admin/users/{users['police'].id}/roles",
                           data={"csrf_token": token, "roles": ["police", "board"]},
                           follow_redirects=False)
    assert response.status_code == 303
    assert user(session, "police").roles == ["police", "board"]
    with TestClient(app) as officer:
        sign_in(officer, "police")
        assert officer.get("/board").status_code == 200


def test_roles_cannot_all_be_taken_away(client, session, users):
    token = sign_in(client, "admin")
    response = client.post(f"/admin/users/{users['police'].id}/roles",
                           data={"csrf_token": token})
    assert response.status_code == 422
    assert "Choose at least one role." in response.text
    assert user(session, "police").roles == ["police"]


def test_an_admin_cannot_lock_themselves_out(client, session, users):
    token = sign_in(client, "admin")
    me = users["admin"].id
    refused = [client.post(f"/admin/users/{me}/roles",
                           data={"csrf_token": token, "roles": ["board"]}),
               client.post(f"/admin/users/{me}/active", data={"csrf_token": token,
                                                              "active": "no"})]
    assert [r.status_code for r in refused] == [422, 422]
    assert "You cannot take away your own admin role" in refused[0].text
    assert "You cannot deactivate your own account" in refused[1].text
    assert (user(session, "admin").roles, user(session, "admin").active) == (["admin"], True)


def test_a_deactivated_user_cannot_sign_in_and_is_signed_out(client, app, session, users):
    with TestClient(app) as worker:
        sign_in(worker, "victim_worker")
        assert worker.get("/", follow_redirects=False).headers["location"] == "/victims"
        token = sign_in(client, "admin")
        response = client.post(f"/admin/users/{users['victim_worker'].id}/active",
                               data={"csrf_token": token, "active": "no"},
                               follow_redirects=False)
        assert response.status_code == 303
        assert user(session, "victim_worker").active is False
        signed_out = worker.get("/", follow_redirects=False)
        assert signed_out.headers["location"].startswith("/sign-in")
    assert not signs_in(app, "victim_worker", "a-test-password-for-everyone")
    client.post(f"/admin/users/{users['victim_worker'].id}/active",
                data={"csrf_token": token, "active": "yes"})
    assert signs_in(app, "victim_worker", "a-test-password-for-everyone")


def test_a_new_password_works_and_unlocks_the_account(client, app, session, users):
    person = users["manager"]
    person.failed_sign_ins, person.locked_until = 0, NOW.replace(year=2030)
    session.commit()
    assert not signs_in(app, "manager", "a-test-password-for-everyone")
    token = sign_in(client, "admin")
    assert "Locked" in client.get("/admin").text
    short = client.post(f"/admin/users/{person.id}/password",
                        data={"csrf_token": token, "password": "short"})
    assert short.status_code == 422 and 'href="#password"' in short.text
    client.post(f"/admin/users/{person.id}/password",
                data={"csrf_token": token, "password": NEW_PASSWORD})
    assert signs_in(app, "manager", NEW_PASSWORD)


def test_an_unknown_user_is_a_404_page(client):
    sign_in(client, "admin")
    response = client.get("/admin/users/999")
    assert response.status_code == 404 and "There is no user 999." in response.text


def test_admin_forms_need_the_csrf_token(client, users):
    sign_in(client, "admin")
    response = client.post(f"/admin/users/{users['police'].id}/active", data={"active": "no"})
    assert response.status_code == 400


# --- the quorum rule --------------------------------------------------------------------------


def quorum_form(token, **overrides):
    form = {"csrf_token": token,
            "agencies": ["police", "yjs", "health", "education", "victim_service"],
            "required": ["police", "yjs", "victim_service"], "minimum_others": "1",
            "new_agency": ""}
    form.update(overrides)
    return form


def test_the_quorum_form_shows_the_rule_in_force(client):
    sign_in(client, "admin")
    page = client.get("/admin/quorum/oocd")
    assert page.status_code == 200
    values = page.context["values"]
    assert values["required"] == ["police", "yjs"] and values["minimum_others"] == "2"
    assert "The rule has not been changed" in page.text


def test_a_changed_rule_is_stored_with_who_and_when_and_decides_quorum(client, session,
                                                                          registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    token = sign_in(client, "admin")
    response = client.post("/admin/quorum/oocd", data=quorum_form(token), follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/admin")
    rule = session.exec(select(QuorumRule)).one()
    assert (rule.updated_by, rule.updated_at, rule.required, rule.minimum_others) == (
        "admin", NOW, ["police", "yjs", "victim_service"], 1)
    assert "Police, Youth justice service and Victim service must attend" in client.get(
        "/admin").text
    # A meeting recorded after the change: police, yjs, health, education (quorate by the file).
    meeting = make_meeting(session, walker.now.date(), now=walker.now)
    session.commit()
    with pytest.raises(GuardsFailed) as refused:
        walker.fire(case, "record_decision", "chair", decision(meeting.id))
    assert "Victim service did not attend" in " ".join(refused.value.reasons)
    history = client.get("/admin/quorum/oocd").text
    assert "Police, Youth justice service and Victim service must attend" in history


def test_each_problem_with_a_quorum_rule_is_shown_and_nothing_is_saved(client, session):
    token = sign_in(client, "admin")
    response = client.post("/admin/quorum/oocd", data=quorum_form(
        token, agencies=["police", "health"], required=["police", "yjs"],
        minimum_others="two"))
    assert response.status_code == 422
    for field in ("required", "minimum_others"):
        assert f'href="#{field}"' in response.text
    assert "Youth justice service must attend, so it must also be one of the agencies." in (
        response.text)
    assert session.exec(select(QuorumRule)).first() is None
    empty = client.post("/admin/quorum/oocd", data=quorum_form(token, agencies=[], required=[]))
    assert 'href="#agencies"' in empty.text


def test_an_agency_is_added_by_name(client, session):
    token = sign_in(client, "admin")
    client.post("/admin/quorum/oocd", data=quorum_form(token, new_agency="Housing"))
    page = client.get("/admin/quorum/oocd")
    assert {"value": "housing", "text": "Housing", "checked": True} in page.context[
        "agency_items"]
    again = client.post("/admin/quorum/oocd", data=quorum_form(token, new_agency="Housing"))
    assert again.status_code == 422
    assert "There is already an agency called Housing." in again.text
