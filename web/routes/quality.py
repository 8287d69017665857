"""Quality audits (figure Q3): a manager draws a quarter's random sample of closed cases and
records a judgement on each question for each case in it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from ooc import quality
from ooc.access import log_view
from ooc.accounts import display_names
from ooc.calendar import local_date, quarter_of
from ooc.errors import InvalidForm, NotFound, OocError
from ooc.models import Case, QualityAudit, User
from ooc.record import build_record
from web.deps import ServicesDep, SessionDep, require_roles
from web.forms import problems_of
from web.inputs import ItemId
from web.pages import check_csrf, client_address, flash, render_page

router = APIRouter()
Manager = Annotated[User, Depends(require_roles("manager"))]


def recent_quarters(today: date, count: int = 5) -> list[date]:
    """The first days of the current quarter and the ones before it, most recent first."""
    firsts, day = [], today
    for _ in range(count):
        first, _ = quarter_of(day)
        firsts.append(first)
        day = first - timedelta(days=1)
    return firsts


def _quarter(value: str) -> date:
    try:
        first = date.fromisoformat(value)
        quality.quarter_bounds(first)
    except (ValueError, OocError):
        raise NotFound("There is no such quarter. Choose one from the list.") from None
    return first


@router.get("/quality")
def quality_page(request: Request, session: SessionDep, services: ServicesDep,
                 user: Manager) -> Response:
    quarters = []
    for first in recent_quarters(local_date(services.clock())):
        audits = quality.audits_of_quarter(session, first)
        quarters.append({"first": first, "last": quality.quarter_bounds(first)[1]
                         - timedelta(days=1),
                         "closed": len(quality.closed_in_quarter(session, first)),
                         "audits": audits,
                         "done": sum(1 for audit, _ in audits if audit.audited_at)})
    auditors = {audit.auditor for q in quarters for audit, _ in q["audits"]}
    return render_page(request, "pages/quality.html",
                       {"title": "Quality audits", "quarters": quarters,
                        "names": display_names(session, auditors),
                        "share": int(quality.SAMPLE_SHARE * 100),
                        "minimum": quality.SAMPLE_MINIMUM}, user=user)


@router.post("/quality/{quarter}/sample")
async def draw(request: Request, quarter: str, session: SessionDep, services: ServicesDep,
               user: Manager) -> Response:
    check_csrf(request, (await request.form()).get("csrf_token"))
    first = _quarter(quarter)
    try:
        audits = quality.draw_sample(session, first=first, by=user.username,
                                     now=services.clock())
    except OocError as refusal:
        session.rollback()
        flash(request, refusal.message, success=False)
        return RedirectResponse("/quality", status_code=303)
    flash(request, f"{len(audits)} cases drawn for the quarter starting {first:%d %B %Y}.")
    return RedirectResponse("/quality", status_code=303)


def _audit_page(request, session, services, user, audit, case, *, values=None, errors=None,
                problems=None, status_code=200):
    answers = values if values is not None else audit.answers
    log_view(session, user=user, case_id=case.id, view="quality audit", now=services.clock(),
             address=client_address(request))
    return render_page(request, "pages/quality_audit.html", {
        "title": f"Quality audit of case {case.id}", "audit": audit, "case": case,
        "record": build_record(session, registry=services.registry, case=case),
        "questions": [{"question": q, "value": answers.get(q.code),
                       "error": (errors or {}).get(q.code)} for q in quality.QUESTIONS],
        "notes": (values or {}).get("notes", audit.notes or ""),
        "problems": problems}, user=user, status_code=status_code)


def _load(session, audit_id: int):
    audit = session.get(QualityAudit, audit_id)
    if audit is None:
        raise NotFound(f"There is no quality audit {audit_id}.")
    return audit, session.get(Case, audit.case_id)


@router.get("/quality/audits/{audit_id}")
def audit_form(request: Request, audit_id: ItemId, session: SessionDep, services: ServicesDep,
               user: Manager) -> Response:
    audit, case = _load(session, audit_id)
    page = _audit_page(request, session, services, user, audit, case)
    return page


@router.post("/quality/audits/{audit_id}")
async def record(request: Request, audit_id: ItemId, session: SessionDep, services: ServicesDep,
                 user: Manager) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    audit, case = _load(session, audit_id)
    values = {q.code: form.get(q.code) for q in quality.QUESTIONS}
    try:
        quality.record_audit(session, audit_id=audit_id, answers=values,
                             notes=form.get("notes"), by=user.username, now=services.clock())
    except InvalidForm as refusal:
        session.rollback()
        problems, errors = problems_of(refusal)
        audit, case = _load(session, audit_id)
        page = _audit_page(request, session, services, user, audit, case,
                           values={**values, "notes": form.get("notes") or ""},
                           errors=errors, problems=problems, status_code=422)
        return page
    flash(request, f"Audit of case {case.id} recorded.")
    return RedirectResponse("/quality", status_code=303)
