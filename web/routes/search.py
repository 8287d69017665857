"""Finding a case (the roles that open case records), and a police officer's own referrals.

The search form is sent with POST, and what was searched for is kept in the signed session
cookie under a short random id: the results page is `/search?results=ID&page=N`. So a child's
name or date of birth is never in an address, where it would be written to browser history and
to the logs of any proxy or load balancer in front of the application. Each page of results that
names children is written to the access log, one row per case shown.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, select
from starlette.responses import RedirectResponse, Response

from ooc import search
from ooc.access import CASE_VIEWERS, log_list_view, viewable
from ooc.calendar import local_date
from ooc.inputs import whole_number
from ooc.models import Case, User
from web.deps import PostedForm, ServicesDep, SessionDep, require_roles
from web.pages import check_csrf, client_address, render_page

router = APIRouter()
CaseViewer = Annotated[User, Depends(require_roles(*CASE_VIEWERS))]
Police = Annotated[User, Depends(require_roles("police"))]

SEARCHES_KEPT = 10  # the latest searches of a session that can still be paged through


def page_number(request: Request) -> int | None:
    """The ?page= asked for (1 when none), or None when it is not a whole number."""
    typed = request.query_params.get("page", "1").strip()
    number = whole_number(typed) if len(typed) < 7 else None
    return number if number is not None and number >= 0 else None


def no_such_page(request: Request, results: search.ResultPage, what: str) -> str:
    asked = request.query_params.get("page", "")[:12]
    return (f"There is no page ‘{asked}’ of {what}: they fill {results.pages} "
            f"page{'s' if results.pages > 1 else ''}, numbered from 1.")


def pagination(number: int, pages: int, href: Callable[[int], str]) -> dict[str, Any] | None:
    """The GOV.UK pagination component's parameters: the first, last, current and adjacent
    pages, with ellipses between."""
    if pages <= 1:
        return None
    items: list[dict[str, Any]] = []
    shown = sorted({1, number - 1, number, number + 1, pages} & set(range(1, pages + 1)))
    for before, n in zip([None, *shown], shown, strict=False):
        if before is not None and n - before > 1:
            items.append({"ellipsis": True})
        items.append({"number": n, "href": href(n), "current": n == number})
    return {"items": items,
            "previous": {"href": href(number - 1)} if number > 1 else None,
            "next": {"href": href(number + 1)} if number < pages else None}


def _form_values(criteria: search.Criteria) -> dict[str, Any]:
    return {**{name: "" for name in search.Criteria.__dataclass_fields__},
            **criteria.to_dict(), "date_of_birth": criteria.date_parts()}


def _items(choices: search.Choices, values: dict[str, Any]) -> dict[str, list[dict]]:
    """The items of the filters' selects and radios, the chosen ones marked."""
    def listed(name: str, anything: str, options: list[tuple[str, str]]) -> list[dict]:
        chosen = values.get(name) or ""
        return [{"value": value, "text": text, "selected": value == chosen,
                 "checked": value == chosen}
                for value, text in [("", anything), *options]]

    return {
        "stage": listed("stage", "Any stage", [(o.value, o.label) for o in choices.stages]),
        "case_manager": listed("case_manager", "Any case manager",
                               [(o.value, o.label) for o in choices.case_managers]),
        "team": listed("team", "Any team", [(t, t) for t in choices.teams]),
        "status": listed("status", search.STATUSES[""],
                         [(k, v) for k, v in search.STATUSES.items() if k]),
    }


def _search_page(request: Request, session: Session, services, user: User, *,
                 people: list[Any], values: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None, date_errors: set[str] = frozenset(),
                 problems: list[dict[str, str]] | None = None, results=None, token: str = "",
                 message: str | None = None, status_code: int = 200) -> Response:
    names = {p.username: p.display_name for p in people}
    values = values or _form_values(search.Criteria())
    context = {
        "title": "Find a case",
        "items": _items(search.Choices.of(services.registry, people), values),
        "values": values,
        "errors": errors or {},
        "date_errors": date_errors,
        "problems": problems,
        "results": results,
        "names": names,
        "message": message,
        "page_size": search.PAGE_SIZE,
        "count_limit": search.COUNT_LIMIT,
        "pagination": pagination(results.number, results.pages,
                                 lambda n: f"/search?results={token}&page={n}")
        if results and results.exists else None,
    }
    if results and results.pages > 1 and results.exists:
        context["title"] = f"Find a case (page {results.number} of {results.pages})"
    return render_page(request, "pages/search.html", context, user=user,
                       status_code=status_code)


