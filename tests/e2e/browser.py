"""Helpers for driving the pages in Chromium: signing in, axe-core checks, focus checks and a
small crawler that finds the pages a role can reach from its navigation and case pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.e2e.scenery import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = ("serious", "critical")

# --- signing in -----------------------------------------------------------------------------


def sign_in(page: Page, username: str, password: str = PASSWORD) -> int:
    """Sign in through the sign-in page; returns the HTTP status of the page landed on."""
    page.goto("/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation() as landed:
        page.get_by_role("button", name="Sign in", exact=True).click()
    response = landed.value
    assert "/sign-in" not in page.url, f"{username} could not sign in: {main_text(page)[:300]}"
    return response.status if response else 0


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def main_text(page: Page) -> str:
    main = page.locator("main")
    return main.inner_text() if main.count() else page.content()


# --- filling in GOV.UK forms by their labels -------------------------------------------------


def _label(text: str) -> re.Pattern:
    """A field's label as shown: optional fields end with " (optional)"."""
    return re.compile(rf"^\s*{re.escape(text)}( \(optional\))?\s*$")


def labelled(page: Page, label: str):
    """The text box, text area or select labelled `label`."""
    return page.get_by_label(_label(label))


def group(page: Page, legend: str):
    """The fieldset (radios, checkboxes, date) whose legend is `legend`."""
    return page.get_by_role("group", name=_label(legend))


def choose(page: Page, legend: str, option: str) -> None:
    # The group's own answer comes first: a question it reveals is nested after it.
    group(page, legend).get_by_label(option, exact=True).first.check()


def fill_date(page: Page, legend: str, day) -> None:
    parts = group(page, legend)
    parts.get_by_label("Day", exact=True).fill(str(day.day))
    parts.get_by_label("Month", exact=True).fill(str(day.month))
    parts.get_by_label("Year", exact=True).fill(str(day.year))


def submit(page: Page, button: str) -> int:
    """Press the form's button and wait for the page that answers; returns its status."""
    with page.expect_navigation() as answered:
        page.get_by_role("button", name=button, exact=True).click()
    return answered.value.status if answered.value else 0


def click_link(page: Page, name: str, *, exact: bool = True) -> int:
    """Follow a link in the page's main part, or a link drawn as a button (role="button")."""
    main = page.locator("main")
    link = main.get_by_role("link", name=name, exact=exact).or_(
        main.get_by_role("button", name=name, exact=exact))
    with page.expect_navigation() as answered:
        link.first.click()
    return answered.value.status if answered.value else 0


def clear_prefilled_text(form) -> list[str]:
    """Empty the text boxes of a form that hold text before anything was typed; returns them
    as name="value" (a fresh form should have none)."""
    return form.evaluate("""f => Array.from(f.querySelectorAll(
        "textarea, input[type=text], input:not([type])")).filter(e => e.value !== "")
        .map(e => { const was = `${e.name}=${JSON.stringify(e.value)}`; e.value = "";
                    return was; })""")


def error_summary(page: Page) -> str:
    summary = page.locator(".govuk-error-summary")
    return summary.inner_text() if summary.count() else ""


# --- accessibility --------------------------------------------------------------------------

_RUN_AXE = """async (tags) => {
  // Only violations are collected ("resultTypes"): the same findings, in half the time.
  const result = await axe.run(document, {runOnly: tags, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), impact: n.impact,
                              html: n.html.slice(0, 160)})),
  }));
}"""


