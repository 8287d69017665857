"""One case with a victim, from referral to closure, carried through the pages by each role.

Nothing here calls the engine: every step is a person using a page, finding the case the way
they would (their caseload, queue, list or agenda), pressing the action's button and filling in
its form. The path includes a return for rework, countersignature by a different manager, a
panel decision that departs from the gravity score (refused without a rationale, then accepted
with one), the victim track, a review and the closure.

Where a page is missing or does not list the case, the journey notes it, takes the case page
directly and carries on, so one missing page does not hide the rest; the test still fails at
the end, naming each such detour.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.e2e.browser import (
    check_accessibility,
    choose,
    clear_prefilled_text,
    click_link,
    error_summary,
    fill_date,
    group,
    labelled,
    main_text,
    path_of,
    submit,
)
from tests.e2e.scenery import TODAY

pytestmark = pytest.mark.browser

GIVEN, FAMILY = "Ysolde", "Wayfarer"
CHILD = f"{GIVEN} {FAMILY}"
REFERENCE = "E2E/JOURNEY/0001"

# Every step the timeline must list, oldest first.
DESISTANCE = "Back in school full time; a mentor through the youth club."
RETURN_COMMENTS = "Say how the victim's wish for an apology shapes the proposal."
TIMELINE = [
    "Referral received",
    "Case taken",
    "Assessment submitted",
    "Assessment returned for rework",
    "Assessment submitted",
    "Assessment countersigned",
    "Victim contacted",
    "Victim's views recorded",
    "Panel decision recorded",
    "Decision signed off",
    "Restorative justice not offered",
    "Victim told the outcome",
    "Review recorded",
    "Intervention closed",
]


class Journey:
    def __init__(self, new_page):
        self.new_page = new_page
        self.pages: dict[str, Page] = {}
        self.detours: list[str] = []
        self.case_path: str | None = None

    def as_user(self, username: str) -> Page:
        if username not in self.pages:
            self.pages[username] = self.new_page(username)
        return self.pages[username]

    # --- finding the case -------------------------------------------------------------------

    def _list_page(self, page: Page, path: str, what: str) -> bool:
        response = page.goto(path)
        if response.status != 200:
            self.detours.append(f"{what} ({path}) answered {response.status}")
            return False
        return True

    def open_case(self, username: str, list_path: str, what: str) -> Page:
        """Open the case from the user's list, as they would."""
        page = self.as_user(username)
        if self._list_page(page, list_path, what):
            link = page.locator("main").get_by_role("link", name=CHILD, exact=True)
            if link.count():
                with page.expect_navigation():
                    link.first.click()
                assert path_of(page) == self.case_path, page.url
                return page
            self.detours.append(f"{what} ({list_path}) does not list {CHILD}")
        page.goto(self.case_path)
        return page

    def act_from_list(self, username: str, list_path: str, what: str, label: str,
                      fill=None, state: str | None = None, sees: tuple[str, ...] = ()) -> Page:
        """Start an action from the link a list gives for it ("<label> for <child>")."""
        page = self.as_user(username)
        if self._list_page(page, list_path, what):
            link = page.locator("main").get_by_role("link", name=f"{label} for {CHILD}",
                                                     exact=True)
            if link.count():
                with page.expect_navigation() as opened:
                    link.first.click()
                self._fill_and_send(page, label, opened.value.status, fill, state, sees)
                return page
            self.detours.append(f"{what} ({list_path}) offers no '{label}' for {CHILD}")
        page.goto(self.case_path)
        return self.act(page, label, fill, state, sees)

    # --- acting on it -----------------------------------------------------------------------

    def act(self, page: Page, label: str, fill=None, state: str | None = None,
            sees: tuple[str, ...] = (), reworks: bool = False) -> Page:
        """On the case page: press the action's button, fill in its form and send it."""
        assert path_of(page) == self.case_path, f"expected the case page, at {page.url}"
        buttons = page.locator("main a.govuk-button", has_text=re.compile(
            rf"^\s*{re.escape(label)}\s*$"))
        assert buttons.count() == 1, (f"the case page offers no '{label}' button: "
                                      f"{main_text(page)[:600]!r}")
        with page.expect_navigation() as opened:
            buttons.first.click()
        self._fill_and_send(page, label, opened.value.status, fill, state, sees, reworks)
        return page

    def clear_prefilled(self, page: Page, label: str) -> None:
        """Text boxes must start empty; note any that do not, and clear them as a user would
        have to."""
        prefilled = clear_prefilled_text(page.locator("main form[method='post' i]").first)
        if prefilled:
            self.detours.append(f"'{label}' form opened with text already in its boxes "
                                f"({', '.join(prefilled)}); the journey cleared them")

    def _fill_and_send(self, page: Page, label: str, status: int, fill, state,
                       sees: tuple[str, ...] = (), reworks: bool = False) -> None:
        """`sees`: the work this form acts on, which it must show; `reworks`: the form redoes
        returned work, so it starts from the last submission rather than empty."""
        assert status == 200, f"the '{label}' form answered {status}: {main_text(page)[:300]!r}"
        assert page.locator("h1").inner_text().strip() == label
        for text in sees:
            assert text in main_text(page), f"the '{label}' form does not show {text!r}"
        if reworks:
            form = page.locator("main form[method='post' i]").first
            assert clear_prefilled_text(form), f"the '{label}' form did not start from the " \
                                               "returned work"
        self.clear_prefilled(page, label)
        if fill:
            fill(page)
        sent = submit(page, label)
        heading = page.locator("h1").inner_text().strip()
        if sent == 200 and heading.startswith("Check before you"):
            # An action that cannot be undone: check the answers and where the case goes.
            check_accessibility(page, f"check your answers before '{label}'")
            assert "This cannot be undone." in main_text(page)
            if state:
                assert f"The case will then be\t{state}" in main_text(page), main_text(page)
            sent = submit(page, f"Confirm: {label[0].lower()}{label[1:]}")
        assert sent == 200 and path_of(page) == self.case_path, (
            f"'{label}' was not accepted ({sent}, {page.url}): "
            f"{error_summary(page) or main_text(page)[:400]!r}")
        assert f"Done: {label.lower()}." in main_text(page)
        if state:
            assert state in case_states(page), (label, case_states(page))