@router.get("/search")
def search_page(request: Request, session: SessionDep, services: ServicesDep,
                user: CaseViewer) -> Response:
    people = search.people(session)
    token = request.query_params.get("results")
    if token is None:
        return _search_page(request, session, services, user, people=people)
    saved = request.session.get("searches", {}).get(token)
    if saved is None:
        return _search_page(request, session, services, user, people=people, status_code=404,
                            message="This search has expired (searches last while you are "
                                    "signed in). Search again.")
    criteria = search.Criteria.from_dict(saved)
    values = _form_values(criteria)
    number = page_number(request)
    results = search.search(session, services.registry, criteria, number or 0,
                            reach=viewable(user, services.registry))
    if not results.exists:  # nothing shown, nothing logged
        return _search_page(request, session, services, user, people=people, values=values,
                            token=token, results=results, status_code=404,
                            message=no_such_page(request, results, "these results"))
    log_list_view(session, user=user, case_ids=[c.id for c in results.cases],
                  view="search results", now=services.clock(),
                  address=client_address(request))
    response = _search_page(request, session, services, user, people=people, values=values,
                            results=results, token=token)
    return response


@router.post("/search")
def run_search(request: Request, session: SessionDep, services: ServicesDep, user: CaseViewer,
               form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    people = search.people(session)
    choices = search.Choices.of(services.registry, people)
    typed = {k: v for k, v in form.items() if isinstance(v, str)}
    criteria, problems, date_errors = search.read_criteria(typed, choices,
                                                           local_date(services.clock()))
    if problems:
        # What was typed is shown again as typed; nothing is searched, logged or kept.
        values = {**{k: typed.get(k, "") for k in search.Criteria.__dataclass_fields__},
                  "date_of_birth": {p: typed.get(f"date_of_birth-{p}", "")
                                    for p in search.DATE_PARTS}}
        errors = {}
        for p in problems:
            errors.setdefault(p.field, p.message)
        summary = [{"text": p.message,
                    "href": f"#{p.field}" + ("-" + next((d for d in search.DATE_PARTS
                                                         if d in date_errors), "day")
                                             if p.field == "date_of_birth" else "")}
                   for p in problems]
        return _search_page(request, session, services, user, people=people, values=values,
                            errors=errors, date_errors=date_errors, problems=summary,
                            status_code=422)
    token = secrets.token_urlsafe(6)
    searches = {**request.session.get("searches", {}), token: criteria.to_dict()}
    request.session["searches"] = dict(list(searches.items())[-SEARCHES_KEPT:])
    return RedirectResponse(f"/search?results={token}", status_code=303)


# --- a police officer's referrals ------------------------------------------------------------


@router.get("/referrals/mine")
def my_referrals(request: Request, session: SessionDep, services: ServicesDep,
                 user: Police) -> Response:
    number = page_number(request)
    results = search.referrals_made_by(session, services.registry, user.username, number or 0)
    # Police do not open the YJS record; someone who is also, say, a case manager gets a link to
    # the cases their work reaches (a link to any other would only be refused).
    openable = set()
    if set(user.roles) & set(CASE_VIEWERS) and results.cases:
        openable = set(session.scalars(select(Case.id).where(
            Case.id.in_([c.id for c in results.cases]), viewable(user, services.registry))))
    context = {"title": "My referrals", "results": results, "openable": openable,
               "count_limit": search.COUNT_LIMIT, "page_size": search.PAGE_SIZE,
               "pagination": pagination(results.number, results.pages,
                                        lambda n: f"/referrals/mine?page={n}")
               if results.exists else None}
    if not results.exists:
        context["message"] = no_such_page(request, results, "your referrals")
        return render_page(request, "pages/my_referrals.html", context, user=user,
                           status_code=404)
    if results.pages > 1:
        context["title"] = f"My referrals (page {results.number} of {results.pages})"
    log_list_view(session, user=user, case_ids=[c.id for c in results.cases],
                  view="my referrals", now=services.clock(),
                  address=client_address(request))
    response = render_page(request, "pages/my_referrals.html", context, user=user)
    return response
