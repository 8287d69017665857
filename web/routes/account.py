"""A person's own account: where they are signed in, and their API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from ooc.accounts import list_tokens, revoke_token
from ooc.sign_in_sessions import end_all_sessions, list_sessions
from web.deps import CurrentUser, PostedForm, ServicesDep, SessionDep
from web.inputs import ItemId
from web.pages import check_csrf, flash, render_page

router = APIRouter()


@router.get("/account")
def account(request: Request, session: SessionDep, services: ServicesDep,
            user: CurrentUser) -> Response:
    settings, now = services.settings, services.clock()
    return render_page(request, "pages/account.html", {
        "title": "Your account", "now": now, "tokens": list_tokens(session, user=user),
        "sessions": list_sessions(session, user_id=user.id, now=now,
                                  idle=settings.session_idle,
                                  lifetime=settings.session_lifetime)}, user=user)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_own_token(request: Request, token_id: ItemId, session: SessionDep,
                     services: ServicesDep, user: CurrentUser, form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    revoke_token(session, token_id=token_id, now=services.clock(), owner=user,
                 actor=user.username)
    flash(request, f"API token {token_id} is revoked: it no longer works.")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(request: Request, session: SessionDep, user: CurrentUser,
                        form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    end_all_sessions(session, user_id=user.id)
    request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)
