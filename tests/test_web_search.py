"""Finding a case (/search) and a police officer's referrals (/referrals/mine), through the pages
as their users use them, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from ooc.models import AccessLog, User
from tests.support import Walker, decision
from tests.web_support import sign_in

CASE_LINK = re.compile(r'href="/cases/(\d+)"')


@pytest.fixture
def people(session, users):
    """Two case managers in two teams, with their names as people read them."""
    for user in users.values():  # everyone in North but one case manager, to tell teams apart
        user.team = "North"
    users["case_manager"].display_name = "Priya Shah"
    users["case_manager2"].display_name, users["case_manager2"].team = "Tom Okafor", "South"
    session.commit()
    return users


@pytest.fixture
def walker(session, registry, people):
    return Walker(session, registry, people)


def find(client, token: str, fields: dict[str, str] | None = None, **more: str):
    """Send the search form and follow it to its results page."""
    sent = client.post("/search", data={"csrf_token": token, **(fields or {}), **more},
                       follow_redirects=False)
    assert sent.status_code == 303, sent.text
    return client.get(sent.headers["location"])


def found(page) -> list[str]:
    """The children listed, as the page shows them (name, then police reference)."""
    return [f"{c.child_name} {c.police_reference}" for c in page.context["results"].cases]


def log_rows(session, view: str) -> list[tuple[str, int]]:
    session.expire_all()
    return [(row.username, row.case_id) for row in session.exec(
        select(AccessLog).where(AccessLog.view == view).order_by(AccessLog.id)).all()]


def test_part_of_a_first_or_last_name_finds_the_child(client, walker):
    alice = walker.create(police_reference="REF/1", given_name="Alice", family_name="Smith")
    walker.create(police_reference="REF/2", given_name="Alicia", family_name="Jones")
    walker.create(police_reference="REF/3", given_name="Bob", family_name="Smithers")
    walker.create(police_reference="REF/4", given_name="Zoë", family_name="O'Brien-Hall")
    token = sign_in(client, "case_manager")

    page = find(client, token, name="ali")
    assert page.status_code == 200
    assert sorted(found(page)) == ["Alice Smith REF/1", "Alicia Jones REF/2"]
    assert "2 cases found" in page.text
    assert f'href="/cases/{alice.id}"' in page.text
    assert sorted(found(find(client, token, name="smi"))) == ["Alice Smith REF/1",
                                                              "Bob Smithers REF/3"]
    # Both names, in either order, any case, parts of each.
    assert found(find(client, token, name="alice smith")) == ["Alice Smith REF/1"]
    assert found(find(client, token, name="SMI ALI")) == ["Alice Smith REF/1"]
    # Accents, apostrophes and hyphens as people type them (or not).
    for typed in ("zoe", "Zoë o'brien", "obrien", "brien", "hall", "o’brien-hall"):
        assert found(find(client, token, name=typed)) == ["Zoë O'Brien-Hall REF/4"], typed
    # Only the start of a word matches: "lice" is in "Alice" but starts no word.
    assert found(find(client, token, name="lice")) == []


def test_a_police_reference_is_found_whole_whatever_its_case_and_spaces(client, walker):
    walker.create(police_reference="AB/2026/0042", given_name="Mo", family_name="Reyes")
    walker.create(police_reference="AB/2026/00421", given_name="Kit", family_name="Lane")
    token = sign_in(client, "case_manager")
    page = find(client, token, reference=" ab/2026/ 0042 ")
    assert found(page) == ["Mo Reyes AB/2026/0042"]
    assert "1 case found" in page.text
    assert found(find(client, token, reference="AB/2026")) == []


def test_a_date_of_birth_finds_the_children_born_that_day(client, walker):
    walker.create(police_reference="DOB/1", given_name="Ana", family_name="Diaz",
                  date_of_birth="2011-06-15")
    walker.create(police_reference="DOB/2", given_name="Ben", family_name="Diaz",
                  date_of_birth="2012-01-03")
    token = sign_in(client, "manager")
    page = find(client, token, {"date_of_birth-day": "15", "date_of_birth-month": "6",
                                "date_of_birth-year": "2011"})
    assert found(page) == ["Ana Diaz DOB/1"]
    assert "15 June 2011" in page.text
    # What was searched for is shown again in the form.
    assert 'name="date_of_birth-day" type="text" value="15"' in page.text
    both = find(client, token, {"name": "diaz", "date_of_birth-day": "3",
                                "date_of_birth-month": "1", "date_of_birth-year": "2012"})
    assert found(both) == ["Ben Diaz DOB/2"]


def test_filters_narrow_by_stage_case_manager_team_and_open_or_closed(client, walker):
    walker.create(police_reference="F/REFERRED", given_name="Ivy", family_name="Cole",
                   has_victim=True)
    north = walker.create(police_reference="F/NORTH", given_name="Ivo", family_name="Cole",
                           has_victim=True)
    walker.to(north, "assessing")  # taken by case_manager (team North)
    south = walker.create(police_reference="F/SOUTH", given_name="Ida", family_name="Cole",
                           has_victim=True)
    walker.fire(south, "take_case", "case_manager2")  # team South
    closed = walker.create(police_reference="F/CLOSED", given_name="Ike", family_name="Cole",
                            has_victim=True)
    walker.to(closed, "closed")
    withdrawn = walker.create(police_reference="F/WITHDRAWN", given_name="Ira",
                              family_name="Cole", has_victim=True)
    walker.to(withdrawn, "withdrawn")
    token = sign_in(client, "victim_worker")  # every case here has a victim: all reach them

    def refs(**fields):
        return sorted(c.police_reference for c in find(client, token, name="cole", **fields)
                      .context["results"].cases)

    assert refs() == ["F/CLOSED", "F/NORTH", "F/REFERRED", "F/SOUTH", "F/WITHDRAWN"]
    assert refs(stage="referred") == ["F/REFERRED"]
    assert refs(stage="assessing") == ["F/NORTH", "F/SOUTH"]
    assert refs(status="open") == ["F/NORTH", "F/REFERRED", "F/SOUTH"]
    assert refs(status="closed") == ["F/CLOSED", "F/WITHDRAWN"]
    assert refs(case_manager="case_manager2") == ["F/SOUTH"]
    assert refs(team="North") == ["F/CLOSED", "F/NORTH"]  # the closed one was theirs too
    assert refs(team="South", status="closed") == []
    # Filters alone, no name: every case they match.
    assert [c.police_reference for c in find(client, token, stage="withdrawn")
            .context["results"].cases] == ["F/WITHDRAWN"]
    page = find(client, token, name="ivo")
    assert "Assessment in progress" in page.text
    assert "Priya Shah" in page.text  # the case manager's name, not their username
    assert ">case_manager<" not in page.text
    assert "None yet" in find(client, token, name="ivy").text


def test_closed_and_withdrawn_cases_are_found_like_any_other(client, walker):
    closed = walker.create(police_reference="C/1", given_name="Noor", family_name="Ali")
    walker.to(closed, "closed")
    withdrawn = walker.create(police_reference="C/2", given_name="Noah", family_name="Ali")
    walker.to(withdrawn, "withdrawn")
    token = sign_in(client, "manager")  # the team's manager reaches both
    page = find(client, token, name="no")
    assert sorted(found(page)) == ["Noah Ali C/2", "Noor Ali C/1"]
    assert "Closed" in page.text and "Withdrawn" in page.text


def test_results_are_newest_referral_first_twenty_a_page(client, walker):
    for n in range(45):
        walker.create(police_reference=f"P/{n:02d}", given_name=f"Child{n:02d}",
                      family_name="Paged", referral_date=f"2026-02-{n % 20 + 1:02d}",
                      offence_date="2026-01-20")
    token = sign_in(client, "case_manager")
    first = find(client, token, name="paged")
    results = first.context["results"]
    assert (results.found, results.pages, len(results.cases)) == (45, 3, 20)
    assert "45 cases found" in first.text and "Showing 1 to 20" in first.text
    # Newest referral first; the same day, the newest case first.
    order = [(c.referral_date, c.id) for c in results.cases]
    assert order == sorted(order, reverse=True)
    assert results.cases[0].police_reference == "P/39"  # 20 February, the last made that day
    # GOV.UK pagination: the next page's link, and each page's.
    token_part = re.search(r"results=([\w-]+)", str(first.url)).group(1)
    assert f'href="/search?results={token_part}&amp;page=2" rel="next"' in first.text
    assert 'aria-current="page"' in first.text
    second = client.get(f"/search?results={token_part}&page=2")
    assert "Showing 21 to 40" in second.text
    third = client.get(f"/search?results={token_part}&page=3")
    assert len(third.context["results"].cases) == 5
    seen = [c.id for p in (first, second, third) for c in p.context["results"].cases]
    assert len(set(seen)) == 45
    assert "rel=\"prev\"" in third.text and "rel=\"next\"" not in third.text


def test_each_page_of_results_is_written_to_the_access_log(client, session, walker):
    cases = [walker.create(police_reference=f"L/{n:02d}", given_name="Lia",
                           family_name=f"Log{n:02d}") for n in range(22)]
    token = sign_in(client, "manager")
    sent = client.post("/search", data={"csrf_token": token, "name": "lia"},
                       follow_redirects=False)
    assert log_rows(session, "search results") == []  # sending the form shows nobody yet
    first = client.get(sent.headers["location"])
    shown = [int(i) for i in CASE_LINK.findall(first.text)]
    assert len(shown) == 20
    assert log_rows(session, "search results") == [("manager", i) for i in shown]
    client.get(sent.headers["location"] + "&page=2")
    rows = log_rows(session, "search results")
    assert len(rows) == 22 and {i for _, i in rows} == {c.id for c in cases}


def test_a_search_with_no_results_says_so_and_how_to_widen_it(client, walker, session):
    walker.create(police_reference="N/1", given_name="Sam", family_name="Hart")
    token = sign_in(client, "case_manager")
    page = find(client, token, name="nobody", stage="closed")
    assert page.status_code == 200
    assert "No cases found" in page.text
    assert "Improve your results by" in page.text
    assert "checking the spelling of the name" in page.text
    assert "choosing any stage" in page.text
    assert log_rows(session, "search results") == []


@pytest.mark.parametrize(("day", "month", "year", "message", "highlighted"), [
    ("31", "2", "2012", "Date of birth must be a real date", {"day", "month", "year"}),
    ("15", "", "", "Date of birth must include a month and year", {"month", "year"}),
    ("x", "6", "2011", "Date of birth must be a real date", {"day"}),
    ("15", "6", "11", "Year must include 4 numbers", {"year"}),
    ("1", "1", "2030", "Date of birth must be in the past", {"day", "month", "year"}),
])
def test_a_date_of_birth_that_is_not_a_date_is_shown_as_a_gov_uk_error(
        client, walker, session, day, month, year, message, highlighted):
    walker.create()
    token = sign_in(client, "case_manager")
    response = client.post("/search", data={
        "csrf_token": token, "name": "alex", "date_of_birth-day": day,
        "date_of_birth-month": month, "date_of_birth-year": year}, follow_redirects=False)
    assert response.status_code == 422
    assert "There is a problem" in response.text
    first = next(p for p in ("day", "month", "year") if p in highlighted)
    assert f'<a href="#date_of_birth-{first}">{message}</a>' in response.text
    assert '<span class="govuk-visually-hidden">Error:</span> ' + message in response.text
    for part, typed in (("day", day), ("month", month), ("year", year)):
        field = re.search(rf'<input\s+class="([^"]*)" id="date_of_birth-{part}"[^>]*'
                          rf'value="([^"]*)"', response.text)
        assert field.group(2) == typed  # kept as typed
        assert ("govuk-input--error" in field.group(1)) == (part in highlighted), part
    assert 'value="alex"' in response.text
    assert response.context["results"] is None  # nothing searched for, nobody shown
    assert log_rows(session, "search results") == []


@pytest.mark.parametrize(("field", "value", "message"), [
    ("stage", "on_the_moon", "There is no stage called ‘on_the_moon’"),
    ("case_manager", "nobody_by_that_name", "There is no case manager called"),
    ("team", "Atlantis", "There is no team called ‘Atlantis’"),
    ("status", "maybe", "There is no open or closed called ‘maybe’"),
])
def test_an_unknown_filter_value_is_a_clear_message_not_an_error_page(client, walker, field,
                                                                        value, message):
    walker.create()
    token = sign_in(client, "case_manager")
    response = client.post("/search", data={"csrf_token": token, field: value})
    assert response.status_code == 422
    assert message in response.text
    assert f'href="#{field}"' in response.text
    assert "Sorry, there is a problem with the service" not in response.text


def test_page_numbers_past_the_end_or_not_numbers_are_explained(client, walker, session):
    case = walker.create()
    token = sign_in(client, "case_manager")
    base = "/search?" + str(find(client, token, name="alex").url).split("?")[1]
    for page in ("2", "0", "abc", "-1", "99999999999"):
        response = client.get(f"{base}&page={page}")
        assert response.status_code == 404, page
        assert f"There is no page ‘{page}’ of these results: they fill 1 page" in response.text
        assert "Alex Example" not in response.text
    assert log_rows(session, "search results") == [("case_manager", case.id)]


def test_a_search_that_has_expired_says_so(client):
    sign_in(client, "case_manager")
    response = client.get("/search?results=not-a-search")
    assert response.status_code == 404
    assert "This search has expired" in response.text


def test_the_last_ten_searches_of_a_session_can_still_be_paged_through(client, walker):
    walker.create()
    token = sign_in(client, "case_manager")
    addresses = [client.post("/search", data={"csrf_token": token, "name": "alex",
                                              "stage": stage}, follow_redirects=False)
                 .headers["location"] for stage in ["", "referred"] * 5 + ["closed"]]
    assert len(set(addresses)) == 11
    assert client.get(addresses[0]).status_code == 404  # the oldest of eleven
    assert [client.get(a).status_code for a in addresses[1:]] == [200] * 10


def test_the_childs_details_never_appear_in_the_address(client, walker):
    walker.create(given_name="Rowan", family_name="Quill")
    token = sign_in(client, "case_manager")
    sent = client.post("/search", data={"csrf_token": token, "name": "rowan quill",
                                        "date_of_birth-day": "15", "date_of_birth-month": "6",
                                        "date_of_birth-year": "2011"}, follow_redirects=False)
    location = sent.headers["location"]
    assert re.fullmatch(r"/search\?results=[\w-]{8}", location)
    assert found(client.get(location)) == ["Rowan Quill TEST/0001"]
    assert 'action="/search"' in client.get("/search").text
    assert 'method="post"' in client.get("/search").text


@pytest.mark.parametrize("username", ["police", "board", "admin"])
def test_roles_that_do_not_open_case_records_cannot_search(client, username):
    token = sign_in(client, username)
    for response in (client.get("/search"),
                     client.post("/search", data={"csrf_token": token, "name": "a"})):
        assert response.status_code == 403
        assert ("This page is for case manager or manager or panel chair or victim worker "
                "users.") in response.text


def test_find_a_case_and_my_referrals_are_in_the_navigation_of_their_roles(client):
    sign_in(client, "case_manager")
    page = client.get("/search")
    nav = [(item["text"], item["active"]) for item in page.context["navigation"]]
    assert ("Find a case", True) in nav and ("My caseload", False) in nav
    sign_in(client, "police")
    page = client.get("/referrals/mine")
    nav = [(item["text"], item["active"]) for item in page.context["navigation"]]
    assert nav == [("New referral", False), ("My referrals", True)]
    assert [i["text"] for i in client.get("/referrals/new").context["navigation"]
            if i["active"]] == ["New referral"]
    sign_in(client, "board")
    texts = [i["text"] for i in client.get("/board").context["navigation"]]
    assert "Find a case" not in texts and "My referrals" not in texts


# --- police: my referrals --------------------------------------------------------------------


@pytest.fixture
def other_police(session):
    from tests.support import _password_hash

    officer = User(username="police2", display_name="Another Officer", roles=["police"],
                   password_hash=_password_hash())
    session.add(officer)
    session.commit()
    return officer


def test_police_see_the_referrals_they_made_with_the_outcome_once_signed_off(
        client, session, walker, other_police):
    signed_off = walker.create(police_reference="MINE/1", given_name="Ola", family_name="Berg",
                               referral_date="2026-02-23")
    walker.to(signed_off, "intervention")  # community resolution, signed off
    decided = walker.create(police_reference="MINE/2", given_name="Eli", family_name="Berg",
                            referral_date="2026-02-24")
    walker.to(decided, "awaiting_signoff")  # decided, not signed off yet
    withdrawn = walker.create(police_reference="MINE/3", given_name="Ada", family_name="Berg",
                              referral_date="2026-02-20")
    walker.to(withdrawn, "withdrawn")
    walker.users = {**walker.users, "police": other_police}
    walker.create(police_reference="THEIRS/1", given_name="Una", family_name="Berg")

    sign_in(client, "police")
    page = client.get("/referrals/mine")
    assert page.status_code == 200
    rows = [(c.police_reference, c.stage, c.outcome) for c in page.context["results"].cases]
    assert rows == [("MINE/2", "Awaiting sign-off", None),
                    ("MINE/1", "Intervention", "Community resolution"),
                    ("MINE/3", "Withdrawn", None)]
    assert "You have made 3 referrals." in page.text
    outcomes = re.findall(r'data-label="Outcome">([^<]*)<', page.text)
    assert outcomes == ["Not known yet", "Community resolution", "No decision"]
    assert "THEIRS/1" not in page.text and "Una Berg" not in page.text
    # Not the YJS record: no link to a case, nothing of the assessment or the decision's reasons.
    assert "/cases/" not in page.text
    assert "Engaged with school" not in page.text
    assert decision(1)["rationale"] not in page.text
    assert log_rows(session, "my referrals") == [("police", decided.id),
                                                 ("police", signed_off.id),
                                                 ("police", withdrawn.id)]


def test_an_officer_who_also_manages_cases_gets_links_to_the_cases_their_work_reaches(
        client, session, walker):
    from tests.support import _password_hash

    both = User(username="police_cm", display_name="Dual Role", roles=["police", "case_manager"],
                team="South", password_hash=_password_hash())
    session.add(both)
    session.commit()
    walker.users = {**walker.users, "police": both}
    waiting = walker.create(police_reference="BOTH/1", given_name="Lu", family_name="Wait")
    taken = walker.create(police_reference="BOTH/2", given_name="Lo", family_name="North")
    walker.fire(taken, "take_case", "case_manager")  # the North team's now
    sign_in(client, "police_cm")
    page = client.get("/referrals/mine")
    assert [c.police_reference for c in page.context["results"].cases] == ["BOTH/2", "BOTH/1"]
    assert f'href="/cases/{waiting.id}"' in page.text
    assert f'href="/cases/{taken.id}"' not in page.text and "Lo North" in page.text


def test_a_decision_returned_after_a_breach_shows_the_new_outcome_only_when_signed_off(
        client, walker):
    case = walker.create(police_reference="BREACH/1")
    walker.to(case, "intervention")
    walker.tick()
    walker.fire(case, "breach", "case_manager", reason="Missed three sessions.")
    walker.tick()
    walker.fire(case, "record_decision", "chair",
                decision(walker.quorate_meeting().id, outcome="youth_caution",
                         deviation_rationale="Repeated non-compliance."))
    sign_in(client, "police")
    assert client.get("/referrals/mine").context["results"].cases[0].outcome is None
    walker.tick()
    walker.fire(case, "sign_off", "manager")
    assert client.get("/referrals/mine").context["results"].cases[0].outcome == "Youth caution"


def test_my_referrals_come_a_page_at_a_time(client, session, walker):
    for n in range(23):
        walker.create(police_reference=f"MANY/{n:02d}", given_name="Cy", family_name=f"N{n:02d}")
    sign_in(client, "police")
    first = client.get("/referrals/mine")
    assert len(first.context["results"].cases) == 20
    assert 'href="/referrals/mine?page=2"' in first.text
    second = client.get("/referrals/mine?page=2")
    assert [c.police_reference for c in second.context["results"].cases] == [
        "MANY/02", "MANY/01", "MANY/00"]
    for page in ("3", "x"):
        missing = client.get(f"/referrals/mine?page={page}")
        assert missing.status_code == 404
        assert f"There is no page ‘{page}’ of your referrals: they fill 2 pages" in missing.text
    assert len(log_rows(session, "my referrals")) == 23


def test_a_police_officer_with_no_referrals_is_told_so(client):
    sign_in(client, "police")
    page = client.get("/referrals/mine")
    assert "You have not made any referrals yet." in page.text
    assert 'href="/referrals/new"' in page.text


def test_counts_stop_at_the_limit(client, session, walker, monkeypatch):
    """Counting every match would read them all: past the limit the page says "more than",
    and the pages go as far as the count did."""
    monkeypatch.setattr("ooc.search.COUNT_LIMIT", 3)
    monkeypatch.setattr("ooc.search.PAGE_SIZE", 2)
    for n in range(5):
        walker.create(police_reference=f"CAP/{n}", given_name="Al", family_name="Capped")
    token = sign_in(client, "case_manager")
    first = find(client, token, name="capped")
    assert "More than 3 cases found" in first.text
    assert "Only the first 3 can be shown" in first.text
    results = first.context["results"]
    assert (results.pages, found(first)) == (2, ["Al Capped CAP/4", "Al Capped CAP/3"])
    second = client.get(str(first.url) + "&page=2")
    assert found(second) == ["Al Capped CAP/2"]


def test_pagination_shows_the_first_and_last_pages_and_the_neighbours_of_this_one():
    from web.routes.search import pagination

    shown = pagination(7, 50, lambda n: f"?page={n}")
    assert [i.get("number", "…") for i in shown["items"]] == [1, "…", 6, 7, 8, "…", 50]
    assert [i["number"] for i in shown["items"] if i.get("current")] == [7]
    assert (shown["previous"]["href"], shown["next"]["href"]) == ("?page=6", "?page=8")
    assert pagination(1, 1, str) is None
    assert [i.get("number", "…") for i in pagination(1, 3, str)["items"]] == [1, 2, 3]
    assert pagination(3, 3, str)["next"] is None
