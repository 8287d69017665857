"""The improvement plan: the board reads it; managers and administrators keep it up to date
(objectives, actions, status notes, completion, hand-set or figure-linked RAG ratings)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import select
from starlette.responses import RedirectResponse, Response

from ooc import plan
from ooc.accounts import display_names
from ooc.errors import NotFound, OocError
from ooc.figures import FIGURE_IDS, FiguresConfig
from ooc.inputs import finite_number, too_long
from ooc.models import PlanAction, PlanNote, PlanObjective, User
from web.deps import ServicesDep, SessionDep, require_roles
from web.forms import date_from_parts, date_parts
from web.inputs import ItemId
from web.pages import check_csrf, flash, render_page

router = APIRouter()
PlanReader = Annotated[User, Depends(require_roles("board", "manager", "admin"))]
PlanEditor = Annotated[User, Depends(require_roles("manager", "admin"))]
GROUPS = (("red", "At risk"), ("amber", "In progress"), ("green", "Completed or on track"))


def _refresh(session, services) -> None:
    """Ratings move with dates and figures: bring them up to date (each change is kept)."""
    plan.refresh_ratings(session, registry=services.registry,
                         config=FiguresConfig.load(services.settings.workflows_dir),
                         now=services.clock())


@router.get("/plan")
def plan_page(request: Request, session: SessionDep, services: ServicesDep,
              user: PlanReader) -> Response:
    # Worked out as of now for reading; recorded only when someone saves (a GET writes nothing).
    ratings = plan.current_ratings(session, registry=services.registry,
                                   config=FiguresConfig.load(services.settings.workflows_dir),
                                   now=services.clock())
    objectives = session.exec(select(PlanObjective).order_by(PlanObjective.id)).all()
    actions = session.exec(select(PlanAction).order_by(PlanAction.original_due,
                                                       PlanAction.id)).all()
    titles = {o.id: o.title for o in objectives}
    groups = [{"rag": rag, "heading": heading,
               "actions": [{"action": a, "objective": titles[a.objective_id],
                            "status": plan.latest_note(session, a),
                            "reason": ratings[a.id][1],
                            "recorded": a.rag if a.rag != rag else None}
                           for a in actions if ratings[a.id][0] == rag]}
              for rag, heading in GROUPS]
    unrecorded = sum(1 for a in actions if ratings[a.id][0] != a.rag)
    return render_page(request, "pages/plan.html", {
        "title": "Improvement plan", "groups": groups, "objectives": objectives,
        "unrecorded": unrecorded,
        "can_edit": bool({"manager", "admin"} & set(user.roles))}, user=user)


@router.post("/plan/ratings")
async def record_ratings(request: Request, session: SessionDep, services: ServicesDep,
                         user: PlanEditor) -> Response:
    check_csrf(request, (await request.form()).get("csrf_token"))
    _refresh(session, services)
    flash(request, "Today's ratings are recorded.")
    return RedirectResponse("/plan", status_code=303)


@router.post("/plan/objectives")
async def add_objective(request: Request, session: SessionDep, services: ServicesDep,
                        user: PlanEditor) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    title = (form.get("title") or "").strip()
    recommendation = (form.get("recommendation") or "").strip()
    if not title:
        flash(request, "Write the objective before adding it.", success=False)
        return RedirectResponse("/plan", status_code=303)
    long = too_long(title=("The objective", title, plan.OBJECTIVE_LENGTH),
                    recommendation=("The recommendation", recommendation,
                                    plan.OBJECTIVE_LENGTH))
    if long:
        flash(request, f"{long[0][1]} Nothing was added.", success=False)
        return RedirectResponse("/plan", status_code=303)
    plan.objective_named(session, title, recommendation, services.clock())
    flash(request, f"Objective added: {title}.")
    return RedirectResponse("/plan", status_code=303)


FIELDS = ("title", "owner", "original_due", "revised_due", "completed_on", "figure_id", "green",
          "amber", "manual_rag")
DATES = {"original_due": "original due date", "revised_due": "revised due date",
         "completed_on": "completion date"}


def read_action_form(form) -> tuple[plan.ActionFields, dict[str, Any], dict[str, str]]:
    """The action's fields, what was typed (to show again), and the fields that could not be
    read (dates, numbers), each with its message."""
    values: dict[str, Any] = {name: (form.get(name) or "").strip() for name in FIELDS
                              if name not in DATES}
    errors, typed = {}, {}
    for name, label in DATES.items():
        text, values[name] = date_from_parts(form, name)
        try:
            typed[name] = date.fromisoformat(text) if text else None
        except ValueError:
            errors[name] = f"The {label} must be a real date, for example 30 9 2026"
            typed[name] = None
    for name in ("green", "amber"):
        typed[name] = finite_number(values[name]) if values[name] else None
        if values[name] and typed[name] is None:
            errors[name] = f"Enter the {name} threshold as a number, like 90"
    fields = plan.ActionFields(title=values["title"], owner=values["owner"],
                               figure_id=values["figure_id"] or None,
                               manual_rag=values["manual_rag"] or None, **typed)
    return fields, values, errors


def _objective(session, objective_id: int) -> PlanObjective:
    objective = session.get(PlanObjective, objective_id)
    if objective is None:
        raise NotFound(f"There is no objective {objective_id} in the plan.")
    return objective


def _action(session, action_id: int) -> PlanAction:
    action = session.get(PlanAction, action_id)
    if action is None:
        raise NotFound(f"There is no action {action_id} in the plan.")
    return action


def _action_page(request, session, user, objective, action=None, *, values=None, errors=None,
                 problems=None, status_code=200):
    if values is None and action is not None:
        values = {name: "" if getattr(action, name) is None else
                  (f"{getattr(action, name):g}" if name in ("green", "amber")
                   else str(getattr(action, name))) for name in FIELDS if name not in DATES}
        values.update({name: date_parts(getattr(action, name)) for name in DATES})
    notes = (session.exec(select(PlanNote).where(PlanNote.action_id == action.id)
                          .order_by(PlanNote.at.desc(), PlanNote.id.desc())).all()
             if action else [])
    return render_page(request, "pages/plan_action.html", {
        "title": f"Change the action: {action.title}" if action else "Add an action",
        "objective": objective, "action": action, "values": values or {},
        "errors": errors or {}, "problems": problems, "notes": notes,
        "authors": display_names(session, (n.author for n in notes)),
        "figure_items": [{"value": "", "text": "Not linked to a figure"}]
        + [{"value": i, "text": i, "selected": (values or {}).get("figure_id") == i}
           for i in FIGURE_IDS]}, user=user, status_code=status_code)


@router.get("/plan/objectives/{objective_id}/actions/new")
def new_action(request: Request, objective_id: ItemId, session: SessionDep,
               user: PlanEditor) -> Response:
    return _action_page(request, session, user, _objective(session, objective_id))


@router.get("/plan/actions/{action_id}")
def action_page(request: Request, action_id: ItemId, session: SessionDep,
                user: PlanEditor) -> Response:
    action = _action(session, action_id)
    return _action_page(request, session, user, _objective(session, action.objective_id), action)


def _save(request, session, services, user, form, objective, action=None) -> Response:
    fields, values, errors = read_action_form(form)
    if not errors:
        try:
            action = plan.save_action(session, objective=objective, fields=fields,
                                      now=services.clock(), action=action)
            note = (form.get("note") or "").strip()
            if note:
                plan.add_note(session, action=action, text=note, author=user.username,
                              now=services.clock())
            _refresh(session, services)
        except OocError as refusal:
            session.rollback()
            problems = [{"text": r, "href": "#title"} for r in refusal.reasons or
                        [refusal.message]]
            return _action_page(request, session, user, objective,
                                action and session.get(PlanAction, action.id), values=values,
                                problems=problems, status_code=422)
        flash(request, f"Action saved: {fields.title}.")
        return RedirectResponse("/plan", status_code=303)
    problems = [{"text": message, "href": f"#{name}"} for name, message in errors.items()]
    return _action_page(request, session, user, objective, action, values=values,
                        errors=errors, problems=problems, status_code=422)


@router.post("/plan/objectives/{objective_id}/actions/new")
async def add_action(request: Request, objective_id: ItemId, session: SessionDep,
                     services: ServicesDep, user: PlanEditor) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))  # first: a forged form learns nothing
    return _save(request, session, services, user, form, _objective(session, objective_id))


@router.post("/plan/actions/{action_id}")
async def change_action(request: Request, action_id: ItemId, session: SessionDep,
                        services: ServicesDep, user: PlanEditor) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    action = _action(session, action_id)
    return _save(request, session, services, user, form,
                 _objective(session, action.objective_id), action)
