"""Every error a user can meet, mapped to an HTTP status in one place.

API requests (under /api/) get JSON with the same plain-words reasons the pages show; pages get
a GOV.UK error page. Nobody ever sees a traceback.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ooc import errors
from ooc.inputs import MAX_ID
from web.deps import Forbidden, SignInRequired
from web.pages import CsrfFailed, render_page
from web.routes.cases import typed_pairs
from web.security import add_security_headers

log = logging.getLogger("ooc.web")

FALLBACK_PAGE = ("<!DOCTYPE html><html lang=\"en\"><head><title>Sorry, there is a problem with "
                 "the service</title></head><body><main><h1>Sorry, there is a problem with the "
                 "service</h1><p>Try again later. Nothing you sent was saved.</p></main></body>"
                 "</html>")

STATUS = {
    errors.NotFound: 404,
    errors.RoleNotAllowed: 403,
    errors.Conflict: 409,
    errors.InvalidForm: 422,
    errors.GuardsFailed: 422,
    errors.UnknownTrigger: 422,
    errors.DatabaseUnavailable: 503,
}
# The request may have reached the database before it went away (a commit whose answer was
# lost), so this never says that nothing was saved.
UNREACHABLE = ("We could not reach the database. Your request may not have been saved: check "
               "before trying again.")
UNSTORABLE = ("Something you sent cannot be stored: a text too long or a number too large. "
              "Nothing was saved. Shorten or correct it and try again.")
RACED = ("Someone else saved the same thing at the same moment, so nothing you sent was saved. "
         "Reload the page to see it, then try again if it is still needed.")

TITLES = {
    400: "This form has expired",
    401: "Sign in to use the API",
    403: "You cannot do this",
    404: "Page not found",
    409: "Someone else changed this case",
    422: "This cannot be done yet",
    503: "Sorry, the service is unavailable",
    500: "Sorry, there is a problem with the service",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem_response(request: Request, status: int, message: str,
                     reasons: list[str] | None = None, problems: list[dict] | None = None,
                     extra: dict | None = None) -> Response:
    if status >= 500 and "session" in request.scope:
        request.session.pop("flash", None)  # a route's "Done" was not saved after all
    if wants_json(request):
        body = {"error": TITLES.get(status, "Error"), "message": message,
                "reasons": reasons or [], **(extra or {})}
        if problems is not None:
            body["problems"] = problems
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)
    return render_page(request, "pages/error.html",
                       {"title": TITLES.get(status, "Error"), "message": message,
                        "reasons": reasons or []},
                       user=getattr(request.state, "user", None), status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.OocError)
    async def domain_error(request: Request, exc: errors.OocError) -> Response:
        status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 422)
        problems = None
        if isinstance(exc, errors.InvalidForm) or (isinstance(exc, errors.GuardsFailed)
                                                   and exc.problems):
            problems = [{"field": p.field, "message": p.message} for p in exc.problems]
        # API clients get the list of what can be done, not only the sentence.
        extra = {"allowed": exc.allowed} if isinstance(exc, errors.UnknownTrigger) else None
        return problem_response(request, status, exc.message, exc.reasons, problems, extra)

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        if wants_json(request):
            return problem_response(request, 401, "Give a valid API token as "
                                                  "'Authorization: Bearer TOKEN'.")
        typed = typed_pairs(request.url.path, await request.form()) \
            if request.method == "POST" else None
        if typed:
            # Signed out while filling in a form: nothing was saved, but nothing typed is lost
            # either. It goes through signing in, and comes back as a draft of the form.
            return render_page(request, "pages/sign_in.html", {
                "title": "Sign in", "next": request.url.path, "username": "",
                "resume": json.dumps(typed), "expired": True}, status_code=401)
        return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return problem_response(request, 403, exc.message)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return problem_response(request, 400, "The form was sent without a valid security "
                                              "token, so nothing was saved. Go back, reload the "
                                              "page and try again.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "If you typed the web address, check it is correct."}.get(
            exc.status_code, str(exc.detail))
        return problem_response(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if all(e["loc"][:1] == ("path",) for e in exc.errors()):
            # An address whose id is not a number, or out of the range of ids, names nothing
            # that exists: the same answer as an id that exists nowhere.
            message = (f"There is nothing at {request.url.path}: ids are whole numbers from 1 "
                       f"to {MAX_ID}." if wants_json(request)
                       else "If you typed the web address, check it is correct.")
            return problem_response(request, 404, message)
        problems = [{"field": ".".join(str(p) for p in e["loc"][1:]) or "body",
                     "message": e["msg"]} for e in exc.errors()]
        return problem_response(request, 422, "The request is not valid.",
                                [f"{p['field']}: {p['message']}" for p in problems], problems)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def database_unreachable(request: Request, exc: Exception) -> Response:
        # Down, restarting, out of connections, or (SQLite) locked by another writer too long.
        log.error("Database unavailable on %s %s: %s", request.method, request.url.path,
                  str(exc).splitlines()[0])
        return problem_response(request, 503, UNREACHABLE)

    @app.exception_handler(DataError)
    async def database_refused_value(request: Request, exc: DataError) -> Response:
        # Every input is checked before it reaches the database (ooc.inputs); this is the
        # backstop for a value a check missed, still a clear answer rather than a 500.
        log.error("Value refused by the database on %s %s: %s", request.method,
                  request.url.path, str(exc).splitlines()[0])
        return problem_response(request, 422, UNSTORABLE)

    @app.exception_handler(IntegrityError)
    async def database_conflict(request: Request, exc: IntegrityError) -> Response:
        log.error("Integrity error on %s %s: %s", request.method, request.url.path,
                  str(exc).splitlines()[0])
        return problem_response(request, 409, RACED)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("Unexpected error on %s %s", request.method, request.url.path)
        try:
            response = problem_response(request, 500,
                                        "Try again later. Nothing you sent was saved.")
        except Exception:
            log.exception("The error page failed too")
            response = HTMLResponse(FALLBACK_PAGE, status_code=500)
        # This answer is sent from outside every middleware (Starlette's last resort), so it
        # gets its security headers here.
        add_security_headers(response.headers, path=request.url.path,
                             https=request.app.state.services.settings.https)
        return response
