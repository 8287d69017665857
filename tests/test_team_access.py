"""Access by team: a case belongs to the team of its case manager. Case managers and managers
work on their team's cases and on new referrals nobody has taken; panel chairs on cases listed
for or decided at a panel; victim workers on cases with a victim. Every refusal says why."""

from __future__ import annotations

import pytest

from ooc.accounts import issue_token
from ooc.models import User
from tests.support import NOW, PASSWORD, Walker, _password_hash, assessment
from tests.web_support import sign_in

TEAMS = {"north_cm": (["case_manager"], "North"), "north_manager": (["manager"], "North"),
         "south_cm": (["case_manager"], "South"), "south_manager": (["manager"], "South")}


@pytest.fixture
def teams(session, users):
    people = {name: User(username=name, display_name=name.replace("_", " ").title(),
                         roles=roles, team=team, password_hash=_password_hash())
              for name, (roles, team) in TEAMS.items()}
    session.add_all(people.values())
    session.commit()
    return {**users, **people}


@pytest.fixture
def north_case(session, registry, teams):
    walker = Walker(session, registry, teams)
    case = walker.create(police_reference="TEST/NORTH")
    walker.fire(case, "take_case", "north_cm")
    return case


CASE_PAGES = ["/cases/{id}", "/cases/{id}/print", "/cases/{id}/actions/submit_assessment"]


def test_a_case_manager_of_another_team_is_refused_with_the_reason(client, north_case):
    sign_in(client, "south_cm")
    for path in CASE_PAGES:
        page = client.get(path.format(id=north_case.id))
        assert page.status_code == 403, path
        assert ("You cannot open this case: it belongs to the North team, and you work in the "
                "South team.") in page.text
    sent = client.post(f"/cases/{north_case.id}/actions/submit_assessment",
                       data={"csrf_token": sign_in(client, "south_cm"), **assessment()})
    assert sent.status_code == 403


def test_the_team_sees_and_works_on_its_case(client, session, north_case):
    for username in ("north_cm", "north_manager"):
        client.cookies.clear()
        sign_in(client, username)
        assert client.get(f"/cases/{north_case.id}").status_code == 200, username
    client.cookies.clear()
    token = sign_in(client, "north_cm")
    sent = client.post(f"/cases/{north_case.id}/actions/submit_assessment",
                       data={"csrf_token": token, **assessment()}, follow_redirects=False)
    assert sent.status_code == 303
    session.expire_all()
    assert north_case.state == "awaiting_countersignature"


def test_managers_queues_hold_only_their_teams_work(client, session, registry, teams,
                                                    north_case):
    Walker(session, registry, teams).fire(north_case, "submit_assessment", "north_cm",
                                          assessment())
    sign_in(client, "north_manager")
    north = client.get("/manager").context["queues"][0]["rows"]
    assert [r["case"].id for r in north] == [north_case.id]
    client.cookies.clear()
    sign_in(client, "south_manager")
    assert client.get("/manager").context["queues"][0]["rows"] == []
    assert client.get(f"/cases/{north_case.id}").status_code == 403


def test_a_new_referral_is_open_to_every_case_manager_until_taken(client, session, registry,
                                                                  teams):
    case = Walker(session, registry, teams).create(police_reference="TEST/NEW")
    for username in ("north_cm", "south_cm"):
        client.cookies.clear()
        sign_in(client, username)
        assert client.get(f"/cases/{case.id}").status_code == 200


def test_victim_workers_and_panel_chairs_reach_the_cases_their_work_needs(
        client, session, registry, teams):
    walker = Walker(session, registry, teams)
    quiet = walker.create(police_reference="TEST/NOVICTIM")
    with_victim = walker.create(police_reference="TEST/VICTIM", has_victim=True)
    walker.to(quiet, "assessing")
    sign_in(client, "victim_worker")
    assert client.get(f"/cases/{with_victim.id}").status_code == 200
    refused = client.get(f"/cases/{quiet.id}")
    assert refused.status_code == 403 and "it has no identified victim" in refused.text
    client.cookies.clear()
    sign_in(client, "chair")
    refused = client.get(f"/cases/{quiet.id}")
    assert refused.status_code == 403 and "it has not been listed for a panel" in refused.text
    walker.fire(quiet, "submit_assessment", "case_manager", assessment())
    walker.fire(quiet, "countersign", "manager")
    assert client.get(f"/cases/{quiet.id}").status_code == 200  # listed for panel now


def test_the_api_keeps_to_the_same_rule(client, session, north_case):
    tokens = {u: issue_token(session, username=u, now=NOW) for u in ("north_cm", "south_cm")}
    session.commit()

    def get(username, path):
        return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {tokens[username]}"})

    assert get("north_cm", f"/cases/{north_case.id}").status_code == 200
    refused = get("south_cm", f"/cases/{north_case.id}")
    assert refused.status_code == 403 and "belongs to the North team" in refused.json()["message"]
    assert get("south_cm", f"/cases/{north_case.id}/audit").status_code == 403
    assert [c["id"] for c in get("north_cm", "/cases").json()["items"]] == [north_case.id]
    assert get("south_cm", "/cases").json()["items"] == []
    fired = client.post(f"/api/v1/cases/{north_case.id}/transitions",
                        headers={"Authorization": f"Bearer {tokens['south_cm']}"},
                        json={"trigger": "submit_assessment", "data": assessment()})
    assert fired.status_code == 403


