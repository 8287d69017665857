"""The improvement plan's pages: the board reads, managers keep it up to date."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from ooc.models import PlanAction, PlanNote
from tests.web_support import csrf_token, sign_in

ACTION = {"title": "Track T2 weekly", "owner": "Panel chair", "original_due-day": "27",
          "original_due-month": "2", "original_due-year": "2026", "figure_id": "", "green": "",
          "amber": "", "manual_rag": "", "note": "Tracker drafted"}


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
    refused = client.post(form, data={**ACTION, "original_due-day": "31", "green": "ninety",
                                      "csrf_token": csrf_token(client, form)})
    assert refused.status_code == 422
    assert 'href="#original_due"' in refused.text and 'href="#green"' in refused.text
    linked = client.post(form, data={**ACTION, "figure_id": "T2", "green": "90",
                                     "csrf_token": csrf_token(client, form)})
    assert linked.status_code == 422
    assert "A linked figure needs both a green and an amber threshold." in linked.text
    assert session.exec(select(PlanAction)).all() == []


def test_reading_the_plan_writes_nothing_and_shows_todays_ratings(client, session, clock):
    from datetime import timedelta

    from ooc.models import PlanRagChange

    sign_in(client, "manager")
    add_objective(client)
    form = "/plan/objectives/1/actions/new"
    client.post(form, data={**ACTION, "original_due-day": "4", "original_due-month": "3",
                            "csrf_token": csrf_token(client, form)})
    assert session.exec(select(PlanAction)).one().rag == "amber"  # due 4 March, now 2 March
    recorded = len(session.exec(select(PlanRagChange)).all())
    clock[0] += timedelta(days=5)  # now past its due date

    page = client.get("/plan")
    at_risk = next(g for g in page.context["groups"] if g["rag"] == "red")
    assert [row["action"].title for row in at_risk["actions"]] == ["Track T2 weekly"]
    assert "past its due date (4 March 2026)" in page.text
    assert "last recorded as amber" in page.text and page.context["unrecorded"] == 1
    session.expire_all()
    assert len(session.exec(select(PlanRagChange)).all()) == recorded  # a GET writes nothing
    assert session.exec(select(PlanAction)).one().rag == "amber"

    client.post("/plan/ratings", data={"csrf_token": csrf_token(client, "/plan")})
    session.expire_all()
    assert session.exec(select(PlanAction)).one().rag == "red"
    assert len(session.exec(select(PlanRagChange)).all()) == recorded + 1


def test_plan_dates_are_gov_uk_date_inputs(client, session):
    sign_in(client, "manager")
    add_objective(client)
    form = "/plan/objectives/1/actions/new"
    client.post(form, data={**ACTION, "csrf_token": csrf_token(client, form)})
    page = client.get("/plan/actions/1")
    assert page.context["values"]["original_due"] == {"day": "27", "month": "2", "year": "2026"}
    assert 'name="original_due-day"' in page.text and 'value="27"' in page.text


def test_the_daily_rating_command_records_what_the_date_changed(engine, session, monkeypatch):
    from datetime import date

    from typer.testing import CliRunner

    from ooc.cli import app
    from ooc.models import PlanObjective, PlanRagChange

    monkeypatch.setenv("OOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    objective = PlanObjective(title="Present cases on time", recommendation="",
                              created_at=datetime(2026, 1, 5, tzinfo=UTC))
    session.add(objective)
    session.flush()
    session.add(PlanAction(objective_id=objective.id, title="Track T2", owner="Chair",
                           original_due=date(2026, 1, 30), rag="amber",
                           created_at=datetime(2026, 1, 5, tzinfo=UTC)))
    session.commit()
    result = CliRunner().invoke(app, ["plan", "rate"])
    assert result.exit_code == 0, result.output
    assert "Recorded 1 change of rating." in result.output
    session.expire_all()
    assert session.exec(select(PlanAction)).one().rag == "red"  # past 30 January 2026
    assert [c.to_rag for c in session.exec(select(PlanRagChange))] == ["red"]
