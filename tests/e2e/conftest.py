"""A live server and a headless Chromium for the end-to-end tests.

The server is the real application (`web.app.create_app`) served by uvicorn in a background
thread, on its own SQLite file in a temporary folder, so it never touches the other tests'
databases. Chromium is Debian's /usr/bin/chromium driven by Playwright's Python API (no browser
download). Without Chromium, the Playwright driver, the built GOV.UK assets or axe-core these
tests are skipped, and in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from ooc.db import make_engine, upgrade_schema
from ooc.machine import WorkflowRegistry
from ooc.settings import Settings
from tests.conftest import WORKFLOWS, unavailable
from tests.e2e import scenery

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("OOC_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
GOVUK_ASSETS = ROOT / "web" / "static" / "govuk" / "govuk-frontend.min.css"
AXE = ROOT / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class LiveServer:
    url: str
    engine: Engine
    registry: WorkflowRegistry
    scenery: scenery.Scenery


def _listening_socket() -> socket.socket:
    """A socket already bound to a free loopback port, handed to uvicorn (no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait_until_answering(url: str, thread: threading.Thread, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the e2e server stopped while starting")
        try:
            with urllib.request.urlopen(f"{url}/sign-in", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the e2e server did not answer at {url} within {timeout} s")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, registry) -> Iterator[LiveServer]:
    import uvicorn

    from web.app import create_app

    if not GOVUK_ASSETS.exists():
        unavailable("GOV.UK Frontend assets are not built (run `make setup`)")
    folder = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{folder / 'e2e.db'}"
    engine = make_engine(database_url)
    upgrade_schema(engine)
    with Session(engine) as session:
        users = scenery.add_users(session)
        scene = scenery.build(session, registry, users)

    started = time.monotonic()

    def clock():
        return scenery.CLOCK_START + timedelta(seconds=time.monotonic() - started)

    # Each user's session is signed in once and shared by every test (signed_in_states), so
    # it must not time out while the suite runs; the timeouts have tests of their own.
    settings = Settings(database_url=database_url, workflows_dir=WORKFLOWS,
                        secret_key="e2e-test-secret-key-not-for-real-use",
                        session_idle=timedelta(hours=8))
    app = create_app(settings=settings, engine=engine, registry=registry, clock=clock)
    sock = _listening_socket()
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="e2e-uvicorn")
    thread.start()
    url = f"http://{host}:{port}"
    try:
        _wait_until_answering(url, thread)
        yield LiveServer(url=url, engine=engine, registry=registry, scenery=scene)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (Debian package chromium)")
    if not AXE.exists():
        unavailable("axe-core is not installed (run `make setup`)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        unavailable("the Python package playwright is not installed")
    try:
        playwright = sync_playwright().start()
    except Exception as e:  # the driver (bundled node) is missing or broken
        unavailable(f"the Playwright driver could not start: {e}")
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
    except Error as e:
        playwright.stop()
        unavailable(f"Chromium could not be started: {e}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="session")
def signed_in_states() -> dict[str, dict]:
    """Each user's cookies once signed in through the page, so later tests need not sign in
    again (argon2 makes each sign-in take a moment, by design)."""
    return {}


@pytest.fixture
def new_page(browser, live_server, signed_in_states) -> Iterator[Callable[..., object]]:
    """A factory of pages, each in its own browser context (its own cookies, so its own
    session): `new_page()` signed out, `new_page("manager")` signed in as manager.
    A page signed in with remembered cookies has not loaded anything yet: tests go where they
    need. `preload_axe=True` loads axe-core into every page of the context as it opens."""
    from tests.e2e.browser import sign_in

    contexts = []

    def make(username: str | None = None, *, preload_axe: bool = False):
        # bypass_csp lets axe-core be injected even if the pages set a Content-Security-Policy.
        context = browser.new_context(base_url=live_server.url, bypass_csp=True,
                                      viewport={"width": 1280, "height": 900},
                                      storage_state=signed_in_states.get(username))
        context.set_default_timeout(TIMEOUT_MS)
        if preload_axe:  # axe-core ready in every page: quicker when checking many pages
            context.add_init_script(path=str(AXE))
        contexts.append(context)
        page = context.new_page()
        if username and username not in signed_in_states:
            sign_in(page, username)
            signed_in_states[username] = context.storage_state()
        return page

    yield make
    for context in contexts:
        context.close()
