"""axe-core on every page each role can reach, with no serious or critical WCAG 2.2 AA violation,
and no page scrolling sideways at 320 CSS pixels (reflow at 400% zoom).

The pages are found, not listed: from each role's start pages the test follows every link on
the site (navigation, lists, case pages and their action buttons), checking each page as it
goes. The pages the issue names for a role are start pages too, so a page that is not linked
from anywhere is still checked, and one that is missing is reported. Each action form of the
workflow must be reached from some case page by the role that may use it, and forms are also
checked in their error state (sent empty, re-rendered with the GOV.UK error summary).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlmodel import Session, select

from ooc.access import CASE_VIEWERS, viewable
from ooc.models import Case, User
from tests.e2e.browser import (
    REFLOW_WIDTH,
    Crawl,
    accessibility_violations,
    check_accessibility,
    clear_prefilled_text,
    describe_violations,
    main_text,
    path_of,
    pattern_of,
)
from tests.e2e.scenery import ROLE_USERS
from tests.support import referral

pytestmark = pytest.mark.browser

# The pages issue 3 names for each role (beyond what its navigation links to), and issue 11's
# Find a case and My referrals.
REQUIRED_PAGES = {
    "signed_out": ["/sign-in"],
    "police": ["/referrals/new", "/referrals/upload", "/referrals/mine"],
    "case_manager": ["/caseload", "/referrals/new", "/search"],
    "panel_chair": ["/panel", "/panel/meetings/new", "/panel/meetings/{meeting}", "/search"],
    "manager": ["/manager", "/board", "/board/figures", "/board/figures/T1/cases", "/quality",
                "/plan", "/search"],
    "victim_worker": ["/victims", "/search"],
    "board": ["/board", "/board/figures", "/plan"],
    "admin": ["/admin", "/board"],
    "data_protection": ["/access-log", "/cases/1/views"],
}
# Forms that may safely be sent empty to see their error state: they refuse, and save nothing.
EMPTY_SUBMITTABLE = {"/referrals/new", "/referrals/upload", "/panel/meetings/new",
                     "/admin/users/new"}
ACTION = "/cases/{id}/actions/"


def _required(role: str, live_server) -> list[str]:
    meeting = live_server.scenery.meeting_id
    return [p.format(meeting=meeting) for p in REQUIRED_PAGES[role]]


def _reachable(live_server, role: str) -> set[int]:
    """The cases the role's work reaches (ooc.access): the others answer 403, rightly."""
    with Session(live_server.engine) as session:
        user = session.exec(select(User).where(User.username == ROLE_USERS[role])).one()
        return set(session.exec(select(Case.id).where(viewable(user, live_server.registry))))


def _submit_empty_and_check(crawl: Crawl, path: str) -> list[str]:
    """Send the page's form with nothing filled in; expect the GOV.UK error summary."""
    page = crawl.page
    page.goto(path)
    form = page.locator("main form[method='post' i]").first
    # Nothing typed yet, so every text field must be empty; a field that shows a value
    # ("None", say) would be sent as an answer, and the action could go through.
    # Those are reported, and cleared so that the form really is sent empty.
    prefilled = clear_prefilled_text(form)
    problems = []
    if prefilled:
        problems.append(f"{path}: text boxes already hold text before anything is typed "
                        f"({', '.join(prefilled)}); sent as answers if left alone")
    with page.expect_navigation() as sent:
        form.locator("button[type='submit'], button:not([type]), input[type='submit']") \
            .first.click()
    status = sent.value.status if sent.value else 0
    where = f"{path} (sent empty)"
    if status != 422 or not page.locator(".govuk-error-summary").count():
        problems.append(f"{where}: expected a 422 page with a GOV.UK error summary, got "
                        f"{status} {main_text(page)[:160]!r}")
    problems.extend(describe_violations(where, accessibility_violations(page)))
    return problems


