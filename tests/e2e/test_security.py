"""In a real browser that enforces the Content-Security-Policy: another page of this machine
cannot frame a signed-in action form (clickjacking), and the pages still work under the policy
(GOV.UK Frontend and the service's own scripts start, with no violation reported)."""

from __future__ import annotations

import html
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.browser import path_of, sign_in
from tests.e2e.conftest import TIMEOUT_MS

pytestmark = pytest.mark.browser

FRAMING_PAGE = ('<!DOCTYPE html><title>Win a prize</title><h1>Click the button!</h1>'
                '<iframe src="{target}" width="800" height="600"></iframe>')

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def enforcing_page(browser, live_server, new_page, signed_in_states):
    """A factory of pages whose browser enforces the CSP (the other tests' contexts bypass it,
    so that axe-core can be injected), each recording the policy violations it meets."""
    contexts = []

    def make(username: str | None = None):
        if username:
            new_page(username)  # signs in once and remembers the cookies
        context = browser.new_context(base_url=live_server.url,
                                      storage_state=signed_in_states.get(username))
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(RECORD_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        page.console_messages = []
        page.on("console", lambda message: page.console_messages.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: page.console_messages.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def elsewhere():
    """Another web server on this machine (same-site as the service: 127.0.0.1, another port),
    serving one page that frames whatever address it is given as ?target=. A real server:
    Chromium blocks a page that Playwright answers for from framing a local address."""
    class FramingPage(BaseHTTPRequestHandler):
        def do_GET(self):
            target = parse_qs(urlsplit(self.path).query)["target"][0]
            body = FRAMING_PAGE.format(target=html.escape(target)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), FramingPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def violations(page) -> list[str]:
    recorded = page.evaluate("window.cspViolations || []")
    reported = [m for m in page.console_messages if "Content Security Policy" in m
                or "Refused to" in m]
    return recorded + reported


def test_a_signed_in_action_form_does_not_render_inside_another_pages_frame(
        enforcing_page, live_server, elsewhere):
    page = enforcing_page("manager")
    case_id = live_server.scenery.cases["assessing"]
    page.goto(f"/cases/{case_id}")
    # The manager's withdraw link, as the case page offers it.
    link = page.get_by_role("link", name=re.compile("^Withdraw", re.I)).first
    action = link.get_attribute("href")
    page.goto(action)
    assert page.locator("main form").count() == 1  # on its own, the form is there

    page.goto(f"{elsewhere}?{urlencode({'target': live_server.url + action})}")
    framed = [frame for frame in page.frames if frame != page.main_frame]
    assert len(framed) == 1
    frame = framed[0]
    assert frame.locator("form").count() == 0, "the action form rendered inside the frame"
    assert frame.get_by_role("button").count() == 0


def test_the_pages_work_under_the_policy_without_violations(enforcing_page, live_server):
    page = enforcing_page()
    page.goto("/sign-in")
    # GOV.UK Frontend started (from a static file): the password's Show button works.
    show = page.get_by_role("button", name="Show password")
    show.click()
    assert page.get_by_label("Password", exact=True).get_attribute("type") == "text"
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    assert violations(page) == []

    sign_in(page, "case_manager")
    case_id = live_server.scenery.cases["assessing"]
    visited = ["/caseload", f"/cases/{case_id}", f"/cases/{case_id}/print", "/account"]
    for path in visited:
        page.goto(path)
        assert path_of(page) == path
        assert violations(page) == [], path
    # The referral form, whose answers reveal questions (the service's own reveal.js).
    page.goto("/referrals/new")
    revealing = page.locator('input[type="radio"][aria-controls]:not(:checked)')
    assert revealing.count(), "the referral form reveals no question beneath an answer"
    question = page.locator(f"#{revealing.first.get_attribute('aria-controls')}")
    assert question.is_hidden()
    revealing.first.check()
    assert question.is_visible()
    assert violations(page) == []

    # The header's navigation menu, on a narrow screen, opens (GOV.UK Frontend's JavaScript).
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/caseload")
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert violations(page) == []


def test_the_api_docs_work_under_the_policy(enforcing_page):
    page = enforcing_page()
    page.goto("/api/v1/docs")
    page.get_by_role("heading", name=re.compile("ooc API")).wait_for()
    assert page.locator(".opblock").count() > 3  # the endpoints, drawn by Swagger UI
    assert violations(page) == []
