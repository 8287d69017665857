"""Signing in and out."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ooc.accounts import SignInRefused, authenticate
from ooc.sign_in_sessions import end_session, start_session
from web.deps import SESSION_KEY, CurrentUser, ServicesDep, SessionDep
from web.pages import check_csrf, flash, render_page
from web.routes.cases import keep_typed

router = APIRouter()

# Where each role starts, in order of preference for people with several roles.
HOME_PAGES = [("case_manager", "/caseload"), ("panel_chair", "/panel"), ("manager", "/manager"),
              ("victim_worker", "/victims"), ("police", "/referrals/new"), ("board", "/board"),
              ("admin", "/admin"), ("data_protection", "/access-log")]


def _safe_next(target: str | None) -> str | None:
    # Only paths on this site, so the link cannot send someone elsewhere after signing in.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


def _pairs(resume: str) -> list[tuple[str, str]]:
    """The typed form carried through signing in; anything else is ignored."""
    try:
        pairs = json.loads(resume)
    except ValueError:
        return []
    if not isinstance(pairs, list):
        return []
    return [(k, v) for k, v in (p for p in pairs if isinstance(p, list) and len(p) == 2)
            if isinstance(k, str) and isinstance(v, str)]


@router.get("/")
def home(user: CurrentUser) -> Response:
    target = next((path for role, path in HOME_PAGES if role in user.roles), "/sign-in")
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render_page(request, "pages/sign_in.html",
                       {"title": "Sign in", "next": _safe_next(next) or "", "username": ""})


@router.post("/sign-in")
def sign_in(request: Request, session: SessionDep, services: ServicesDep,
            username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
            csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "",
            resume: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    settings = services.settings
    try:
        user = authenticate(session, username=username, password=password,
                            now=services.clock(), max_failed=settings.max_failed_sign_ins,
                            lockout=settings.lockout)
    except SignInRefused as refusal:
        return render_page(request, "pages/sign_in.html", {
            "title": "Sign in", "next": _safe_next(next) or "", "username": username,
            "resume": resume, "expired": bool(resume),
            "problems": [{"text": refusal.message, "href": "#username"}]}, status_code=401)
    kept = resume and keep_typed(session, services, user, next, _pairs(resume))
    end_session(session, request.session.get(SESSION_KEY))
    request.session.clear()  # a new session on sign-in, so an old cookie cannot be reused
    request.session[SESSION_KEY] = start_session(
        session, user=user, now=services.clock(), idle=settings.session_idle,
        lifetime=settings.session_lifetime)
    flash(request, f"Signed in as {user.display_name}.")
    if kept:
        flash(request, "You had been signed out, so what you sent was not saved. Your text has "
                       "been kept: check it and send it again.", success=False)
    return RedirectResponse(_safe_next(next) or "/", status_code=303)


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep,
             csrf_token: Annotated[str, Form()] = "") -> Response:
    """Ends this browser's session in the database, so a copy of its cookie no longer works;
    the user's other browsers stay signed in."""
    check_csrf(request, csrf_token)
    end_session(session, request.session.get(SESSION_KEY))
    request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)
