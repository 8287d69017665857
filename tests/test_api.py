"""The JSON API under /api/v1: bearer tokens, referrals, cases, transitions, the audit trail, and
its OpenAPI documentation served without the internet."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from ooc.accounts import issue_token
from ooc.models import AccessLog, ApiToken, AuditEvent, Case
from tests.support import NOW, Walker, assessment, decision, make_meeting, referral


def token_for(session, username: str) -> dict[str, str]:
    """The Authorization header of a new API token for `username`."""
    token = issue_token(session, username=username, now=NOW)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def problem_fields(response) -> list[str]:
    return [p["field"] for p in response.json()["problems"]]


def views_of(session, case_id: int) -> list[tuple[str, str]]:
    rows = session.exec(select(AccessLog).where(AccessLog.case_id == case_id)
                        .order_by(AccessLog.id)).all()
    return [(row.username, row.view) for row in rows]


# --- authentication --------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-real-token", "Bearer ",
                                           "Basic Y2FzZV9tYW5hZ2VyOnBhc3N3b3Jk"])
def test_without_a_valid_token_every_endpoint_answers_401_in_json(client, session, registry,
                                                                   users, authorization):
    case = Walker(session, registry, users).create()
    headers = {"Authorization": authorization} if authorization else {}
    requests = [
        ("GET", "/api/v1/cases", None),
        ("GET", f"/api/v1/cases/{case.id}", None),
        ("GET", f"/api/v1/cases/{case.id}/audit", None),
        ("POST", f"/api/v1/cases/{case.id}/transitions", {"trigger": "take_case"}),
        ("POST", "/api/v1/referrals", referral(police_reference="TEST/0002")),
    ]
    for method, path, body in requests:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {
            "error": "Sign in to use the API",
            "message": "Give a valid API token as 'Authorization: Bearer TOKEN'.",
            "reasons": []}
    session.refresh(case)
    assert (case.state, case.version) == ("referred", 1)
    assert session.exec(select(Case.police_reference)).all() == ["TEST/0001"]
    assert views_of(session, case.id) == []


def test_a_revoked_token_or_a_deactivated_user_is_refused(client, session, registry, users):
    case = Walker(session, registry, users).create()
    revoked = token_for(session, "case_manager")
    row = session.exec(select(ApiToken)).one()
    row.revoked_at = NOW
    session.commit()
    assert client.get(f"/api/v1/cases/{case.id}", headers=revoked).status_code == 401

    headers = token_for(session, "manager")
    users["manager"].active = False
    session.commit()
    assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 401


# --- referrals -------------------------------------------------------------------------------


def test_police_make_a_referral_and_sending_it_again_creates_nothing(client, session, users):
    headers = token_for(session, "police")
    response = client.post("/api/v1/referrals", json=referral(police_reference="POL/26/0042"),
                           headers=headers)
    assert response.status_code == 201
    created = response.json()
    assert response.headers["location"] == f"/api/v1/cases/{created['id']}"
    assert created == {
        "id": created["id"],
        "police_reference": "POL/26/0042",
        "child_name": "Alex Example",
        "state": {"name": "referred", "label": "Referred"},
        "victim_state": {"name": "not_applicable", "label": "No identified victim"},
        "version": 1,
        "case_manager": None,
        "referral_date": "2026-03-02",
        "workflow": {"name": "oocd", "version": 1},
    }
    event = session.exec(select(AuditEvent).where(AuditEvent.case_id == created["id"])).one()
    assert (event.trigger, event.actor, event.role) == ("create", "police", "police")

    again = client.post("/api/v1/referrals", json=referral(police_reference="POL/26/0042"),
                        headers=headers)
    assert again.status_code == 422
    assert again.json()["problems"] == [{
        "field": "police_reference",
        "message": f"A case with police reference POL/26/0042 already exists "
                   f"(case {created['id']})."}]
    assert len(session.exec(select(Case.id)).all()) == 1


def test_a_referral_names_each_bad_field_and_creates_nothing(client, session, users):
    body = referral(date_of_birth="15/06/2011", sex="boy", gravity_score=7,
                    shoe_size=9)
    del body["family_name"]
    response = client.post("/api/v1/referrals", json=body,
                           headers=token_for(session, "case_manager"))
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == [
        "date_of_birth", "family_name", "gravity_score", "sex", "shoe_size"]
    assert "Enter child's last name." in response.json()["reasons"]
    assert session.exec(select(Case.id)).all() == []


def test_a_referral_the_workflow_cannot_accept_lists_each_unmet_condition(client, session,
                                                                           users):
    body = referral(date_of_birth="2018-01-01", offence_date="2026-03-20")
    response = client.post("/api/v1/referrals", json=body,
                           headers=token_for(session, "police"))
    assert response.status_code == 422
    reasons = response.json()["reasons"]
    assert len(reasons) == 3
    assert reasons[0].startswith("The child was 8 on the date of the offence")
    assert reasons[1].startswith("The offence date (20 March 2026) is after the referral date")
    assert reasons[2].startswith("Date of the offence (20 March 2026) is in the future.")
    # A condition about one field names it, as a bad field does.
    assert response.json()["problems"] == [{"field": "offence_date", "message": reasons[2]}]


@pytest.mark.parametrize("username", ["board", "manager", "victim_worker"])
def test_only_police_and_case_managers_make_referrals(client, session, users, username):
    response = client.post("/api/v1/referrals", json=referral(),
                           headers=token_for(session, username))
    assert response.status_code == 403
    assert response.json()["message"].startswith(
        "Only a police or a case manager can make a referral")
    assert session.exec(select(Case.id)).all() == []


def test_a_body_that_is_not_json_is_a_422_not_a_traceback(client, session, users):
    headers = {**token_for(session, "police"), "Content-Type": "application/json"}
    response = client.post("/api/v1/referrals", content="{not json", headers=headers)
    assert response.status_code == 422
    assert response.json()["message"] == "The request is not valid."
    assert "Traceback" not in response.text


# --- listing cases ---------------------------------------------------------------------------


def test_cases_are_listed_by_state_and_case_manager_a_page_at_a_time(client, session, registry,
                                                                     users):
    walker = Walker(session, registry, users)
    first, second, third = (walker.create(police_reference=f"TEST/000{n}") for n in (1, 2, 3))
    walker.fire(first, "take_case", "case_manager")
    walker.fire(third, "take_case", "case_manager2")
    headers = token_for(session, "manager")

    def references(query: str) -> list[str]:
        response = client.get(f"/api/v1/cases{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["police_reference"] for item in response.json()["items"]]

    assert references("") == ["TEST/0001", "TEST/0002", "TEST/0003"]
    assert references("?state=assessing") == ["TEST/0001", "TEST/0003"]
    assert references("?state=referred") == ["TEST/0002"]
    assert references("?state=referred&state=assessing") == ["TEST/0001", "TEST/0002",
                                                              "TEST/0003"]
    assert references("?case_manager=case_manager2") == ["TEST/0003"]
    assert references("?state=assessing&case_manager=case_manager") == ["TEST/0001"]
    assert references("?victim_state=not_applicable&police_reference=TEST/0002") == [
        "TEST/0002"]
    assert references("?state=closed") == []

    page = client.get("/api/v1/cases?limit=2", headers=headers).json()
    assert [i["police_reference"] for i in page["items"]] == ["TEST/0001", "TEST/0002"]
    assert (page["limit"], page["offset"], page["next_offset"]) == (2, 0, 2)
    last = client.get("/api/v1/cases?limit=2&offset=2", headers=headers).json()
    assert [i["police_reference"] for i in last["items"]] == ["TEST/0003"]
    assert last["next_offset"] is None
    item = last["items"][0]
    assert (item["state"], item["case_manager"], item["version"]) == (
        {"name": "assessing", "label": "Assessment in progress"}, "case_manager2", 2)


def test_a_bad_filter_is_named(client, session, users):
    headers = token_for(session, "case_manager")
    response = client.get("/api/v1/cases?state=lost&limit=100000", headers=headers)
    assert response.status_code == 422
    assert problem_fields(response) == ["limit"]
    response = client.get("/api/v1/cases?state=lost", headers=headers)
    assert response.status_code == 422
    assert problem_fields(response) == ["state"]
    assert response.json()["problems"][0]["message"].startswith(
        "'lost' is not a state of the main track (use one of: assessing, awaiting_countersi")


# --- reading a case --------------------------------------------------------------------------


def test_a_case_shows_both_tracks_the_child_deadlines_and_what_the_caller_can_do(
        client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "assessing")
    response = client.get(f"/api/v1/cases/{case.id}", headers=token_for(session, "case_manager"))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["version"], body["case_manager"]) == (case.id, 2, "case_manager")
    assert body["state"] == {"name": "assessing", "label": "Assessment in progress"}
    assert body["victim_state"] == {"name": "awaiting_contact", "label": "Awaiting contact"}
    assert body["child"] == {
        "given_name": "Alex", "family_name": "Example", "date_of_birth": "2011-06-15",
        "age_at_offence": 14, "sex": "male",
        "ethnicity": {"code": "W1",
                      "label": "White: English, Welsh, Scottish, Northern Irish or British"},
        "looked_after": False}
    assert body["referral"]["police_reference"] == "TEST/0001"
    assert body["referral"]["gravity_score"] == 2
    assert body["referral"]["has_victim"] is True
    # Referred on Monday 2 March 2026, viewed the same day.
    assert [(d["name"], d["due_on"], d["working_days_left"], d["description"])
            for d in body["deadlines"]] == [
        ("assessment", "2026-03-16", 10, "10 working days left"),
        ("decision", "2026-03-23", 15, "15 working days left")]

    assert [a["trigger"] for a in body["available"]] == ["submit_assessment"]
    submit = body["available"][0]
    assert submit["label"] == "Submit the assessment for countersignature"
    risk = next(f for f in submit["fields"] if f["name"] == "risk_to_others")
    assert (risk["type"], risk["required"]) == ("choice", True)
    assert [o["value"] for o in risk["options"]] == ["low", "medium", "high", "very_high"]
    blocked = {b["trigger"]: b["reasons"] for b in body["blocked"]}
    assert blocked["withdraw"] == [
        "Only a manager can withdraw the case; case_manager is signed in as case manager."]
    assert blocked["contact_victim"][0].startswith("Only a victim worker can")

    assert views_of(session, case.id) == [("case_manager", "api case")]


def test_an_overdue_deadline_shows_as_overdue(client, session, registry, users, clock):
    case = Walker(session, registry, users).create(referral_date="2026-02-09",
                                                   offence_date="2026-02-01")
    body = client.get(f"/api/v1/cases/{case.id}", headers=token_for(session, "manager")).json()
    assessment_due = body["deadlines"][0]
    # Ten working days from Monday 9 February is Monday 23 February; today is 2 March.
    assert assessment_due == {"name": "assessment", "label": "Assessment submitted",
                              "due_on": "2026-02-23", "working_days_left": -5, "overdue": True,
                              "description": "overdue by 5 working days"}


@pytest.mark.parametrize("username", ["board", "police", "admin"])
def test_roles_without_casework_cannot_read_a_childs_case(client, session, registry, users,
                                                          username):
    case = Walker(session, registry, users).create()
    headers = token_for(session, username)
    for path in ("/api/v1/cases", f"/api/v1/cases/{case.id}", f"/api/v1/cases/{case.id}/audit"):
        response = client.get(path, headers=headers)
        assert response.status_code == 403, path
        assert response.json()["error"] == "You cannot do this"
        assert "can see or work on a child's case" in response.json()["message"]
    assert views_of(session, case.id) == []


def test_an_unknown_case_is_a_404(client, session, users):
    headers = token_for(session, "case_manager")
    for method, path, body in [("GET", "/api/v1/cases/999", None),
                               ("GET", "/api/v1/cases/999/audit", None),
                               ("POST", "/api/v1/cases/999/transitions",
                                {"trigger": "take_case"})]:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Page not found",
                                   "message": "There is no case 999.", "reasons": []}


# --- transitions -----------------------------------------------------------------------------


def test_a_transition_fires_once_and_a_stale_version_is_a_409(client, session, registry, users):
    case = Walker(session, registry, users).create()
    headers = token_for(session, "case_manager")
    request = {"trigger": "take_case", "expected_version": 1}
    first = client.post(f"/api/v1/cases/{case.id}/transitions", json=request, headers=headers)
    assert first.status_code == 200
    assert first.json() == {
        "case_id": case.id, "trigger": "take_case", "track": "main",
        "from_state": {"name": "referred", "label": "Referred"},
        "to_state": {"name": "assessing", "label": "Assessment in progress"},
        "version": 2}

    second = client.post(f"/api/v1/cases/{case.id}/transitions", json=request, headers=headers)
    assert second.status_code == 409
    assert second.json()["message"] == (
        f"Case {case.id} has changed since you opened it (you had version 1; it is now at "
        "version 2). Reload the case to see what changed, then try again.")
    session.refresh(case)
    assert (case.state, case.version, case.case_manager) == ("assessing", 2, "case_manager")
    events = session.exec(select(AuditEvent.trigger).where(AuditEvent.case_id == case.id)
                          .order_by(AuditEvent.seq)).all()
    assert events == ["create", "take_case"]


def test_a_transition_with_data_and_a_reason(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "assessing")
    response = client.post(f"/api/v1/cases/{case.id}/transitions",
                           json={"trigger": "submit_assessment", "data": assessment(),
                                 "expected_version": 2},
                           headers=token_for(session, "case_manager"))
    assert response.status_code == 200, response.text
    assert response.json()["to_state"]["name"] == "awaiting_countersignature"

    response = client.post(f"/api/v1/cases/{case.id}/transitions",
                           json={"trigger": "withdraw", "reason": "Referred in error.",
                                 "reason_code": "referred_in_error"},
                           headers=token_for(session, "manager"))
    assert response.status_code == 200, response.text
    session.refresh(case)
    assert (case.state, case.version) == ("withdrawn", 4)
    assert case.data["assessment"]["risk_to_others"] == "low"
    last = session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                 AuditEvent.seq == 4)).one()
    assert (last.reason, last.reason_code, last.actor) == (
        "Referred in error.", "referred_in_error", "manager")


@pytest.mark.parametrize("username, message", [
    ("police", "Only a case manager, a manager, a panel chair or a victim worker can see or "
               "work on a child's case; police is signed in as police."),
    ("case_manager", "Only a manager can countersign the assessment; case_manager is signed "
                     "in as case manager."),
])
def test_a_role_that_may_not_fire_a_trigger_gets_a_403(client, session, registry, users,
                                                       username, message):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "awaiting_countersignature")
    response = client.post(f"/api/v1/cases/{case.id}/transitions",
                           json={"trigger": "countersign"}, headers=token_for(session, username))
    assert response.status_code == 403
    assert response.json()["message"] == message
    session.refresh(case)
    assert (case.state, case.version) == ("awaiting_countersignature", 3)


def test_each_unmet_condition_is_listed_and_nothing_changes(client, session, registry, users,
                                                             clock):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)  # gravity 2: an informal outcome is indicated
    walker.to(case, "ready_for_panel")  # countersigned on 4 March
    clock[0] = walker.now
    meeting = make_meeting(session, date(2026, 3, 4), agencies=["police", "yjs"])
    session.commit()
    response = client.post(
        f"/api/v1/cases/{case.id}/transitions",
        json={"trigger": "record_decision", "expected_version": case.version,
              "data": decision(meeting.id, outcome="youth_caution", admission=False)},
        headers=token_for(session, "chair"))
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Record the panel's decision cannot be done yet."
    reasons = body["reasons"]
    # Each condition is about the field the workflow names for it (the meeting's, the field
    # that names it), so that a client can show each refusal by its field.
    assert body["problems"] == [
        {"field": field, "message": reason} for field, reason in zip(
            ("meeting_id", "deviation_rationale", "admission", "victim_views_reason"), reasons,
            strict=True)]
    assert len(reasons) == 4, reasons
    assert reasons[0] == ("The panel meeting on 04 March 2026 is not quorate: it needs at "
                          "least 2 other agencies and had 0.")
    assert reasons[1].startswith("The gravity score of 2 indicates")
    assert reasons[2] == ("Youth caution can only be given when the child has admitted the "
                          "offence.")
    assert reasons[3].startswith("The victim's views have not been recorded.")
    session.refresh(case)
    assert (case.state, case.version) == ("ready_for_panel", 4)


def test_each_bad_field_is_named(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create()
    walker.to(case, "ready_for_panel")
    headers = token_for(session, "chair")

    response = client.post(f"/api/v1/cases/{case.id}/transitions",
                           json={"trigger": "record_decision",
                                 "data": {"meeting_id": "next week", "outcome": "a telling off",
                                          "admission": "maybe", "colour": "blue"}},
                           headers=headers)
    assert response.status_code == 422
    assert problem_fields(response) == ["colour", "meeting_id", "outcome", "rationale",
                                        "admission", "child_views"]
    assert response.json()["problems"][1] == {"field": "meeting_id",
                                              "message": "Panel meeting must be a whole number."}

    response = client.post(f"/api/v1/cases/{case.id}/transitions",
                           json={"trigger": "defer", "reason_code": "bored"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["problems"] == [
        {"field": "meeting_id", "message": "Choose panel meeting."},
        {"field": "reason", "message": "Give a reason to defer to a later panel."},
        {"field": "reason_code",
         "message": "'bored' is not a reason code for this action (use one of: "
                    "more_information_needed, child_did_not_attend, "
                    "awaiting_police_information, other)."}]

    response = client.post(f"/api/v1/cases/{case.id}/transitions",
                           json={"trigger": "defer", "because": "no", "expected_version": "x"},
                           headers=headers)
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == ["because", "expected_version"]
    session.refresh(case)
    assert (case.state, case.version) == ("ready_for_panel", 4)


def test_an_unknown_trigger_lists_what_can_be_done(client, session, registry, users):
    case = Walker(session, registry, users).create()
    response = client.post(f"/api/v1/cases/{case.id}/transitions",
                           json={"trigger": "close_everything"},
                           headers=token_for(session, "manager"))
    assert response.status_code == 422
    assert response.json()["message"] == (
        "'close_everything' cannot be done while the case is referred and no identified "
        "victim. What can be done now: take_case, withdraw.")


# --- the audit trail -------------------------------------------------------------------------


def test_the_audit_trail_lists_every_event_chained_and_logs_the_view(client, session, registry,
                                                                     users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)  # a victim worker's work needs a case with a victim
    walker.tick()
    walker.to(case, "assessing")
    response = client.get(f"/api/v1/cases/{case.id}/audit",
                          headers=token_for(session, "victim_worker"))
    assert response.status_code == 200
    body = response.json()
    assert body["case_id"] == case.id
    events = body["events"]
    assert [(e["seq"], e["at"], e["actor"], e["role"], e["trigger"], e["track"],
             e["from_state"], e["to_state"]) for e in events] == [
        (1, "2026-03-02T10:00:00Z", "police", "police", "create", "main", None, "referred"),
        (2, "2026-03-03T10:00:00Z", "case_manager", "case_manager", "take_case", "main",
         "referred", "assessing")]
    assert events[0]["data"]["referral"]["police_reference"] == "TEST/0001"
    assert (events[1]["workflow_name"], events[1]["workflow_version"]) == ("oocd", 1)
    assert events[0]["prev_hash"] == "0" * 64
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert re.fullmatch("[0-9a-f]{64}", events[1]["hash"])
    assert views_of(session, case.id) == [("victim_worker", "api audit")]


# --- documentation ---------------------------------------------------------------------------


def test_the_openapi_schema_documents_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {path: sorted(ops) for path, ops in schema["paths"].items()} == {
        "/referrals": ["post"],
        "/cases": ["get"],
        "/cases/{case_id}": ["get"],
        "/cases/{case_id}/transitions": ["post"],
        "/cases/{case_id}/audit": ["get"],
    }
    assert schema["servers"] == [{"url": "/api/v1"}]
    assert schema["components"]["securitySchemes"]["token"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API token from `ooc users token USERNAME`."}
    detail = schema["paths"]["/cases/{case_id}"]["get"]["responses"]
    assert detail["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CaseDetail"}
    assert detail["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    referral_body = schema["paths"]["/referrals"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert referral_body["properties"]["sex"]["enum"] == ["female", "male", "not_known"]
    assert "police_reference" in referral_body["required"]


def test_the_docs_page_uses_this_servers_copy_of_swagger_ui(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.text
    assert '<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">' in page
    assert '<script src="/static/swagger-ui/swagger-ui-bundle.js"></script>' in page
    # Started by a static file (the security policy forbids inline scripts), told where the
    # schema is by the page.
    assert '<script src="/static/api-docs.js"></script>' in page
    assert 'data-openapi-url="/api/v1/openapi.json"' in page
    assert "<script>" not in page
    assert "http://" not in page and "https://" not in page  # no CDN, no online validator
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, (
            f"{asset} is not served: run `make web/static/.built`")