def _upload_with_a_rejected_row(crawl: Crawl, definition) -> list[str]:
    """The upload page showing its report: a file whose only row is rejected."""
    page = crawl.page
    page.goto("/referrals/upload")
    header = ",".join(f.name for f in definition.referral.fields)
    row = ",".join("E2E/UPLOAD/BAD" if f.name == "police_reference" else
                   "9" if f.name == "gravity_score" else "" for f in definition.referral.fields)
    page.locator("main input[type='file']").set_input_files(files=[{
        "name": "referrals.csv", "mimeType": "text/csv",
        "buffer": f"{header}\r\n{row}\r\n".encode()}])
    form = page.locator("main form[method='post' i]").first
    with page.expect_navigation() as sent:
        form.locator("button").first.click()
    where = "/referrals/upload (a file with a rejected row)"
    problems = []
    if "E2E/UPLOAD/BAD" not in main_text(page):
        problems.append(f"{where}: the report does not list the rejected row "
                        f"({sent.value.status}: {main_text(page)[:200]!r})")
    problems.extend(describe_violations(where, accessibility_violations(page)))
    return problems


def _upload_a_good_file(crawl: Crawl, definition) -> list[str]:
    """The page of an upload's import job, once the import is done (it refreshes itself
    until then)."""
    page = crawl.page
    page.goto("/referrals/upload")
    values = referral(police_reference="E2E/UPLOAD/GOOD")
    header = ",".join(f.name for f in definition.referral.fields)
    row = ",".join(("yes" if values.get(f.name) else "no") if f.type == "bool" else
                   str(values.get(f.name, "")) for f in definition.referral.fields)
    page.locator("main input[type='file']").set_input_files(files=[{
        "name": "referrals.csv", "mimeType": "text/csv",
        "buffer": f"{header}\r\n{row}\r\n".encode()}])
    form = page.locator("main form[method='post' i]").first
    with page.expect_navigation():
        form.locator("button").first.click()
    where = "/referrals/uploads/{id} (an import job's page)"
    for _ in range(10):
        if not page.locator("meta[http-equiv='refresh']").count():
            break
        with page.expect_navigation(timeout=10_000):
            pass
    problems = []
    if "E2E/UPLOAD/GOOD" not in main_text(page):
        problems.append(f"{where}: the result does not list the row ({main_text(page)[:200]!r})")
    problems.extend(describe_violations(where, accessibility_violations(page)))
    return problems


@pytest.mark.parametrize("role", ["signed_out", *ROLE_USERS])
def test_every_page_a_role_can_reach_is_accessible(new_page, live_server, role):
    page = new_page(ROLE_USERS.get(role), preload_axe=True)
    crawl = Crawl(page, origin=live_server.url)
    required = _required(role, live_server)
    seeds = ["/", *required]
    views_cases = role in CASE_VIEWERS
    # Each case of the scenery (one per state), so each state's action buttons are found; the
    # pages of other cases in the same states (the keyboard tests' and the journey's, or those
    # linked from lists) are not checked again.
    cases = [f"/cases/{case_id}" for name, case_id in live_server.scenery.cases.items()
             if not name.startswith("keyboard") and case_id in _reachable(live_server, role)
             ] if views_cases else []
    crawl.run(seeds + cases, limit_per_pattern={"/cases/{id}": max(len(cases), 1)})

    problems = []
    for visit in crawl.visits:
        if visit.status >= 400:
            kind = ("missing page" if {visit.path, visit.final_path} & set(required)
                    else "broken link")
            problems.append(f"{visit.path}: {kind}, answered {visit.status} "
                            f"(from {visit.found_on})")
        problems.extend(describe_violations(visit.path, visit.violations))
        if visit.overflow > 0:
            problems.append(f"{visit.path}: scrolls sideways by {visit.overflow} px at "
                            f"{REFLOW_WIDTH} px wide (WCAG 2.2 reflow)")
    visited = {p for v in crawl.visits if v.status < 400
               for p in (urlsplit(v.path).path, v.final_path)}
    for path in required:
        assert any(path in (urlsplit(v.path).path, v.final_path) for v in crawl.visits), (
            f"{path} was not visited")

    # Every action form this role may use was reached from a case page and checked.
    definition = live_server.registry.latest("oocd")
    reached = {}
    for visit in crawl.visits:
        pattern = pattern_of(urlsplit(visit.path).path)
        if pattern.startswith(ACTION) and visit.status < 400:
            reached.setdefault(pattern.removeprefix(ACTION), visit.path)
    if views_cases:
        expected = {t.trigger for t in definition.transitions
                    if set(t.roles) & {role}}
        for trigger in sorted(expected - set(reached)):
            problems.append(f"the action form {trigger!r} was never offered on a case page to "
                            f"a {role} (scenery in tests/e2e/scenery.py should reach it)")

    # Error states: action forms with a required field, and the other forms that refuse an
    # empty submission, sent empty.
    fields_required = {t.trigger for t in definition.transitions
                       if any(f.required for f in t.fields)}
    for trigger, path in sorted(reached.items()):
        if trigger in fields_required:
            problems.extend(_submit_empty_and_check(crawl, path))
    for path in sorted(EMPTY_SUBMITTABLE & visited):
        problems.extend(_submit_empty_and_check(crawl, path))
    if "/referrals/upload" in visited:
        problems.extend(_upload_with_a_rejected_row(crawl, definition))
        problems.extend(_upload_a_good_file(crawl, definition))

    checked = sorted({pattern_of(v.final_path or urlsplit(v.path).path) for v in crawl.visits})
    print(f"{role}: checked {len(crawl.visits)} pages ({', '.join(checked)}); links not "
          f"followed: {', '.join(sorted(crawl.skipped)) or 'none'}")
    assert not problems, (f"{len(problems)} problem(s) for {role} on {len(crawl.visits)} "
                          f"pages ({', '.join(checked)}):\n" + "\n".join(problems))


