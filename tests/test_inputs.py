"""Bad input gets a clear answer, never a server error, on SQLite and PostgreSQL: ids out of
range, other scripts' digits, NUL characters, over-long text, dates outside the working-day
calendar, numbers that are not finite, forms missing their case version (issue 12, point 8)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from ooc.definitions import FormField
from ooc.forms import clean_form
from ooc.inputs import MAX_ID, finite_number, whole_number
from ooc.models import Case, PlanAction, PlanObjective, User
from tests.support import Walker, referral
from tests.test_api import token_for
from tests.web_support import sign_in

BIG_IDS = [2**31, 2**63, 10**30]


@pytest.fixture
def quiet_client(app, users):
    """A client that sees the 500 page a user would, rather than the exception."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def cases_count(session) -> int:
    return session.exec(select(func.count()).select_from(Case)).one()


# --- numbers ---------------------------------------------------------------------------------


def test_whole_numbers_are_written_in_ascii_digits():
    assert whole_number(" 12 ") == 12
    assert whole_number("-3") == -3
    # Python's int() reads all of these; nobody types them meaning a number.
    for text in ("١٢", "１２", "²", "1_000", "12.0", "", "nan"):
        assert whole_number(text) is None, text


def test_decimal_numbers_must_be_finite():
    assert finite_number("92.5") == 92.5
    for text in ("nan", "NaN", "inf", "-Infinity", "1e400", "٩٠"):
        assert finite_number(text) is None, text


def test_a_whole_number_field_refuses_other_scripts_digits_and_huge_numbers():
    count = FormField("count", "Count", "int", required=True)
    for sent in ("١٢", "²", 2**70, "99999999999"):
        _, problems = clean_form((count,), {"count": sent})
        assert [p.field for p in problems] == ["count"], sent


# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", [*BIG_IDS, 0, -1, "١", "²", "1e3"])
def test_an_api_case_id_out_of_range_or_not_ascii_digits_is_404(client, session, users,
                                                                 case_id):
    headers = token_for(session, "case_manager")
    for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/audit"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["error"] == "Page not found"
    response = client.post(f"/api/v1/cases/{case_id}/transitions",
                           json={"trigger": "take_case"}, headers=headers)
    assert response.status_code == 404


def test_the_schema_declares_the_range_of_ids_and_numbers(client):
    schema = client.get("/api/v1/openapi.json").json()
    case_id = schema["paths"]["/cases/{case_id}"]["get"]["parameters"][0]["schema"]
    assert (case_id["minimum"], case_id["maximum"]) == (1, MAX_ID)
    offset = next(p for p in schema["paths"]["/cases"]["get"]["parameters"]
                  if p["name"] == "offset")["schema"]
    assert offset["maximum"] == MAX_ID
    body = schema["paths"]["/referrals"]["post"]["requestBody"]["content"]["application/json"]
    properties = body["schema"]["properties"]
    assert properties["police_reference"]["maxLength"] == 64
    assert properties["offence_description"]["maxLength"] == 300
    assert (properties["gravity_score"]["minimum"], properties["gravity_score"]["maximum"]) \
        == (1, 5)
    transition = schema["components"]["schemas"]["TransitionIn"]["properties"]
    assert transition["reason"]["anyOf"][0]["maxLength"] == 20_000
    assert all("503" in operation["responses"]
               for path in schema["paths"].values() for operation in path.values())


@pytest.mark.parametrize("offset", [2**31, 2**63])
def test_an_api_offset_beyond_any_id_is_422_with_a_message(client, session, users, offset):
    response = client.get(f"/api/v1/cases?offset={offset}",
                          headers=token_for(session, "case_manager"))
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "offset"


@pytest.mark.parametrize("path", ["/cases/{id}", "/cases/{id}/print",
                                  "/cases/{id}/actions/take_case", "/referrals/{id}/received"])
@pytest.mark.parametrize("bad_id", [*BIG_IDS, "١"])
def test_a_page_for_an_id_out_of_range_is_page_not_found(client, path, bad_id):
    sign_in(client, "case_manager")
    response = client.get(path.format(id=bad_id))
    assert response.status_code == 404
    assert "Page not found" in response.text


@pytest.mark.parametrize("bad_id", BIG_IDS)
def test_admin_plan_panel_and_quality_pages_for_ids_out_of_range_are_not_found(client, bad_id):
    pages = {"admin": [f"/admin/users/{bad_id}"],
             "manager": [f"/plan/actions/{bad_id}", f"/quality/audits/{bad_id}",
                         f"/plan/objectives/{bad_id}/actions/new"],
             "chair": [f"/panel/meetings/{bad_id}"]}
    for who, paths in pages.items():
        client.cookies.clear()
        sign_in(client, who)
        for path in paths:
            assert client.get(path).status_code == 404, path


