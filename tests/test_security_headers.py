"""Every response carries the security headers: a strict Content-Security-Policy that the pages
keep to, no framing, no MIME sniffing, no referrer sent to other sites, no caching of anything
that may hold a child's record, and HSTS when the service is configured for HTTPS."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from ooc.settings import Settings
from tests.conftest import WORKFLOWS
from tests.support import Walker
from tests.web_support import sign_in
from web.app import create_app
from web.pages import TEMPLATES

PAGE_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def policy(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response.headers["content-security-policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


def assert_protected(response) -> None:
    for name, value in PAGE_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    csp = policy(response)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert "strict-transport-security" not in response.headers


def test_a_signed_in_case_page_is_protected(client, session, registry, users):
    case = Walker(session, registry, users).create()
    sign_in(client, "manager")
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    assert_protected(page)


def test_the_sign_in_page_and_the_api_are_protected(client):
    assert_protected(client.get("/sign-in"))
    assert_protected(client.get("/api/v1/cases"))  # a 401 in JSON
    assert_protected(client.get("/api/v1/docs"))


def test_a_download_is_protected(client, users):
    sign_in(client, "board")
    pack = client.get("/board/pack?period=2026-q1&format=json")
    assert pack.status_code == 200
    assert pack.headers["content-disposition"].startswith("attachment")
    assert_protected(pack)


def test_error_pages_are_protected(app, client, users):
    sign_in(client, "manager")
    assert_protected(client.get("/cases/99999"))  # a 404 from the domain
    assert_protected(client.get("/no-such-page"))

    def broken(request: Request) -> dict:
        raise RuntimeError("a bug")

    app.get("/test-broken")(broken)
    with TestClient(app, raise_server_exceptions=False) as browser:
        failed = browser.get("/test-broken")
    assert failed.status_code == 500
    assert_protected(failed)


def test_static_files_are_not_sniffed_and_may_be_cached(client):
    for path in ("/static/ooc.css", "/static/govuk-init.js", "/assets/images/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "no-store" not in response.headers.get("cache-control", "")


def test_hsts_and_secure_cookies_only_when_configured_for_https(engine, registry, users):
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False),
                        workflows_dir=WORKFLOWS, secret_key="test-secret-key", https=True)
    with TestClient(create_app(settings=settings, engine=engine, registry=registry),
                    base_url="https://testserver") as client:
        page = client.get("/sign-in")
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        assert "; secure" in page.headers["set-cookie"].lower()
        assert client.get("/static/ooc.css").headers["strict-transport-security"]


def test_the_pages_run_no_inline_code_but_the_templates_one_allowed_line(client, session,
                                                                         registry, users):
    case = Walker(session, registry, users).create()
    sign_in(client, "manager")
    for path in ("/sign-in", f"/cases/{case.id}", f"/cases/{case.id}/print",
                 f"/cases/{case.id}/actions/withdraw", "/manager"):
        page = client.get(path)
        assert page.status_code == 200, path
        allowed = policy(page)["script-src"]
        for script in re.findall(r"<script([^>]*)>(.*?)</script>", page.text, flags=re.S):
            attributes, body = script
            if "src=" in attributes:
                assert not body.strip(), path
                continue
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in allowed, f"an inline script on {path}: {body[:60]}"
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", page.text), path


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix()
                                            for p in TEMPLATES.rglob("*.html")))
def test_no_template_has_inline_script_style_or_event_handlers(template):
    text = (TEMPLATES / template).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "an inline <script>"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", text)