def accessibility_violations(page: Page) -> list[dict]:
    """axe-core's serious and critical WCAG 2.0/2.1/2.2 A and AA violations on the page now.

    axe-core is injected with `add_script_tag` unless the page already has it (the test
    contexts preload it in every page with `add_init_script`, which is quicker)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(_RUN_AXE, AXE_TAGS)
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def describe_violations(where: str, violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        targets = "; ".join(n["target"] for n in v["nodes"][:5])
        more = f" (and {len(v['nodes']) - 5} more)" if len(v["nodes"]) > 5 else ""
        lines.append(f"{where}: {v['id']} [{v['impact']}] {v['help']} -- at {targets}{more}")
    return lines


def check_accessibility(page: Page, where: str | None = None) -> None:
    """Fail listing every serious or critical axe-core violation on the page."""
    violations = accessibility_violations(page)
    if violations:
        pytest.fail("Accessibility violations:\n" + "\n".join(
            describe_violations(where or path_of(page), violations)), pytrace=False)


# --- focus and the keyboard ------------------------------------------------------------------

# The styles a focus indicator can change: on the element itself, and for GOV.UK radios and
# checkboxes (whose input is invisible) on the ::before of the label that draws the control.
_STYLE_KEY = """
  const styleKey = (el) => {
    const pick = (s) => [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow,
                         s.backgroundColor, s.borderColor, s.borderWidth, s.color,
                         s.textDecorationLine].join("|");
    let key = pick(getComputedStyle(el));
    if (el.matches("input[type=radio], input[type=checkbox]") && el.labels && el.labels.length) {
      key += " / " + pick(getComputedStyle(el.labels[0], "::before"));
    }
    return key;
  };