def test_a_meeting_chosen_in_the_address_with_a_huge_or_foreign_number_is_ignored(
        client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    sign_in(client, "chair")
    for chosen in ("²", "١", str(2**63)):
        response = client.get(f"/cases/{case.id}/actions/defer?meeting_id={chosen}")
        assert response.status_code == 200, chosen
        assert "Defer" in response.text


# --- NUL characters --------------------------------------------------------------------------


def test_a_nul_character_anywhere_in_an_api_request_is_422_and_saves_nothing(
        client, session, registry, users):
    case = Walker(session, registry, users).create()
    headers = token_for(session, "case_manager")
    sent = [
        client.get("/api/v1/cases?case_manager=a%00b", headers=headers),
        client.get("/api/v1/cases?police_reference=%00", headers=headers),
        client.post("/api/v1/referrals", json=referral(police_reference="NUL/\x00/1"),
                    headers=headers),
        client.post("/api/v1/referrals", json=referral(offence_description="Theft\x00"),
                    headers=headers),
        client.post(f"/api/v1/cases/{case.id}/transitions",
                    json={"trigger": "withdraw", "reason": "Dup\x00licate",
                          "expected_version": 1}, headers=headers),
    ]
    for response in sent:
        assert response.status_code == 422, response.request.url
        assert "NUL character" in response.json()["reasons"][0]
    session.expire_all()
    assert cases_count(session) == 1
    assert session.get(Case, case.id).version == 1


def test_a_nul_character_in_a_form_is_refused_with_a_page_and_saves_nothing(
        client, session, registry, users):
    case = Walker(session, registry, users).create()
    token = sign_in(client, "manager")
    response = client.post(f"/cases/{case.id}/actions/withdraw",
                           data={"csrf_token": token, "expected_version": "1",
                                 "reason": "Sent in error\x00"})
    assert response.status_code == 422
    assert "NUL character" in response.text
    session.expire_all()
    assert session.get(Case, case.id).state == "referred"
    response = client.get("/search", params={"page": "1\x00"})
    assert response.status_code == 422


# --- over-long text --------------------------------------------------------------------------


def test_over_long_text_in_a_referral_is_refused_with_its_limit(client, session, users):
    headers = token_for(session, "police")
    response = client.post("/api/v1/referrals", headers=headers,
                           json=referral(police_reference="X" * 65, given_name="A" * 101))
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"field": "police_reference",
         "message": "Police reference must be 64 characters or fewer (it has 65)."},
        {"field": "given_name",
         "message": "Child's first name must be 100 characters or fewer (it has 101)."}]
    assert cases_count(session) == 0


def test_over_long_text_in_an_action_or_its_reason_is_refused(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "assessing")
    headers = token_for(session, "manager")
    response = client.post(f"/api/v1/cases/{case.id}/transitions", headers=headers,
                           json={"trigger": "withdraw", "reason": "x" * 20_001,
                                 "reason_code": None})
    assert response.status_code == 422
    headers = token_for(session, "case_manager")
    response = client.post(f"/api/v1/cases/{case.id}/transitions", headers=headers,
                           json={"trigger": "submit_assessment",
                                 "data": {"desistance": "x" * 20_001}})
    assert response.status_code == 422
    assert any(p["field"] == "desistance" and p["message"].endswith(
        "must be 20,000 characters or fewer (it has 20,001).")
        for p in response.json()["problems"])


def test_over_long_plan_fields_are_refused_on_the_page(client, session, users):
    token = sign_in(client, "manager")
    response = client.post("/plan/objectives", data={"csrf_token": token, "title": "T" * 301},
                           follow_redirects=True)
    assert "The objective must be 300 characters or fewer" in response.text
    assert session.exec(select(PlanObjective)).all() == []
    client.post("/plan/objectives", data={"csrf_token": token, "title": "Timely panels"})
    objective = session.exec(select(PlanObjective)).one()
    response = client.post(f"/plan/objectives/{objective.id}/actions/new", data={
        "csrf_token": token, "title": "A" * 301, "owner": "O" * 101,
        "original_due-day": "30", "original_due-month": "9", "original_due-year": "2026"})
    assert response.status_code == 422
    assert "The action must be 300 characters or fewer" in response.text
    assert "The owner must be 100 characters or fewer" in response.text
    assert session.exec(select(PlanAction)).all() == []


def test_an_over_long_username_is_refused_when_adding_a_user(client, session, users):
    token = sign_in(client, "admin")
    response = client.post("/admin/users/new", data={
        "csrf_token": token, "username": "u" * 65, "display_name": "D" * 201,
        "password": "a-long-enough-password", "roles": "board"})
    assert response.status_code == 422
    assert "A username must be 64 characters or fewer" in response.text
    assert "A display name must be 200 characters or fewer" in response.text
    assert session.exec(select(func.count()).select_from(User)).one() == len(users)