def case_states(page: Page) -> tuple[str, str]:
    """The main and victim track states the case page shows."""
    def value(key: str) -> str:
        row = page.locator(".govuk-summary-list__row").filter(
            has=page.locator(".govuk-summary-list__key", has_text=re.compile(rf"^\s*{key}\s*$")))
        return row.first.locator(".govuk-summary-list__value").inner_text().strip()
    return value("Case"), value("Victim and restorative justice")


# --- the forms, filled in as a person would --------------------------------------------------


def referral(page: Page) -> None:
    labelled(page, "Police reference").fill(REFERENCE)
    labelled(page, "Child's first name").fill(GIVEN)
    labelled(page, "Child's last name").fill(FAMILY)
    fill_date(page, "Date of birth", TODAY.replace(year=TODAY.year - 14, month=5, day=14))
    choose(page, "Sex", "Female")
    labelled(page, "Ethnicity").select_option(
        label="White: English, Welsh, Scottish, Northern Irish or British")
    choose(page, "Looked-after child", "No")
    fill_date(page, "Date of the offence", TODAY.replace(day=TODAY.day - 3))
    labelled(page, "Offence").fill("Assault by beating")
    labelled(page, "Offence category").select_option(label="Violence against the person")
    labelled(page, "Gravity score").fill("3")  # indicates a youth caution
    choose(page, "The child has admitted the offence", "Yes")
    labelled(page, "Number of previous formal outcomes").fill("0")
    fill_date(page, "Date of referral", TODAY)
    # The victim's wish not to be contacted is asked only once there is a victim.
    assert not group(page, "The victim asked not to be contacted").is_visible()
    choose(page, "There is an identified victim", "Yes")
    assert group(page, "The victim asked not to be contacted").is_visible()
    choose(page, "The victim asked not to be contacted", "No")


