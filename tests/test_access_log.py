"""The access log is complete and readable (issue 12, point 6): every answer that names a child
is logged with the cases it showed, the person, the time and the client's address; managers and
the data protection role can see who viewed a case."""

from __future__ import annotations

import pytest
from sqlmodel import select

from ooc.accounts import issue_token
from ooc.models import AccessLog, User
from tests.support import NOW, Walker
from tests.web_support import sign_in

CLIENT = "testclient"  # the address Starlette's test client sends from


def logged(session) -> list[tuple]:
    session.expire_all()
    return [(r.username, r.case_id, r.view, r.address, r.at)
            for r in session.exec(select(AccessLog).order_by(AccessLog.id))]


@pytest.fixture
def cases(session, registry, users):
    walker = Walker(session, registry, users)
    first = walker.create(has_victim=True)
    walker.to(first, "ready_for_panel")
    second = walker.create(police_reference="TEST/0002")
    walker.to(second, "assessing")
    session.execute(AccessLog.__table__.delete())  # what setting them up logged, if anything
    session.commit()
    return first, second


def bearer(session, username: str) -> dict[str, str]:
    token = issue_token(session, username=username, now=NOW)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_api_case_list_logs_every_case_it_names(client, session, cases):
    first, second = cases
    response = client.get("/api/v1/cases", headers=bearer(session, "manager"))
    assert response.status_code == 200
    assert {item["id"] for item in response.json()["items"]} == {first.id, second.id}
    assert logged(session) == [("manager", first.id, "api case list", CLIENT, NOW),
                               ("manager", second.id, "api case list", CLIENT, NOW)]


def test_the_api_police_reference_look_up_logs_the_case_it_found(client, session, cases):
    _, second = cases
    response = client.get("/api/v1/cases", params={"police_reference": "TEST/0002"},
                          headers=bearer(session, "manager"))
    assert [item["child_name"] for item in response.json()["items"]] == ["Alex Example"]
    assert logged(session) == [("manager", second.id, "api police reference look-up", CLIENT,
                                NOW)]


def test_a_look_up_that_finds_nothing_logs_nothing(client, session, cases):
    response = client.get("/api/v1/cases", params={"police_reference": "NO/SUCH"},
                          headers=bearer(session, "manager"))
    assert response.json()["items"] == []
    assert logged(session) == []


@pytest.mark.parametrize(("username", "path", "view"), [
    ("victim_worker", "/victims", "victims"),
    ("case_manager", "/caseload", "caseload"),
])
def test_lists_of_children_log_the_cases_they_show(client, session, cases, username, path,
                                                   view):
    first, _ = cases
    sign_in(client, username)
    page = client.get(path)
    assert page.status_code == 200
    assert "Alex Example" in page.text
    rows = logged(session)
    assert rows and all((u, v, a) == (username, view, CLIENT) for u, _, v, a, _ in rows)
    assert first.id in {case_id for _, case_id, *_ in rows}


def test_the_manager_queues_log_the_cases_they_show(client, session, registry, users, cases):
    waiting = Walker(session, registry, users).create(police_reference="TEST/0003",
                                                      given_name="Robin")
    Walker(session, registry, users).to(waiting, "awaiting_signoff")
    session.execute(AccessLog.__table__.delete())
    session.commit()
    sign_in(client, "manager")
    assert "Robin Example" in client.get("/manager").text
    assert ("manager", waiting.id, "manager queues", CLIENT, NOW) in logged(session)


def test_a_panel_agenda_logs_the_cases_listed(client, session, registry, users, cases):
    first, _ = cases
    meeting = Walker(session, registry, users).quorate_meeting()
    session.execute(AccessLog.__table__.delete())
    session.commit()
    sign_in(client, "chair")
    page = client.get(f"/panel/meetings/{meeting.id}")
    assert "Alex Example" in page.text
    assert ("chair", first.id, "panel agenda", CLIENT, NOW) in logged(session)


# --- who viewed a case -------------------------------------------------------------------------


def test_a_manager_sees_who_viewed_a_case_from_its_page(client, session, cases):
    first, _ = cases
    sign_in(client, "case_manager")
    assert "Who viewed this case" not in client.get(f"/cases/{first.id}").text
    assert client.get(f"/cases/{first.id}/views").status_code == 403

    sign_in(client, "manager")
    case_page = client.get(f"/cases/{first.id}")
    assert f'href="/cases/{first.id}/views"' in case_page.text
    views = client.get(f"/cases/{first.id}/views")
    assert views.status_code == 200
    assert "Case Manager (case_manager)" in views.text
    assert "Case page" in views.text and CLIENT in views.text
    assert "Alex Example" not in views.text  # who saw it, not the child's record


def test_the_data_protection_role_sees_who_viewed_any_case_but_never_the_record(
        client, session, cases):
    first, _ = cases
    sign_in(client, "case_manager")
    client.get(f"/cases/{first.id}")
    sign_in(client, "data_protection")
    assert client.get("/", follow_redirects=False).headers["location"] == "/access-log"
    found = client.get("/access-log", params={"case": str(first.id)}, follow_redirects=False)
    assert found.headers["location"] == f"/cases/{first.id}/views"
    views = client.get(f"/cases/{first.id}/views")
    assert views.status_code == 200 and "Case Manager (case_manager)" in views.text
    assert client.get(f"/cases/{first.id}").status_code == 403
    bad = client.get("/access-log", params={"case": "forty"})
    assert bad.status_code == 422 and "Enter the case number as a whole number" in bad.text


def test_a_manager_of_another_team_cannot_see_who_viewed_a_case(client, session, cases):
    first, _ = cases
    other = session.exec(select(User).where(User.username == "manager2")).one()
    other.team = "South"
    session.exec(select(User).where(User.username == "case_manager")).one().team = "North"
    session.commit()
    sign_in(client, "manager2")
    assert client.get(f"/cases/{first.id}/views").status_code == 403
