"""The case manager's pages: sign-in, caseload, case page, workflow action forms."""

from __future__ import annotations

from sqlmodel import select

from ooc.models import AccessLog
from tests.support import Walker
from tests.web_support import csrf_token, sign_in


def test_pages_need_sign_in(client):
    response = client.get("/caseload", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/caseload"


def test_a_wrong_password_is_refused_with_a_gov_uk_error(client):
    response = client.post("/sign-in", data={"username": "case_manager", "password": "nope",
                                             "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "There is a problem" in response.text
    assert "Enter a correct username and password." in response.text


def test_repeated_failures_lock_the_account(client):
    for _ in range(5):
        client.post("/sign-in", data={"username": "case_manager", "password": "nope",
                                      "csrf_token": csrf_token(client)})
    response = client.post("/sign-in", data={"username": "case_manager",
                                             "password": "a-test-password-for-everyone",
                                             "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "too many failed attempts" in response.text


def test_a_form_without_the_csrf_token_is_refused(client):
    response = client.post("/sign-in", data={"username": "case_manager", "password": "x"})
    assert response.status_code == 400
    assert "without a valid security token" in response.text


def test_caseload_lists_my_open_cases_most_urgent_first(client, session, registry, users):
    walker = Walker(session, registry, users)
    later = walker.create(police_reference="TEST/LATER", referral_date="2026-03-02")
    sooner = walker.create(police_reference="TEST/SOONER", referral_date="2026-02-23",
                           offence_date="2026-02-20")
    for case in (later, sooner):
        walker.to(case, "assessing")
    sign_in(client, "case_manager")
    page = client.get("/caseload")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [r["case"].police_reference for r in rows] == ["TEST/SOONER", "TEST/LATER"]
    assert [(r["next"].label, r["next"].working_days_left) for r in rows] == [
        ("Assessment submitted", 5), ("Assessment submitted", 10)]
    assert page.text.index("TEST/SOONER") < page.text.index("TEST/LATER")


def test_the_case_page_shows_the_child_actions_and_timeline_and_logs_the_view(
        client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "assessing")
    sign_in(client, "case_manager")
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert page.context["age_at_offence"] == 14  # born 15 June 2011, offence 20 February 2026
    allowed = {a.trigger for a in page.context["actions"] if a.allowed}
    assert allowed == {"submit_assessment"}
    assert "Alex Example" in page.text
    assert "14 years" in page.text
    assert "Assessment in progress" in page.text and "Awaiting contact" in page.text
    assert f'href="/cases/{case.id}/actions/submit_assessment"' in page.text
    assert "Only a manager can withdraw the case" in page.text
    assert "Referral received" in page.text
    views = session.exec(select(AccessLog).where(AccessLog.case_id == case.id)).all()
    assert [(v.username, v.view) for v in views] == [("case_manager", "case page")]


def test_an_action_form_reports_each_problem_and_changes_nothing(client, session, registry,
                                                                  users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "assessing")
    token = sign_in(client, "case_manager")
    response = client.post(f"/cases/{case.id}/actions/submit_assessment",
                           data={"csrf_token": token, "expected_version": "2",
                                 "risk_to_others": "medium", "desistance": "Some."})
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert 'href="#safety_and_wellbeing"' in response.text
    session.refresh(case)
    assert (case.state, case.version) == ("assessing", 2)


def test_a_double_submitted_form_fires_once(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    token = sign_in(client, "case_manager")
    form = {"csrf_token": token, "expected_version": "1"}
    first = client.post(f"/cases/{case.id}/actions/take_case", data=form)
    second = client.post(f"/cases/{case.id}/actions/take_case", data=form)
    assert (first.status_code, second.status_code) == (200, 409)
    assert "Done: take this case." in first.text
    assert "has changed since you opened it" in second.text
    assert [e.title for e in second.context["changes"]] == ["Case taken"]
    session.refresh(case)
    assert (case.state, case.version) == ("assessing", 2)


def test_an_unknown_case_is_a_404_page(client):
    sign_in(client, "case_manager")
    response = client.get("/cases/999")
    assert response.status_code == 404
    assert "There is no case 999." in response.text
    assert "Traceback" not in response.text


def test_the_board_cannot_open_a_childs_case(client, session, registry, users):
    case = Walker(session, registry, users).create()
    sign_in(client, "board")
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 403


def test_opening_an_action_form_is_logged_as_a_view_of_the_case(client, session, registry,
                                                                 users):
    case = Walker(session, registry, users).create()
    sign_in(client, "case_manager")
    assert client.get(f"/cases/{case.id}/actions/take_case").status_code == 200
    views = session.exec(select(AccessLog).where(AccessLog.case_id == case.id)).all()
    assert [(v.username, v.view) for v in views] == [("case_manager", "action form: take_case")]
