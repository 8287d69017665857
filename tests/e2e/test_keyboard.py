"""The panel's forms completed with the keyboard alone.

Tab and Shift+Tab move between the controls, arrow keys choose from a select and move through
radios, Space ticks radios and checkboxes, text is typed, and Enter or Space presses the
button. Every element the focus passes through must show a visible focus indicator (it is
:focus-visible and looks different from when it is not focused). After a refused submission the
GOV.UK error summary takes the focus, and each of its links moves the focus to its field.
"""

from __future__ import annotations

import pytest

from ooc.calendar import uk_date
from tests.e2e.browser import (
    assert_focus_visible,
    focused,
    main_text,
    path_of,
    remember_unfocused_styles,
    tab_to,
)
from tests.e2e.scenery import TODAY

pytestmark = pytest.mark.browser

BUTTON = "Record the panel's decision"


def is_button(label):
    return lambda f: f["tag"] == "button" and f["label"] == label


def type_into(page, text: str) -> None:
    page.keyboard.press("Control+A")  # replace anything already in the box
    page.keyboard.type(text)


def test_the_decision_form_can_be_completed_with_the_keyboard_alone(new_page, live_server):
    scenery = live_server.scenery
    case_path = f"/cases/{scenery.cases['keyboard_decision']}"
    page = new_page("chair")
    assert page.goto(f"{case_path}/actions/record_decision").status == 200
    remember_unfocused_styles(page)

    # The panel meeting, from a select, with the arrow keys.
    tab_to(page, lambda f: f["id"] == "meeting_id")
    wanted = f"{scenery.meeting_date:%A} {uk_date(scenery.meeting_date)}"
    for _ in range(20):
        page.keyboard.press("ArrowDown")
        chosen = page.locator("#meeting_id option:checked").inner_text()
        if wanted in chosen:
            break
    assert wanted in chosen, f"the arrow keys did not reach the meeting of {wanted}"
    assert page.locator("#meeting_id").input_value() == str(scenery.meeting_id)

    # The outcome, from radios: Tab into the group, arrow keys to move and choose.
    first = tab_to(page, lambda f: f["name"] == "outcome")
    assert first["type"] == "radio"
    for _ in range(10):
        info = focused(page)
        if info["label"] == "Community resolution":
            break
        page.keyboard.press("ArrowDown")
    info = focused(page)
    assert info["label"] == "Community resolution" and info["checked"], info
    assert_focus_visible(info)

    tab_to(page, lambda f: f["id"] == "rationale")
    type_into(page, "Indicated by the gravity score; admitted; first offence.")

    # Admission, from Yes/No radios: Space chooses the focused one.
    info = tab_to(page, lambda f: f["name"] == "admission")
    assert info["label"] == "Yes", info
    page.keyboard.press("Space")
    assert focused(page)["checked"]

    tab_to(page, lambda f: f["id"] == "child_views")
    type_into(page, "Wants to put things right.")
    tab_to(page, lambda f: f["id"] == "parent_views")
    type_into(page, "Supports the outcome.")

    # Shift+Tab goes back: to the chosen admission radio, which kept its choice.
    info = tab_to(page, lambda f: f["name"] == "admission", backwards=True)
    assert info["label"] == "Yes" and info["checked"], info
    tab_to(page, lambda f: f["id"] == "parent_views")

    # The button, pressed with Enter.
    tab_to(page, is_button(BUTTON))
    with page.expect_navigation() as sent:
        page.keyboard.press("Enter")
    assert sent.value.status == 200, main_text(page)[:500]
    assert path_of(page) == case_path
    assert f"Done: {BUTTON.lower()}." in main_text(page)
    assert "Awaiting sign-off" in main_text(page)


def test_after_an_error_the_summary_has_the_focus_and_its_links_reach_the_fields(
        new_page, live_server):
    case_path = f"/cases/{live_server.scenery.cases['keyboard_errors']}"
    page = new_page("chair")
    assert page.goto(f"{case_path}/actions/record_decision").status == 200
    remember_unfocused_styles(page)

    # Send the form with nothing chosen: Tab to the button, press it with Space.
    tab_to(page, is_button(BUTTON))
    with page.expect_navigation() as sent:
        page.keyboard.press("Space")
    assert sent.value.status == 422

    # GOV.UK Frontend moves the focus to the error summary.
    page.wait_for_function("() => document.activeElement"
                           " && document.activeElement.matches('.govuk-error-summary')")
    assert_focus_visible(focused(page))
    links = page.locator(".govuk-error-summary__list a").evaluate_all(
        "links => links.map(a => [a.getAttribute('href'), a.innerText.trim()])")
    # Nothing chosen: at least the meeting, the outcome and the admission.
    targets = [href for href, _ in links]
    for needed in ("#meeting_id", "#outcome", "#admission"):
        assert needed in targets, f"no error for {needed} in {links}"

    remember_unfocused_styles(page)
    for number, (href, text) in enumerate(links):
        # From the summary, Tab to the first link; from a field, Shift+Tab back to the next.
        tab_to(page, lambda f, href=href: f["tag"] == "a" and f["href"] == href,
               backwards=number > 0)
        page.keyboard.press("Enter")
        info = focused(page)
        assert info["id"] == href.removeprefix("#"), (
            f"the error link {text!r} ({href}) left the focus on <{info['tag']} "
            f"id={info['id']}>, not on its field")
        assert_focus_visible(info)


def test_a_panel_meeting_can_be_recorded_with_the_keyboard_alone(new_page):
    """The meeting form has checkboxes: Space ticks each agency as Tab reaches it."""
    page = new_page("chair")
    assert page.goto("/panel/meetings/new").status == 200
    remember_unfocused_styles(page)
    tab_to(page, lambda f: f["id"] == "held_on-day")
    page.keyboard.type(str(TODAY.day))
    for part, value in (("month", TODAY.month), ("year", TODAY.year)):
        tab_to(page, lambda f, part=part: f["id"] == f"held_on-{part}")
        page.keyboard.type(str(value))
    for agency in ("Police", "Youth justice service", "Health", "Education"):
        tab_to(page, lambda f, agency=agency: f["type"] == "checkbox" and f["label"] == agency)
        page.keyboard.press("Space")
        assert focused(page)["checked"], agency
    tab_to(page, is_button("Save the meeting"))
    with page.expect_navigation() as sent:
        page.keyboard.press("Enter")
    assert sent.value.status == 200, main_text(page)[:400]
    assert path_of(page).startswith("/panel/meetings/")
    assert "The meeting is quorate." in main_text(page)
