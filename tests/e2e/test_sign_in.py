"""Each role signs in through the sign-in page and lands on its own home page."""

from __future__ import annotations

import pytest

from ooc.accounts import ROLES
from tests.e2e.browser import main_text, path_of, sign_in
from tests.e2e.scenery import HOME_PAGES, ROLE_USERS, USERS

pytestmark = pytest.mark.browser


def test_every_role_has_a_user_and_a_home_page():
    assert set(ROLE_USERS) == set(HOME_PAGES) == set(ROLES)
    for role, username in ROLE_USERS.items():
        assert role in USERS[username][1]


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_signs_in_and_lands_on_its_home_page(new_page, role):
    page = new_page()
    status = sign_in(page, ROLE_USERS[role])
    home = HOME_PAGES[role]
    assert path_of(page) == home, f"{role} landed on {page.url}, not {home}"
    assert status == 200, (f"{role}'s home page {home} answered {status}: "
                           f"{main_text(page)[:200]!r}")
    assert page.locator("h1").count() == 1, f"{home} should have exactly one h1"
    # Signed in: the header names the user and offers to sign out.
    assert page.get_by_text(USERS[ROLE_USERS[role]][0]).first.is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    # The home page is in the role's navigation, marked as the current page.
    current = page.locator(".govuk-service-navigation__item--active a")
    assert current.count() == 1 and current.get_attribute("href") == home


def test_signing_out_ends_the_session(new_page):
    # A session of its own: signing out ends it for good, and the other tests share the
    # remembered one.
    page = new_page()
    sign_in(page, "case_manager")
    page.goto("/caseload")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert path_of(page) == "/sign-in"
    page.goto("/caseload")
    assert path_of(page) == "/sign-in"  # sent back to sign in