ERROR_PAGES = {
    "404 unknown address, signed out": (None, "/no-such-page", 404),
    "404 unknown address, signed in": ("case_manager", "/no-such-page", 404),
    "404 unknown case": ("case_manager", "/cases/999999", 404),
    "404 unknown panel meeting": ("chair", "/panel/meetings/999999", 404),
    "403 the board opens a caseload": ("board", "/caseload", 403),
    "403 police open a child's case": ("police", "/cases/{referred}", 403),
    "403 a case manager opens the admin pages": ("case_manager", "/admin", 403),
    "422 an action the case is past": ("case_manager", "/cases/{closed}/actions/take_case", 422),
}


@pytest.mark.parametrize("name", list(ERROR_PAGES))
def test_error_pages_are_accessible(new_page, live_server, name):
    username, path, status = ERROR_PAGES[name]
    page = new_page(username)
    response = page.goto(path.format(**live_server.scenery.cases))
    assert response.status == status, f"{path} answered {response.status}, not {status}"
    assert "Traceback" not in page.content()
    assert page.locator("h1").count() == 1
    check_accessibility(page, f"{name} ({path})")


def test_a_refused_sign_in_is_accessible(new_page):
    page = new_page()
    page.goto("/sign-in")
    page.get_by_label("Username").fill("nobody_by_this_name")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert sent.value.status == 401
    assert page.locator(".govuk-error-summary").is_visible()
    check_accessibility(page, "sign-in refused")


def test_an_expired_form_is_accessible(new_page):
    """A form sent without its CSRF token gets a 400 page, which must be accessible too."""
    page = new_page("case_manager")
    page.goto("/referrals/new")
    page.locator("#action-form input[name='csrf_token']").evaluate("el => el.value = 'stale'")
    with page.expect_navigation() as sent:
        page.locator("#action-form").evaluate("form => form.submit()")
    assert sent.value.status == 400, path_of(page)
    check_accessibility(page, "form sent with an expired security token")


def test_a_form_refused_because_the_case_changed_is_accessible_and_keeps_the_text(new_page,
                                                                                  live_server):
    """Someone acted first: the 409 page shows what changed and the text typed."""
    page = new_page("case_manager")
    case_id = live_server.scenery.cases["intervention_victim_done"]
    assert page.goto(f"/cases/{case_id}/actions/record_review").status == 200
    page.get_by_label("Progress since the last review").fill("Typed before the clash.")
    # As if someone else had changed the case after this form was opened.
    page.locator("#action-form input[name='expected_version']").evaluate("el => el.value = '1'")
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Record a review", exact=True).click()
    assert sent.value.status == 409
    assert "Typed before the clash." in main_text(page)
    check_accessibility(page, "a form refused because the case changed (409)")