assert PASSWORD  # the teams sign in with the shared test password


def test_a_search_finds_only_the_cases_the_searchers_work_reaches(client, north_case):
    for username, found in (("north_cm", [north_case.id]), ("south_cm", [])):
        client.cookies.clear()
        token = sign_in(client, username)
        results = client.post("/search", data={"csrf_token": token, "name": "Alex"},
                              follow_redirects=True)
        assert [c.id for c in results.context["results"].cases] == found, username


def test_every_child_the_api_lists_is_a_view_in_the_access_log(client, session, north_case):
    from sqlmodel import select

    from ooc.models import AccessLog

    token = issue_token(session, username="north_cm", now=NOW)
    session.commit()
    listed = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert [c["id"] for c in listed.json()["items"]] == [north_case.id]
    session.expire_all()
    views = session.exec(select(AccessLog.username, AccessLog.case_id, AccessLog.view)).all()
    assert [tuple(v) for v in views] == [("north_cm", north_case.id, "api case list")]


@pytest.mark.parametrize("username", ["south_cm", "south_manager", "north_cm", "north_manager"])
def test_every_route_of_a_case_keeps_to_the_team(client, session, north_case, username):
    """Every page and API route that names a case, for a case manager and a manager of each
    team: the other team is refused (403), the case's own team is let in."""
    from tests.test_access import API, PAGES, _request

    ids = {"case_id": north_case.id, "trigger": "submit_assessment"}
    token = issue_token(session, username=username, now=NOW)
    session.commit()
    sign_in(client, username)
    ours = username.startswith("north")
    wrong = []

    def check(what: str, response) -> None:
        kept_out = response.status_code == 403 and "belongs to the North team" in response.text
        if kept_out == ours:
            wrong.append(f"{what}: {response.status_code}")

    for method, path in sorted(PAGES):  # pages (forms: the POST with a valid token, above)
        if path.endswith("/views") and username.endswith("_cm"):
            continue  # who viewed a case is for managers, whatever the team (tests/test_access)
        if "{case_id}" in path and "referrals" not in path and method == "GET":
            check(f"{method} {path}", _request(client, method, path, ids))
    for method, path in sorted(API):
        if "{case_id}" in path:
            url = "/api/v1" + path.format(**ids)
            headers = {"Authorization": f"Bearer {token}"}
            # An action each one's role may take, so that only the team can stop it.
            action = ({"trigger": "submit_assessment", "data": assessment()}
                      if username.endswith("_cm") else
                      {"trigger": "withdraw", "reason": "Moved away.",
                       "reason_code": "moved_out_of_area"})
            check(f"API {method} {path}", client.get(url, headers=headers) if method == "GET"
                  else client.post(url, headers=headers, json=action))
    assert wrong == [], f"{username} was let in or kept out wrongly"


def test_the_cases_behind_a_figure_are_named_only_for_their_team(client, session, registry,
                                                                  teams, north_case, clock):
    from datetime import timedelta

    clock[0] = NOW + timedelta(days=40)  # the North case's assessment is overdue (T6)
    sign_in(client, "south_manager")
    page = client.get("/board/figures/T6/cases")
    assert page.context["rows"] == [] and page.context["overdue"] == []
    assert "1 more belong to other teams" in page.text and "TEST/NORTH" not in page.text
    client.cookies.clear()
    sign_in(client, "north_manager")
    page = client.get("/board/figures/T6/cases")
    assert [r["case"].id for r in page.context["rows"]] == [north_case.id]
    assert {o.case_id for o in page.context["overdue"]} == {north_case.id}


def test_the_quick_answers_from_the_case_row_agree_with_the_rule(session, registry, teams):
    """`may_view` answers the common cases without a query; those answers must be the SQL
    rule's (`viewable`) for every user and every kind of case."""
    from sqlmodel import select as select_

    from ooc.access import _plainly_reaches, viewable
    from ooc.models import Case

    walker = Walker(session, registry, teams)
    cases = [walker.create(police_reference=f"TEST/Q{n}", has_victim=n % 2 == 0)
             for n in range(4)]
    walker.fire(cases[1], "take_case", "north_cm")
    walker.to(cases[2], "ready_for_panel")
    walker.fire(cases[3], "take_case", "south_cm")
    for user in teams.values():
        reached = set(session.exec(select_(Case.id).where(viewable(user, registry))))
        for case in cases:
            if _plainly_reaches(user, case, registry):
                assert case.id in reached, (user.username, case.police_reference)