def assessment(first_time: bool):
    def fill(page: Page) -> None:
        labelled(page, "Desistance: what will help the child stop offending").fill(DESISTANCE)
        labelled(page, "Safety and wellbeing of the child").fill("Safe at home; no concerns.")
        choose(page, "Risk of harm to others", "Low")
        labelled(page, "Safety of others").fill("Low risk; the incident was a one-off.")
        choose(page, "Proposed outcome", "Community resolution")
        labelled(page, "Reasons for the proposed outcome").fill(
            "First offence, admitted, remorseful." if first_time else
            "First offence, admitted, remorseful; the victim would welcome an apology, and a "
            "community resolution with reparation meets the risk.")
        labelled(page, "The child's views").fill("Sorry for what happened; wants to apologise.")
        labelled(page, "The parent's or carer's views").fill("Supports an informal outcome.")
    return fill


def decision(page: Page) -> None:
    choose(page, "Outcome", "Community resolution")
    labelled(page, "Rationale for the decision").fill(
        "Admitted, first offence, good engagement since the assessment.")
    choose(page, "The child has admitted the offence", "Yes")
    labelled(page, "The child's views on the outcome").fill("Agrees; wants to make amends.")
    labelled(page, "The parent's or carer's views on the outcome").fill("Agrees.")