# --- dates -----------------------------------------------------------------------------------


def test_a_referral_dated_2070_is_refused_with_the_dates_accepted(client, session, users):
    headers = token_for(session, "police")
    response = client.post("/api/v1/referrals", headers=headers,
                           json=referral(referral_date="2070-01-05", offence_date="2070-01-02",
                                         date_of_birth="2056-01-01"))
    assert response.status_code == 422
    messages = {p["field"]: p["message"] for p in response.json()["problems"]}
    assert messages["referral_date"] == ("Date of referral must be between 1 January 1900 and "
                                         "31 December 2060.")
    assert cases_count(session) == 0


@pytest.mark.parametrize("field, value", [("bail_date", "2060-06-01"),
                                          ("referral_date", "1999-12-31")])
def test_a_date_deadlines_count_from_must_be_in_the_working_day_calendar(
        client, session, users, field, value):
    body = referral(**{field: value})
    if field == "referral_date":
        body.update(offence_date="1999-12-01", date_of_birth="1985-01-01")
    response = client.post("/api/v1/referrals", headers=token_for(session, "police"), json=body)
    assert response.status_code == 422
    problem = next(p for p in response.json()["problems"] if p["field"] == field)
    assert "outside the dates the service counts working days for" in problem["message"]
    assert "from 1 January 2000 to 31 December 2059" in problem["message"]
    assert cases_count(session) == 0


def test_a_referral_on_the_form_with_a_year_far_ahead_is_refused_on_the_page(client, session,
                                                                            users):
    token = sign_in(client, "police")
    form = {"csrf_token": token}
    for name, value in referral(police_reference="FORM/1").items():
        if name.endswith("_date") or name == "date_of_birth":
            year, month, day = value.split("-")
            form.update({f"{name}-year": year, f"{name}-month": month, f"{name}-day": day})
        else:
            form[name] = {True: "yes", False: "no"}.get(value, value)
    form.update({"bail_date-year": "2070", "bail_date-month": "1", "bail_date-day": "5"})
    response = client.post("/referrals/new", data=form)
    assert response.status_code == 422
    assert "Bail return date must be between 1 January 1900 and 31 December 2060" \
        in response.text
    form.update({"bail_date-year": "²⁰²⁶"})
    assert client.post("/referrals/new", data=form).status_code == 422
    assert cases_count(session) == 0


# --- thresholds ------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", ["nan", "inf", "1e400", "150"])
def test_a_plan_threshold_that_is_not_a_percentage_is_refused(client, session, users,
                                                              threshold):
    token = sign_in(client, "manager")
    client.post("/plan/objectives", data={"csrf_token": token, "title": "Timely panels"})
    objective = session.exec(select(PlanObjective)).one()
    response = client.post(f"/plan/objectives/{objective.id}/actions/new", data={
        "csrf_token": token, "title": "Raise T1", "owner": "Team manager",
        "original_due-day": "30", "original_due-month": "9", "original_due-year": "2026",
        "figure_id": "T1", "green": threshold, "amber": "75"})
    assert response.status_code == 422
    assert "threshold" in response.text
    assert session.exec(select(PlanAction)).all() == []


# --- the action form -------------------------------------------------------------------------


def test_a_refused_action_posted_without_its_case_version_shows_why(
        quiet_client, session, registry, users):
    case = Walker(session, registry, users).create()
    token = sign_in(quiet_client, "manager")
    response = quiet_client.post(f"/cases/{case.id}/actions/countersign",
                                 data={"csrf_token": token})
    assert response.status_code == 422
    assert "cannot be done while the case is referred" in response.text
    for version in ("²", "١", "abc", str(2**63)):
        response = quiet_client.post(f"/cases/{case.id}/actions/withdraw",
                                     data={"csrf_token": token, "expected_version": version,
                                           "reason": "Sent in error"})
        assert response.status_code == 422, version
        assert "did not say which version of the case" in response.text
    session.expire_all()
    assert session.get(Case, case.id).state == "referred"


def test_a_security_token_in_another_script_is_refused_as_expired(quiet_client, session,
                                                                  registry, users):
    case = Walker(session, registry, users).create()
    sign_in(quiet_client, "manager")
    response = quiet_client.post(f"/cases/{case.id}/actions/withdraw",
                                 data={"csrf_token": "é", "reason": "Sent in error"})
    assert response.status_code == 400
    assert "This form has expired" in response.text


def test_the_panel_list_refuses_a_page_beyond_any_meeting(client, users):
    sign_in(client, "chair")
    assert client.get(f"/panel?page={2**63}").status_code == 422
    assert client.get(f"/search?page={2**63}").status_code < 500

