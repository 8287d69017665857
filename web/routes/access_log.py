"""Who viewed a child's case: for managers (their team's cases) and the data-protection role
(any case: a subject access request, a suspected breach). Shows the case's number and police
reference, never the child's record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from ooc.access import VIEW_LOG_READERS, log_view, may_read_view_log, refusal, views_of
from ooc.accounts import display_names
from ooc.errors import NotFound, RoleNotAllowed
from ooc.models import Case, User
from web.deps import ServicesDep, SessionDep, require_roles
from web.pages import client_address, render_page

router = APIRouter()
Reader = Annotated[User, Depends(require_roles(*VIEW_LOG_READERS))]
SHOWN = 500  # the newest views; `ooc audit export` has them all


@router.get("/access-log")
def find_case(request: Request, user: Reader, case: str | None = None) -> Response:
    """Ask for a case number, then show who viewed it."""
    error = None
    if case is not None:
        if case.strip().isdigit():
            return RedirectResponse(f"/cases/{int(case.strip())}/views", status_code=303)
        error = "Enter the case number as a whole number, like 42."
    return render_page(request, "pages/access_log.html", {
        "title": "Who viewed a case", "error": error, "value": case or "",
        "problems": [{"text": error, "href": "#case"}] if error else None,
    }, user=user, status_code=422 if error else 200)


@router.get("/cases/{case_id}/views")
def case_views(request: Request, case_id: int, session: SessionDep, services: ServicesDep,
               user: Reader) -> Response:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"There is no case {case_id}.")
    if not may_read_view_log(session, user=user, case=case, registry=services.registry):
        # A manager of another team: the same reason the case page gives.
        raise RoleNotAllowed(refusal(session, user=user, case=case, registry=services.registry)
                             or "You cannot see who viewed this case.")
    views = views_of(session, case.id, limit=SHOWN)
    names = display_names(session, (v.username for v in views))
    log_view(session, user=user, case_id=case.id, view="who viewed", now=services.clock(),
             address=client_address(request))
    return render_page(request, "pages/case_views.html", {
        "title": f"Who viewed case {case.id}", "case": case, "views": views, "names": names,
        "shown": SHOWN,
        "can_open_case": "data_protection" not in user.roles or "manager" in user.roles,
    }, user=user)