def test_a_case_with_a_victim_from_referral_to_closure(new_page):
    journey = Journey(new_page)

    # Police refer the child through the referral form.
    police = journey.as_user("police")
    police.goto("/referrals/new")
    referral(police)
    assert submit(police, "Send referral") == 200, error_summary(police) or police.url
    assert "Referral received" in main_text(police) and REFERENCE in main_text(police)
    assert "What happens next" in main_text(police)
    check_accessibility(police, "the confirmation of a referral")

    # A case manager finds it among the new referrals and takes it.
    manager_page = journey.as_user("case_manager")
    manager_page.goto("/caseload")
    new_referrals = manager_page.locator("main").get_by_role("link", name=CHILD, exact=True)
    assert new_referrals.count() == 1, "the caseload does not list the new referral"
    with manager_page.expect_navigation():
        new_referrals.click()
    journey.case_path = path_of(manager_page)
    assert re.fullmatch(r"/cases/\d+", journey.case_path), journey.case_path
    assert case_states(manager_page) == ("Referred", "Awaiting contact")
    assert "13 years" in main_text(manager_page)  # age at the offence
    journey.act(manager_page, "Take this case", state="Assessment in progress")
    journey.act(manager_page, "Submit the assessment for countersignature",
                assessment(first_time=True), state="Awaiting countersignature")

    # A manager returns it for rework, with comments, reading the assessment on the form.
    journey.act_from_list("manager", "/manager", "the manager's queue",
                          "Return the assessment for rework",
                          lambda p: labelled(p, "What needs to change").fill(RETURN_COMMENTS),
                          state="Assessment in progress", sees=(DESISTANCE,))

    # The case manager sees the comments on the case and resubmits from the returned work.
    page = journey.open_case("case_manager", "/caseload", "the caseload")
    assert "Returned for rework" in main_text(page) and RETURN_COMMENTS in main_text(page)
    journey.act(page, "Submit the assessment for countersignature",
                assessment(first_time=False), state="Awaiting countersignature",
                sees=(RETURN_COMMENTS,), reworks=True)

    # The manager who returned it may countersign too, but here a different manager does,
    # reading the resubmitted assessment with its changes marked.
    journey.act_from_list("manager2", "/manager", "the manager's queue",
                          "Countersign the assessment", state="Ready for panel",
                          sees=(DESISTANCE, "the victim would welcome an apology", "Changed",
                                RETURN_COMMENTS))

    # The victim worker records contact and the victim's views.
    page = journey.open_case("victim_worker", "/victims", "the victims list")
    journey.act(page, "Record contact with the victim",
                lambda p: choose(p, "The victim agrees to further contact", "Yes"),
                state="Contacted")
    journey.act(page, "Record the victim's views",
                lambda p: labelled(p, "The victim's views and wishes").fill(
                    "Would like an apology letter; does not want to meet."),
                state="Views recorded")

    # The panel chair records a quorate meeting, opens its agenda and decides.
    chair = journey.as_user("chair")
    assert chair.goto("/panel").status == 200, "the panel meetings page is missing"
    assert click_link(chair, "Record a panel meeting") == 200
    status = chair.locator("#quorum-status")
    fill_date(chair, "Date of the meeting", TODAY)
    agencies = group(chair, "Agencies present")
    agencies.get_by_label("Police", exact=True).check()
    live = status.count() and "Not quorate" in status.inner_text()
    for agency in ("Youth justice service", "Health", "Education"):
        agencies.get_by_label(agency, exact=True).check()
    if not (live and re.search(r"(?<!Not )Quorate", status.inner_text())):
        journey.detours.append("the meeting form's live quorum indicator did not change as "
                               f"agencies were ticked (it shows {status.inner_text()!r})"
                               if status.count() else "the meeting form has no quorum indicator")
    assert submit(chair, "Save the meeting") == 200, error_summary(chair)
    assert re.fullmatch(r"/panel/meetings/\d+", path_of(chair)), chair.url
    meeting_id = path_of(chair).rsplit("/", 1)[1]
    assert "The meeting is quorate." in main_text(chair)
    agenda = chair.locator("main table").filter(has_text=CHILD)
    assert agenda.count() == 1, "the agenda does not list the case"
    assert click_link(chair, f"Record the decision for {CHILD}") == 200
    assert path_of(chair) == f"{journey.case_path}/actions/record_decision"
    assert labelled(chair, "Panel meeting").input_value() == meeting_id
    assert "The gravity score of 3 indicates: Youth caution" in main_text(chair)
    for text in (DESISTANCE, "Would like an apology letter; does not want to meet."):
        assert text in main_text(chair), f"the decision form does not show {text!r}"
    journey.clear_prefilled(chair, "Record the panel's decision")
    decision(chair)
    # Departing from the gravity score without saying why is refused, on the page.
    assert submit(chair, "Record the panel's decision") == 422
    assert "Give the reason for deciding Community resolution instead" in error_summary(chair)
    check_accessibility(chair, "decision form refused without a deviation rationale")
    labelled(chair, "Why the outcome differs from the one the gravity score indicates").fill(
        "The victim wants an apology and reparation, which a community resolution gives; a "
        "caution would add nothing for a first, admitted offence.")
    assert submit(chair, "Record the panel's decision") == 200, error_summary(chair)
    assert path_of(chair) == journey.case_path
    assert case_states(chair)[0] == "Awaiting sign-off"

    # A manager signs the decision off: the intervention starts.
    journey.act_from_list("manager", "/manager", "the manager's queue", "Sign off the decision",
                          state="Intervention",
                          sees=("Admitted, first offence, good engagement since the assessment.",
                                DESISTANCE))

    # The victim worker records the RJ decision and tells the victim the outcome.
    page = journey.open_case("victim_worker", "/victims", "the victims list")
    journey.act(page, "Record that restorative justice is not offered",
                lambda p: labelled(p, "Why restorative justice is not offered").fill(
                    "The victim wants a letter of apology only, arranged by the case manager."),
                state="Restorative justice declined or not offered")
    journey.act(page, "Record that the victim was told the outcome",
                state="Victim informed of the outcome")

    # The case manager reviews the intervention and closes it with feedback.
    page = journey.open_case("case_manager", "/caseload", "the caseload")
    journey.act(page, "Record a review", lambda p: (
        labelled(p, "Progress since the last review").fill("Apology letter written; two sessions."),
        labelled(p, "The child's views").fill("Finding the sessions useful."),
        labelled(p, "The parent's or carer's views").fill("Pleased with progress."),
    ), state="Intervention")
    journey.act(page, "Close the intervention", lambda p: (
        choose(p, "The child completed the intervention", "Yes"),
        labelled(p, "Exit review").fill("Completed: apology delivered, reparation done."),
        labelled(p, "The child's feedback on the service").fill("The worker listened to me."),
        labelled(p, "The parent's or carer's feedback on the service").fill("Well organised."),
    ), state="Closed")

    # The case page shows it closed, and its timeline lists every step.
    page.reload()
    assert case_states(page) == ("Closed", "Victim informed of the outcome")
    timeline = page.locator(".ooc-timeline li strong").all_inner_texts()
    assert list(reversed([t.strip() for t in timeline])) == TIMELINE
    assert "There is nothing you can do on this case now." in main_text(page)

    assert not journey.detours, ("The journey finished only by going around these problems:\n"
                                 + "\n".join(journey.detours))
