"""The board's dashboard (aggregate counts only) and the workflow diagram on the case page."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from ooc.deadlines import list_open_deadlines
from ooc.figures import Period, compute_figures
from ooc.figures.timeliness import OVERDUE_DEADLINES
from ooc.models import Case
from tests.support import NOW, Walker
from tests.web_support import sign_in


@pytest.fixture
def cases(session, registry, users):
    """Seven cases across the workflow, each child with a different name."""
    walker = Walker(session, registry, users)
    made = []
    for n, state in enumerate(["referred", "referred", "assessing", "awaiting_countersignature",
                               "ready_for_panel", "intervention", "withdrawn"]):
        case = walker.create(police_reference=f"TEST/{n:04d}", given_name=f"Given{n}",
                             family_name=f"Family{n}", has_victim=n % 2 == 1)
        walker.to(case, state)
        made.append(case)
    return made


@pytest.mark.parametrize("username", ["board", "manager", "admin"])
def test_the_board_managers_and_admins_see_the_dashboard(client, username):
    sign_in(client, username)
    page = client.get("/board")
    assert page.status_code == 200
    assert "Board dashboard" in page.text


@pytest.mark.parametrize("username", ["police", "case_manager", "chair", "victim_worker"])
def test_other_roles_may_not_see_the_dashboard(client, username):
    sign_in(client, username)
    assert client.get("/board").status_code == 403


def test_signing_in_is_needed(client):
    response = client.get("/board", follow_redirects=False)
    assert response.headers["location"] == "/sign-in?next=/board"


def test_cases_by_state_match_the_database(client, session, cases):
    sign_in(client, "board")
    page = client.get("/board")
    oocd = page.context["workflows"][0]
    shown = {row.name: row.cases for row in oocd["states"]}
    stored = dict(session.exec(select(Case.state, func.count()).group_by(Case.state)).all())
    assert {state: n for state, n in shown.items() if n} == stored
    assert shown["referred"] == 2 and shown["closed"] == 0
    assert [row.label for row in oocd["states"]][:3] == [
        "Referred", "Assessment in progress", "Awaiting countersignature"]
    assert (oocd["open_cases"], oocd["all_cases"]) == (6, 7)


def test_the_diagram_shows_the_live_count_of_each_state(client, cases):
    sign_in(client, "board")
    page = client.get("/board").text
    assert 'role="img"' in page and "the case workflow" in page
    assert "Cases in each state: Referred, 2; Assessment in progress, 1;" in page
    assert "<strong>Referred</strong>: 2 cases" in page  # the text alternative


def test_overdue_counts_per_milestone_match_the_open_deadlines(client, clock, session, registry,
                                                               cases):
    clock[0] = NOW + timedelta(days=30)
    sign_in(client, "board")
    oocd = client.get("/board").context["workflows"][0]
    overdue = list_open_deadlines(session, registry=registry, now=clock[0], overdue_only=True)
    expected = Counter(d.name for d in overdue)
    shown = {row.name: row.deadlines for row in oocd["overdue"]}
    assert {name: n for name, n in shown.items() if n} == dict(expected)
    assert set(shown) == {rule.name for rule in registry.latest("oocd").deadlines}
    assert oocd["overdue_deadlines"] == len(overdue) > 0
    # The cases counted are figure T6's: an overdue assessment, decision, countersignature or
    # sign-off (not a review alone, or a victim still to be told the outcome).
    t6_milestones = set(OVERDUE_DEADLINES.values())
    assert oocd["cases_overdue"] == len({d.case_id for d in overdue
                                         if d.name in t6_milestones}) > 0
    today = clock[0].date()
    t6 = compute_figures(session, registry=registry,
                         period=Period.of(today, today, clock[0]))["T6"].value
    assert oocd["cases_overdue"] == t6.numerator


def test_nothing_is_overdue_on_the_first_day(client, cases):
    sign_in(client, "manager")
    oocd = client.get("/board").context["workflows"][0]
    assert oocd["overdue_deadlines"] == oocd["cases_overdue"] == 0


def test_no_child_is_named_on_the_board(client, cases):
    sign_in(client, "board")
    page = client.get("/board").text
    for case in cases:
        assert case.given_name not in page
        assert case.family_name not in page
        assert case.police_reference not in page
        assert f"/cases/{case.id}" not in page


def test_the_dashboard_links_to_the_board_figures(client):
    sign_in(client, "board")
    assert 'href="/board/figures">board figures</a>' in client.get("/board").text


# --- the diagram on the case page -------------------------------------------------------------


def test_the_case_page_shows_the_case_on_its_workflow(client, session, registry, users):
    walker = Walker(session, registry, users)
    case = walker.create(has_victim=True)
    walker.to(case, "awaiting_countersignature")
    sign_in(client, "manager")
    page = client.get(f"/cases/{case.id}").text
    assert 'id="workflow-oocd-main"' in page and 'id="workflow-oocd-victim"' in page
    assert page.count('aria-current="step"') == 2  # one on each track
    assert "Current state: Awaiting countersignature." in page
    assert "Current state: Awaiting contact." in page
    assert "<strong>Awaiting countersignature</strong> (the current state)" in page
    assert "Countersign the assessment: leads to Ready for panel" in page


def test_a_case_without_a_victim_shows_only_the_main_track(client, session, registry, users):
    case = Walker(session, registry, users).create(has_victim=False)
    sign_in(client, "case_manager")
    page = client.get(f"/cases/{case.id}").text
    assert 'id="workflow-oocd-main"' in page and 'id="workflow-oocd-victim"' not in page
    assert "Current state: Referred." in page


def test_no_child_case_or_reference_is_on_the_boards_pages_or_in_its_pack(
        client, session, registry, users, clock):
    walker = Walker(session, registry, users)
    case = walker.create(police_reference="TEST/OVERDUE/1", given_name="Wrenna")
    walker.to(case, "assessing")
    clock[0] = walker.now + timedelta(days=30)  # the assessment is long overdue
    sign_in(client, "board")
    shown = [client.get("/board").text, client.get("/board/figures").text]
    shown += [client.get(f"/board/pack?format={f}").text for f in ("json", "csv", "html")]
    for text in shown:
        assert "TEST/OVERDUE/1" not in text and "Wrenna" not in text
        assert f"/cases/{case.id}" not in text and f"Case {case.id}<" not in text
    t6 = next(f for f in client.get("/board/pack?format=json").json()["figures"]
              if f["id"] == "T6")
    assert "overdue" not in t6 and "case_ids" not in t6
