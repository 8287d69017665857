"""The improvement plan's pages: the board reads, managers keep it up to date."""

from __future__ import annotations

from sqlmodel import select

from ooc.models import PlanAction, PlanNote
from tests.web_support import csrf_token, sign_in

ACTION = {"title": "Track T2 weekly", "owner": "Panel chair", "original_due": "2026-02-27",
          "revised_due": "", "completed_on": "", "figure_id": "", "green": "", "amber": "",
          "manual_rag": "", "note": "Tracker drafted"}


def add_objective(client) -> None:
    client.post("/plan/objectives", data={"csrf_token": csrf_token(client, "/plan"),
                                          "title": "Present cases on time",
                                          "recommendation": "Inspection rec 1"})


def test_a_manager_adds_an_action_that_is_rated_and_the_board_reads_it(client, session):
    sign_in(client, "manager")
    add_objective(client)
    form = "/plan/objectives/1/actions/new"
    saved = client.post(form, data={**ACTION, "csrf_token": csrf_token(client, form)},
                        follow_redirects=True)
    assert "Action saved: Track T2 weekly." in saved.text
    action = session.exec(select(PlanAction)).one()
    assert action.rag == "red"  # due 27 February, the clock says 2 March: past its due date
    assert session.exec(select(PlanNote)).one().text == "Tracker drafted"
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/plan")})
    sign_in(client, "board")
    page = client.get("/plan")
    at_risk = next(g for g in page.context["groups"] if g["rag"] == "red")
    assert [row["action"].title for row in at_risk["actions"]] == ["Track T2 weekly"]
    assert page.context["can_edit"] is False and "Add an objective" not in page.text


def test_bad_dates_and_thresholds_are_named_and_nothing_is_saved(client, session):
    sign_in(client, "manager")
    add_objective(client)
    form = "/plan/objectives/1/actions/new"
    refused = client.post(form, data={**ACTION, "original_due": "31/02/2026", "green": "ninety",
                                      "csrf_token": csrf_token(client, form)})
    assert refused.status_code == 422
    assert 'href="#original_due"' in refused.text and 'href="#green"' in refused.text
    linked = client.post(form, data={**ACTION, "figure_id": "T2", "green": "90",
                                     "csrf_token": csrf_token(client, form)})
    assert linked.status_code == 422
    assert "A linked figure needs both a green and an amber threshold." in linked.text
    assert session.exec(select(PlanAction)).all() == []
