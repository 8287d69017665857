"""The victim worker's list: victims awaiting contact or a restorative justice decision, and
victims due to be told the outcome, with due dates. The victim track's actions are on the case
page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import select
from starlette.responses import Response

from ooc.access import log_list_view
from ooc.calendar import local_date
from ooc.deadlines import DeadlineStatus
from ooc.definitions import Definition
from ooc.machine import WorkflowRegistry
from ooc.models import Case, Deadline, User
from web.deps import ServicesDep, SessionDep, require_roles
from web.pages import client_address, render_page

router = APIRouter()
VictimWorker = Annotated[User, Depends(require_roles("victim_worker"))]

# Victim-track states in which the victim still awaits contact or a decision about RJ.
AWAITING_VICTIM_WORK = ("awaiting_contact", "contacted", "views_recorded", "rj_offered")
# The deadlines victim work runs against: the victim's views are needed before the panel decides,
# and the victim must be offered RJ information and told the decision after it.
DECISION = "decision"
INFORMED = "victim_informed"


def closed_states(registry: WorkflowRegistry) -> list[str]:
    """Main-track states in which a case is over, in any workflow version."""
    return sorted({s.name for d in registry for s in d.states.values()
                   if s.track == "main" and s.terminal})


def _status(definition: Definition, case: Case, deadline: Deadline,
            today: date) -> DeadlineStatus:
    rule = next((r for r in definition.deadlines if r.name == deadline.name), None)
    return DeadlineStatus.on(
        today, case_id=case.id, police_reference=case.police_reference,
        child_name=case.child_name, case_state=definition.states[case.state].label,
        case_manager=case.case_manager, name=deadline.name,
        label=rule.label if rule else deadline.name, due_on=deadline.due_on)


def contact(case: Case) -> str:
    if case.victim_opted_out:
        return "Opted out: asked not to be contacted"
    if ((case.data or {}).get("victim_contact") or {}).get("consents_to_contact") is False:
        return "Asked for no further contact"
    return "Can be contacted"


@router.get("/victims")
def victims(request: Request, session: SessionDep, services: ServicesDep,
            user: VictimWorker) -> Response:
    today = local_date(services.clock())
    closed = closed_states(services.registry)
    awaiting = session.exec(select(Case).where(
        Case.has_victim.is_(True), Case.victim_state.in_(AWAITING_VICTIM_WORK),
        Case.state.not_in(closed)).order_by(Case.referral_date, Case.id)).all()
    # Every open deadline either list shows, in one query.
    found = session.exec(select(Deadline, Case).join(Case, Case.id == Deadline.case_id).where(
        Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None),
        Deadline.name.in_([DECISION, INFORMED]), Case.has_victim.is_(True),
        Case.state.not_in(closed)).order_by(Deadline.due_on, Deadline.case_id)).all()

    due: dict[int, list[DeadlineStatus]] = {}
    to_inform: list[dict[str, Any]] = []
    for deadline, case in found:
        definition = services.registry.get(case.workflow_name, case.workflow_version)
        status = _status(definition, case, deadline, today)
        due.setdefault(case.id, []).append(status)
        if deadline.name == INFORMED:
            outcome = ((case.data or {}).get("decision") or {}).get("outcome")
            to_inform.append({
                "case": case, "deadline": status, "contact": contact(case),
                "victim_state": definition.states[case.victim_state].label,
                "outcome": definition.outcomes[outcome].label
                if outcome in definition.outcomes else "Returned to the panel",
            })

    rows = []
    for case in awaiting:
        definition = services.registry.get(case.workflow_name, case.workflow_version)
        rows.append({"case": case, "deadlines": due.get(case.id, []), "contact": contact(case),
                     "victim_state": definition.states[case.victim_state].label})
    # Most urgent first; cases with no deadline running last, oldest referral first.
    rows.sort(key=lambda r: (not r["deadlines"],
                             r["deadlines"][0].due_on if r["deadlines"] else date.max))
    log_list_view(session, user=user, view="victims", now=services.clock(),
                  address=client_address(request),
                  case_ids=[r["case"].id for r in rows] + [r["case"].id for r in to_inform])
    return render_page(request, "pages/victims.html", {
        "title": "Victims", "awaiting": rows, "to_inform": to_inform,
    }, user=user)
