"""The administrator's pages: people and their roles, and each workflow's panel quorum rule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlmodel import select
from starlette.responses import RedirectResponse, Response

from ooc.accounts import (
    ROLES,
    add_user,
    change_roles,
    display_names,
    list_tokens,
    reset_password,
    revoke_token,
    set_active,
)
from ooc.calendar import to_utc
from ooc.errors import InvalidForm, NotFound, OocError
from ooc.models import QuorumRule, User
from ooc.quorum import (
    as_quorum,
    change_quorum,
    describe,
    effective_quorum,
    known_agencies,
    latest_rule,
)
from ooc.sign_in_sessions import end_all_sessions, list_sessions
from web.deps import PostedForm, ServicesDep, SessionDep, require_roles
from web.forms import problems_of
from web.inputs import ItemId
from web.pages import check_csrf, flash, render_page

router = APIRouter()
Admin = Annotated[User, Depends(require_roles("admin"))]

ROLE_HINTS = {
    "police": "Makes referrals.",
    "case_manager": "Takes cases, assesses the child, delivers and closes interventions.",
    "panel_chair": "Records panel meetings and the panel's decisions.",
    "manager": "Countersigns assessments, signs off decisions, returns and withdraws work.",
    "victim_worker": "Contacts victims, records their views and restorative justice.",
    "board": "Sees the board's figures; never a child's record.",
    "admin": "Manages users, roles and the quorum rule.",
    "data_protection": "Sees who viewed a child's case; never the record itself.",
}


def role_items(chosen: list[str]) -> list[dict]:
    return [{"value": role, "text": role.replace("_", " ").capitalize(),
             "hint": {"text": ROLE_HINTS[role]}, "checked": role in chosen} for role in ROLES]


def is_locked(user: User, now) -> bool:
    return user.locked_until is not None and to_utc(user.locked_until) > to_utc(now)


def _user(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.")
    return user


# --- the overview ---------------------------------------------------------------------------


@router.get("/admin")
def overview(request: Request, session: SessionDep, services: ServicesDep,
             user: Admin) -> Response:
    users = session.exec(select(User).order_by(User.username)).all()
    workflows = []
    for name in sorted({d.name for d in services.registry}):
        definition = services.registry.latest(name)
        quorum = effective_quorum(session, definition)
        workflows.append({"definition": definition, "quorum": quorum,
                          "description": describe(quorum), "rule": latest_rule(session, name)})
    now = services.clock()
    return render_page(request, "pages/admin.html", {
        "title": "Administration", "users": users, "workflows": workflows,
        "names": {u.username: u.display_name for u in users},
        "locked": {u.id for u in users if is_locked(u, now)}}, user=user)


# --- users ------------------------------------------------------------------------------------


def _new_user_page(request, user, *, values=None, errors=None, problems=None, status_code=200):
    values = values or {}
    return render_page(request, "pages/admin_user_new.html", {
        "title": "Add a user", "values": values, "errors": errors or {}, "problems": problems,
        "role_items": role_items(values.get("roles", [])),
    }, user=user, status_code=status_code)


@router.get("/admin/users/new")
def new_user_form(request: Request, user: Admin) -> Response:
    return _new_user_page(request, user)


@router.post("/admin/users/new")
async def new_user(request: Request, session: SessionDep, services: ServicesDep,
                   user: Admin) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    values = {"username": (form.get("username") or "").strip(),
              "display_name": (form.get("display_name") or "").strip(),
              "team": (form.get("team") or "").strip(),
              "roles": form.getlist("roles")}
    try:
        added = add_user(session, username=values["username"], roles=values["roles"],
                         password=form.get("password") or "",
                         display_name=values["display_name"] or None,
                         team=values["team"] or None, actor=user.username,
                         now=services.clock())
    except InvalidForm as refusal:
        session.rollback()
        problems, errors = problems_of(refusal)
        return _new_user_page(request, user, values=values, errors=errors, problems=problems,
                              status_code=422)
    flash(request, f"{added.username} can now sign in as "
                   f"{', '.join(r.replace('_', ' ') for r in added.roles)}.")
    return RedirectResponse("/admin", status_code=303)


def _user_page(request, session, services, admin, person, *, errors=None, problems=None,
               chosen=None, status_code=200):
    settings, now = services.settings, services.clock()
    return render_page(request, "pages/admin_user.html", {
        "title": person.display_name, "person": person, "errors": errors or {},
        "problems": problems, "locked": is_locked(person, now), "now": now,
        "role_items": role_items(person.roles if chosen is None else chosen),
        "tokens": list_tokens(session, user=person),
        "sessions": list_sessions(session, user_id=person.id, now=now,
                                  idle=settings.session_idle,
                                  lifetime=settings.session_lifetime),
    }, user=admin, status_code=status_code)


@router.get("/admin/users/{user_id}")
def user_page(request: Request, user_id: ItemId, session: SessionDep, services: ServicesDep,
              user: Admin) -> Response:
    return _user_page(request, session, services, user, _user(session, user_id))


@router.post("/admin/users/{user_id}/tokens/{token_id}/revoke")
def revoke_users_token(request: Request, user_id: ItemId, token_id: ItemId, session: SessionDep,
                       services: ServicesDep, user: Admin, form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    person = _user(session, user_id)
    revoke_token(session, token_id=token_id, now=services.clock(), owner=person,
                 actor=user.username)
    flash(request, f"{person.username}'s API token {token_id} is revoked: it no longer works.")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/sign-out")
def sign_user_out(request: Request, user_id: ItemId, session: SessionDep, user: Admin,
                  form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    person = _user(session, user_id)
    end_all_sessions(session, user_id=person.id)
    flash(request, f"{person.username} is signed out everywhere.")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


def _refused(request, session, services, admin, user_id, refusal: OocError, chosen=None):
    session.rollback()
    problems, errors = problems_of(refusal)
    return _user_page(request, session, services, admin, _user(session, user_id),
                      errors=errors, problems=problems, chosen=chosen, status_code=422)


@router.post("/admin/users/{user_id}/roles")
def update_roles(request: Request, user_id: ItemId, session: SessionDep,
                 services: ServicesDep, user: Admin, form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    person = _user(session, user_id)
    roles = [role for role in ROLES if role in form.getlist("roles")]
    try:
        change_roles(session, user=person, roles=roles, by=user, now=services.clock())
    except InvalidForm as refusal:
        return _refused(request, session, services, user, user_id, refusal, chosen=roles)
    flash(request, f"{person.username}'s roles are now "
                   f"{', '.join(r.replace('_', ' ') for r in roles)}.")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/password")
def change_password(request: Request, user_id: ItemId, session: SessionDep,
                    services: ServicesDep, user: Admin, form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    person = _user(session, user_id)
    try:
        reset_password(session, user=person, password=form.get("password") or "",
                       by=user, now=services.clock())
    except InvalidForm as refusal:
        return _refused(request, session, services, user, user_id, refusal)
    flash(request, f"{person.username} has a new password and has been signed out everywhere. "
                   "Give them the password in person.")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/active")
def change_active(request: Request, user_id: ItemId, session: SessionDep,
                  services: ServicesDep, user: Admin, form: PostedForm) -> Response:
    check_csrf(request, form.get("csrf_token"))
    person = _user(session, user_id)
    active = form.get("active") == "yes"
    try:
        set_active(session, user=person, active=active, by=user, now=services.clock())
    except InvalidForm as refusal:
        return _refused(request, session, services, user, user_id, refusal)
    flash(request, f"{person.username} can sign in again." if active else
                   f"{person.username} is deactivated: they can no longer sign in or use the "
                   "API.")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


# --- the quorum rule --------------------------------------------------------------------------


def _quorum_page(request, session, services, admin, definition, *, values=None, errors=None,
                 problems=None, status_code=200):
    quorum = effective_quorum(session, definition)
    values = values or {"agencies": [a.value for a in quorum.agencies],
                        "required": list(quorum.required),
                        "minimum_others": str(quorum.minimum_others), "new_agency": ""}
    agencies = known_agencies(session, definition)
    history = session.exec(select(QuorumRule).where(QuorumRule.workflow_name == definition.name)
                           .order_by(QuorumRule.id.desc()).limit(10)).all()
    return render_page(request, "pages/admin_quorum.html", {
        "title": f"Quorum rule: {definition.title}", "definition": definition,
        "values": values, "errors": errors or {}, "problems": problems,
        "agency_items": [{"value": a.value, "text": a.label,
                          "checked": a.value in values["agencies"]} for a in agencies],
        "required_items": [{"value": a.value, "text": a.label,
                            "checked": a.value in values["required"]} for a in agencies],
        "history": [(rule, describe(as_quorum(rule))) for rule in history],
        "names": display_names(session, (rule.updated_by for rule in history)),
    }, user=admin, status_code=status_code)


@router.get("/admin/quorum/{workflow}")
def quorum_form(request: Request, workflow: str, session: SessionDep, services: ServicesDep,
                user: Admin) -> Response:
    definition = services.registry.latest(workflow)
    return _quorum_page(request, session, services, user, definition)


@router.post("/admin/quorum/{workflow}")
async def change_quorum_rule(request: Request, workflow: str, session: SessionDep,
                             services: ServicesDep, user: Admin) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    definition = services.registry.latest(workflow)
    ticked = form.getlist("agencies")
    values = {"agencies": ticked, "required": form.getlist("required"),
              "minimum_others": form.get("minimum_others") or "",
              "new_agency": form.get("new_agency") or ""}
    try:
        change_quorum(session, definition=definition,
                      agencies=[a for a in known_agencies(session, definition)
                                if a.value in ticked],
                      required=values["required"], minimum_others=values["minimum_others"],
                      new_agency=values["new_agency"], actor=user, now=services.clock())
    except InvalidForm as refusal:
        session.rollback()
        problems, errors = problems_of(refusal)
        return _quorum_page(request, session, services, user, definition, values=values,
                            errors=errors, problems=problems, status_code=422)
    flash(request, f"The quorum rule for {definition.title.lower()} is changed. Decisions "
                   "recorded from now on must meet it.")
    return RedirectResponse("/admin", status_code=303)
