"""Finding a case and a police officer's referrals, in Chromium: from the navigation, a search by
part of a name with a filter, the results, the case opened from them; a date of birth that is not
a date; the pages on a phone's width; axe-core on each state of the pages."""

from __future__ import annotations

import pytest

from tests.e2e.browser import (
    check_accessibility,
    choose,
    click_link,
    error_summary,
    group,
    labelled,
    main_text,
    path_of,
    submit,
)
from tests.e2e.scenery import CASES, GIVEN_NAMES

pytestmark = pytest.mark.browser


def scenery_child(name: str) -> str:
    """The name the scenery gave the case `name` (tests/e2e/scenery.py)."""
    number = list(CASES).index(name) + 1
    return f"{GIVEN_NAMES[number % len(GIVEN_NAMES)]} Scenery"


def sideways_overflow(page) -> int:
    """How far the page is wider than the window (0: it does not scroll sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - "
                         "document.documentElement.clientWidth")


def test_a_case_manager_finds_a_closed_case_by_part_of_a_name_and_opens_it(new_page,
                                                                            live_server):
    child = scenery_child("closed")
    page = new_page("case_manager", preload_axe=True)
    page.goto("/caseload")
    with page.expect_navigation():
        page.get_by_role("navigation").get_by_role("link", name="Find a case").click()
    assert path_of(page) == "/search"
    check_accessibility(page, "Find a case, before searching")

    labelled(page, "Child’s name").fill(child.split()[0][:4].lower())
    choose(page, "Open or closed", "Closed or withdrawn")
    assert submit(page, "Search") == 200
    assert "1 case found" in main_text(page)
    row = page.locator("main table tbody tr")
    assert row.count() == 1
    assert "Closed" in row.inner_text() and "Test Case Manager" in row.inner_text()
    # What was searched for stays in the form, and not in the address.
    assert labelled(page, "Child’s name").input_value() == child.split()[0][:4].lower()
    assert child.split()[0][:4].lower() not in page.url
    check_accessibility(page, "Find a case, results")

    assert click_link(page, child) == 200
    assert path_of(page) == f"/cases/{live_server.scenery.cases['closed']}"
    assert child in page.locator("h1").inner_text()


def test_a_date_of_birth_that_is_not_a_date_is_shown_on_the_field(new_page):
    page = new_page("manager", preload_axe=True)
    page.goto("/search")
    labelled(page, "Child’s name").fill("scenery")
    born = group(page, "Date of birth")
    born.get_by_label("Day", exact=True).fill("31")
    born.get_by_label("Month", exact=True).fill("2")
    born.get_by_label("Year", exact=True).fill("2012")
    assert submit(page, "Search") == 422
    assert "Date of birth must be a real date" in error_summary(page)
    assert page.locator("#date_of_birth-day").input_value() == "31"
    assert page.locator("main table").count() == 0
    check_accessibility(page, "Find a case, a date of birth that is not a date")
    page.locator(".govuk-error-summary a", has_text="Date of birth").click()
    assert page.evaluate("() => document.activeElement.id") == "date_of_birth-day"


@pytest.mark.parametrize("width", [320, 375])
def test_the_results_and_my_referrals_fit_a_phone_without_scrolling_sideways(new_page, width):
    page = new_page("victim_worker")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/search")
    labelled(page, "Child’s name").fill("scenery")
    assert submit(page, "Search") == 200
    assert page.locator("main table tbody tr").count() >= 10
    assert sideways_overflow(page) == 0, f"Find a case scrolls sideways at {width} px"
    # Each case's details keep their column's name when the columns are stacked.
    cell = page.locator("main tbody td[data-label='Police reference']").first
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == \
        '"Police reference: "'
    check_accessibility(page, f"Find a case at {width} px")

    police = new_page("police")
    police.set_viewport_size({"width": width, "height": 800})
    police.goto("/referrals/mine")
    assert sideways_overflow(police) == 0, f"My referrals scrolls sideways at {width} px"
    check_accessibility(police, f"My referrals at {width} px")


def test_police_follow_their_referrals_without_opening_the_yjs_record(new_page):
    page = new_page("police", preload_axe=True)
    page.goto("/referrals/new")
    with page.expect_navigation():
        page.get_by_role("navigation").get_by_role("link", name="My referrals").click()
    assert path_of(page) == "/referrals/mine"
    text = main_text(page)
    assert scenery_child("closed") in text and "Community resolution" in text
    assert "Not known yet" in text
    withdrawn = page.locator("main tbody tr", has_text=scenery_child("withdrawn"))
    assert "No decision" in withdrawn.inner_text()
    assert page.locator("main a[href^='/cases/']").count() == 0
    check_accessibility(page, "My referrals")
