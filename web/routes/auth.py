"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from ooc.accounts import SignInRefused, authenticate
from web.deps import CurrentUser, ServicesDep, SessionDep
from web.pages import check_csrf, flash, render_page

router = APIRouter()

# Where each role starts, in order of preference for people with several roles.
HOME_PAGES = [("case_manager", "/caseload"), ("panel_chair", "/panel"), ("manager", "/manager"),
              ("victim_worker", "/victims"), ("police", "/referrals/new"), ("board", "/board"),
              ("admin", "/admin")]


def _safe_next(target: str | None) -> str | None:
    # Only paths on this site, so the link cannot send someone elsewhere after signing in.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


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
            csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
            ) -> Response:
    check_csrf(request, csrf_token)
    try:
        user = authenticate(session, username=username, password=password,
                            now=services.clock())
    except SignInRefused as refusal:
        session.commit()  # keep the count of failed attempts
        return render_page(request, "pages/sign_in.html", {
            "title": "Sign in", "next": _safe_next(next) or "", "username": username,
            "problems": [{"text": refusal.message, "href": "#username"}]}, status_code=401)
    session.commit()
    request.session.clear()  # a new session on sign-in, so an old cookie cannot be reused
    request.session["user_id"] = user.id
    flash(request, f"Signed in as {user.display_name}.")
    return RedirectResponse(_safe_next(next) or "/", status_code=303)


@router.post("/sign-out")
def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)
