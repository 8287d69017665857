"""Rendering pages: one `render_page` for every HTML response, and CSRF protection of forms."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from starlette.responses import HTMLResponse

from ooc.access import CASE_VIEWERS
from ooc.accounts import token_status
from ooc.calendar import uk_date, uk_time
from ooc.models import User

TEMPLATES = Path(__file__).resolve().parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.loader = ChoiceLoader([
    FileSystemLoader(str(TEMPLATES)),
    PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
])
# The GOV.UK macros read optional parameters that callers leave out.
templates.env.undefined = ChainableUndefined
templates.env.add_extension("jinja2.ext.do")
# Templates are read once: checking every file's time on every page cost ~40 stat calls a
# page (bench/web.py). Restart the server to see an edited template.
templates.env.auto_reload = False
templates.env.globals["service_name"] = "Out-of-court disposals"


def option_item(option: Any, current: Any) -> dict[str, Any]:
    """A GOV.UK radios or select item for a workflow option."""
    chosen = str(option.value) == str(current) if current is not None else False
    return {"value": option.value, "text": option.label, "checked": chosen, "selected": chosen}


def reason_code_item(code: str, current: str | None) -> dict[str, Any]:
    return {"value": code, "text": code.replace("_", " ").capitalize(), "checked": code == current}


templates.env.filters["option_item"] = option_item
templates.env.filters["uk_date"] = uk_date
templates.env.filters["uk_time"] = uk_time
templates.env.filters["reason_code_item"] = reason_code_item
templates.env.filters["token_status"] = token_status

# The main navigation: (label, path, roles that see it).
NAVIGATION = [
    ("My caseload", "/caseload", {"case_manager"}),
    ("Find a case", "/search", set(CASE_VIEWERS)),
    ("New referral", "/referrals/new", {"police", "case_manager"}),
    ("My referrals", "/referrals/mine", {"police"}),
    ("Panel", "/panel", {"panel_chair"}),
    ("Manager queues", "/manager", {"manager"}),
    ("Quality audits", "/quality", {"manager"}),
    ("Victims", "/victims", {"victim_worker"}),
    ("Board", "/board", {"board", "manager", "admin"}),
    ("Improvement plan", "/plan", {"board", "manager", "admin"}),
    ("Admin", "/admin", {"admin"}),
    ("Access log", "/access-log", {"data_protection"}),
]


class CsrfFailed(Exception):
    """A form arrived without the token of the session that showed it."""


def client_address(request: Request) -> str | None:
    """The client's IP address, for the access log (behind a proxy, as uvicorn's
    --forwarded-allow-ips lets it read X-Forwarded-For)."""
    return request.client.host if request.client else None


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    # compare_digest takes ASCII text only: anything else is not a token this service made.
    if not expected or not isinstance(submitted, str) or not submitted.isascii() or \
            not secrets.compare_digest(expected, submitted):
        raise CsrfFailed()


def flash(request: Request, message: str, *, success: bool = True) -> None:
    """A message for the next page shown (GOV.UK notification banner)."""
    request.session.setdefault("flash", []).append({"text": message, "success": success})


def render_page(request: Request, template: str, context: dict[str, Any] | None = None, *,
                user: User | None = None, status_code: int = 200) -> HTMLResponse:
    nav = []
    if user is not None:
        nav = [{"text": label, "href": path, "active": False}
               for label, path, roles in NAVIGATION if roles & set(user.roles)]
        here = request.url.path
        # The item of this page, or else the first of its section ("/referrals/upload" is in
        # "/referrals", under "New referral").
        section = "/" + here.split("/")[1]
        active = next((item for item in nav if here == item["href"]
                       or here.startswith(item["href"] + "/")), None) or next(
            (item for item in nav if item["href"].startswith(section + "/")
             or item["href"] == section), None)
        if active:
            active["active"] = True
    page = {
        "request": request,
        "user": user,
        "navigation": nav,
        "csrf_token": csrf_token(request),
        "flashes": request.session.pop("flash", []),
        **(context or {}),
    }
    return templates.TemplateResponse(request, template, page, status_code=status_code)