"""

_REMEMBER_UNFOCUSED = """() => {""" + _STYLE_KEY + """
  window.__oocUnfocused = new Map();
  for (const el of document.querySelectorAll(
      "a[href], button, input, select, textarea, [tabindex]")) {
    if (el !== document.activeElement) window.__oocUnfocused.set(el, styleKey(el));
  }
}"""

_FOCUSED = """() => {""" + _STYLE_KEY + r"""
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: "body", id: "", indicator: false};
  const label = el.labels && el.labels.length ? el.labels[0].innerText.trim()
                : (el.getAttribute("aria-label") || el.innerText || el.value || "").trim();
  const s = getComputedStyle(el);
  const before = window.__oocUnfocused && window.__oocUnfocused.get(el);
  // Without a remembered unfocused style, an outline or shadow that is not transparent.
  const opaque = (c) => c && c !== "transparent" && !/rgba\(.*,\s*0\)$/.test(c);
  const absolute = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
                    && opaque(s.outlineColor)) || s.boxShadow !== "none";
  return {tag: el.tagName.toLowerCase(), type: el.type || "", id: el.id, name: el.name || "",
          value: el.value || "", checked: !!el.checked, label: label.slice(0, 120),
          href: el.getAttribute("href") || "",
          classes: String(el.className || ""), focusVisible: el.matches(":focus-visible"),
          indicator: before === undefined ? absolute : before !== styleKey(el)};
}"""


def remember_unfocused_styles(page: Page) -> None:
    """Note how every focusable element looks now, to tell later whether focus changes it."""
    page.evaluate(_REMEMBER_UNFOCUSED)


def focused(page: Page) -> dict:
    """What has the keyboard focus: tag, type, id, name, value, label, whether the browser
    shows focus there (:focus-visible) and whether its look differs from when unfocused."""
    return page.evaluate(_FOCUSED)


def describe_focus(info: dict) -> str:
    return (f"<{info['tag']}{' type=' + info['type'] if info.get('type') else ''}"
            f"{' id=' + info['id'] if info.get('id') else ''}> {info.get('label', '')!r}")


def assert_focus_visible(info: dict) -> None:
    assert info["tag"] != "body", "nothing has the focus"
    assert info["focusVisible"], f"focus is not shown (:focus-visible) on {describe_focus(info)}"
    assert info["indicator"], (f"{describe_focus(info)} looks the same focused as unfocused: "
                               "no visible focus indicator")


def tab_to(page: Page, matches, *, backwards: bool = False, limit: int = 80) -> dict:
    """Press Tab (or Shift+Tab) until the focused element satisfies `matches`, checking that
    every element focused on the way shows a visible focus indicator."""
    key = "Shift+Tab" if backwards else "Tab"
    stops = []
    for _ in range(limit):
        page.keyboard.press(key)
        info = focused(page)
        stops.append(describe_focus(info))
        if info["tag"] != "body":
            assert_focus_visible(info)
        if matches(info):
            return info
    raise AssertionError(f"{key} never reached the element; focus went through: "
                         + ", ".join(stops))


# --- reflow ---------------------------------------------------------------------------------

REFLOW_WIDTH = 320  # CSS pixels: 1280 at 400% zoom (WCAG 2.2, 1.4.10 Reflow)


def sideways_overflow(page: Page) -> int:
    """How many pixels the page scrolls sideways at 320 CSS pixels wide (0: it reflows)."""
    size = page.viewport_size
    page.set_viewport_size({"width": REFLOW_WIDTH, "height": 800})
    try:
        return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    finally:
        page.set_viewport_size(size)


# --- crawling -------------------------------------------------------------------------------

SKIPPED_PREFIXES = ("/static/", "/assets/", "/api/", "/sign-out")
DOWNLOAD_SUFFIXES = (".csv", ".pdf", ".json", ".zip", ".xlsx", ".svg", ".png", ".txt")
NUMBER = re.compile(r"/\d+(?=/|$)")


def pattern_of(path: str) -> str:
    """A route, with ids in place of numbers: /cases/{id}/actions/take_case."""
    return NUMBER.sub("/{id}", path)


@dataclass
class Visit:
    path: str  # with the query, as followed
    status: int
    found_on: str
    final_path: str = ""
    violations: list[dict] = field(default_factory=list)
    download: bool = False
    overflow: int = 0  # how far the page scrolls sideways at 320 CSS pixels (WCAG reflow)


@dataclass
class Crawl:
    """Every page one signed-in role reached, checked with axe-core as it was visited."""

    page: Page
    origin: str
    per_pattern: dict[str, int] = field(default_factory=dict)
    visits: list[Visit] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)  # links not followed, and why

    def links_on_page(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all(
            "a[href]:not([download])", "els => els.map(a => a.href)")
        found = []
        for href in hrefs:
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path.startswith(SKIPPED_PREFIXES) or parts.path.endswith(DOWNLOAD_SUFFIXES):
                self.skipped.add(f"{path} (not a page: assets, API or a file)")
                continue
            found.append(path)
        downloads = self.page.eval_on_selector_all("a[href][download]",
                                                   "els => els.map(a => a.href)")
        self.skipped.update(f"{urlsplit(href).path} (a download)" for href in downloads)
        return found

    def visit(self, path: str, found_on: str, *, check: bool = True) -> Visit:
        self.seen.add(path)
        try:
            response = self.page.goto(path)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                visit = Visit(path, 200, found_on, download=True)
                self.visits.append(visit)
                return visit
            raise
        visit = Visit(path, response.status if response else 0, found_on,
                      final_path=path_of(self.page))
        self.seen.add(visit.final_path)  # "/" is the home page: not checked twice
        content_type = (response.headers.get("content-type", "") if response else "")
        if check and "text/html" in content_type:
            visit.violations = accessibility_violations(self.page)
            visit.overflow = sideways_overflow(self.page)
        self.visits.append(visit)
        return visit

    def run(self, seeds: list[str], *, limit_per_pattern: dict[str, int] | None = None,
            default_limit: int = 1, max_pages: int = 300) -> None:
        """Visit the seeds, then every same-site link found on the pages visited (breadth
        first), at most `default_limit` pages per route pattern unless listed (one page of
        each kind: the first case page shown stands for them all unless listed)."""
        limits = limit_per_pattern or {}
        queue = [(seed, "(start)") for seed in seeds]
        while queue and len(self.visits) < max_pages:
            path, found_on = queue.pop(0)
            if path in self.seen:
                continue
            pattern = pattern_of(urlsplit(path).path)
            seeded = found_on == "(start)"
            if not seeded and self.per_pattern.get(pattern, 0) >= limits.get(pattern,
                                                                              default_limit):
                continue
            self.per_pattern[pattern] = self.per_pattern.get(pattern, 0) + 1
            visit = self.visit(path, found_on)
            if visit.download or visit.status >= 400:
                continue
            for link in self.links_on_page():
                if link not in self.seen:
                    queue.append((link, path))
        # Never a silent cut: stopping at the page limit with links still queued is a failure.
        assert not queue, f"the crawl stopped at {max_pages} pages with links left to follow"
