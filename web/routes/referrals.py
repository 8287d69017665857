"""Police referrals: the referral form (CSV upload comes with the import command)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from ooc import service
from ooc.errors import OocError
from ooc.models import User
from web.deps import ServicesDep, SessionDep, require_roles
from web.forms import problems_of, read_form
from web.pages import check_csrf, flash, render_page

router = APIRouter()
Referrer = Annotated[User, Depends(require_roles("police", "case_manager"))]


def _page(request, services, user, *, values=None, errors=None, problems=None,
          status_code=200):
    definition = services.registry.latest("oocd")
    return render_page(request, "pages/referral.html", {
        "title": "Make a referral", "fields": definition.referral.fields,
        "values": values or {}, "errors": errors or {}, "problems": problems,
    }, user=user, status_code=status_code)


@router.get("/referrals/new")
def referral_form(request: Request, services: ServicesDep, user: Referrer) -> Response:
    return _page(request, services, user)


@router.post("/referrals/new")
async def make_referral(request: Request, session: SessionDep, services: ServicesDep,
                        user: Referrer) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    definition = services.registry.latest("oocd")
    data, shown = read_form(definition.referral.fields, form)
    try:
        case = service.create_case(session, registry=services.registry, actor=user,
                                   referral=data, now=services.clock())
    except OocError as refusal:
        session.rollback()
        problems, errors = problems_of(refusal)
        return _page(request, services, user, values=shown, errors=errors, problems=problems,
                     status_code=422)
    session.commit()
    flash(request, f"Referral {case.police_reference} received for {case.child_name}.")
    target = f"/cases/{case.id}" if "case_manager" in user.roles else "/referrals/new"
    return RedirectResponse(target, status_code=303)
