"""The manager's queues: assessments awaiting countersignature and decisions awaiting sign-off,
oldest first, each with its deadline and what this manager may do (or why not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, select
from starlette.responses import Response

from ooc import service
from ooc.access import log_list_view, viewable
from ooc.calendar import ENGLAND_AND_WALES, local_date, to_utc
from ooc.deadlines import DeadlineStatus
from ooc.models import Case, Deadline, User
from web.deps import ServicesDep, SessionDep, require_roles
from web.pages import client_address, render_page

router = APIRouter()
Manager = Annotated[User, Depends(require_roles("manager"))]


@dataclass(frozen=True)
class Queue:
    key: str
    title: str
    state: str      # the main-track state of the work waiting
    record: str     # what the work recorded on the case (who did it and when)
    deadline: str   # the deadline the manager's action meets
    work_by: str    # column heading for who did the work
    waiting_from: str


QUEUES = (
    Queue("countersignature", "Assessments awaiting countersignature",
          "awaiting_countersignature", "assessment", "countersignature", "Assessment by",
          "Submitted"),
    Queue("sign_off", "Decisions awaiting sign-off", "awaiting_signoff", "decision", "sign_off",
          "Decision recorded by", "Decided"),
)


def _recorded_at(case: Case, record: str) -> datetime:
    """When the work was recorded (the case's last change if the record says nothing)."""
    at = (case.data or {}).get(record, {}).get("at")
    try:
        return to_utc(datetime.fromisoformat(at) if at else case.updated_at)
    except ValueError:
        return to_utc(case.updated_at)


def _open_deadlines(session: Session, services, cases: list[Case], names: set[str],
                    today: date) -> dict[tuple[int, str], DeadlineStatus]:
    """The open deadlines called `names` of `cases`, in one query."""
    if not cases:
        return {}
    by_id = {c.id: c for c in cases}
    rows = session.exec(select(Deadline).where(
        Deadline.case_id.in_(list(by_id)), Deadline.name.in_(sorted(names)),
        Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
        .order_by(Deadline.due_on)).all()
    found: dict[tuple[int, str], DeadlineStatus] = {}
    for d in rows:
        case = by_id[d.case_id]
        definition = services.registry.get(case.workflow_name, case.workflow_version)
        rule = next((r for r in definition.deadlines if r.name == d.name), None)
        found.setdefault((d.case_id, d.name), DeadlineStatus.on(
            today, case_id=case.id, police_reference=case.police_reference,
            child_name=case.child_name, case_state=definition.states[case.state].label,
            case_manager=case.case_manager, name=d.name,
            label=rule.label if rule else d.name, due_on=d.due_on))
    return found


def _actions(session: Session, services, case: Case, user: User, now: datetime) -> list[Any]:
    """This manager's actions on the case's main track: allowed, or blocked with the reason.
    (Actions of other roles, such as the victim worker's, are not the manager's business here.)"""
    return [a for a in service.available_actions(session, registry=services.registry, case=case,
                                                 actor=user, now=now)
            if a.transition.track == "main" and set(a.transition.roles) & set(user.roles)]


@router.get("/manager")
def queues(request: Request, session: SessionDep, services: ServicesDep,
           user: Manager) -> Response:
    now = services.clock()
    today = local_date(now)
    cases = session.exec(select(Case).where(  # the manager's teams' work
        Case.state.in_([q.state for q in QUEUES]), viewable(user, services.registry))).all()
    deadlines = _open_deadlines(session, services, list(cases), {q.deadline for q in QUEUES},
                                today)
    workers = sorted({by for c in cases for q in QUEUES
                      if (by := (c.data or {}).get(q.record, {}).get("by"))})
    names = dict(session.exec(select(User.username, User.display_name)
                              .where(User.username.in_(workers))).all()) if workers else {}
    shown = []
    for queue in QUEUES:
        rows = []
        for case in cases:
            if case.state != queue.state:
                continue
            record = (case.data or {}).get(queue.record, {})
            since = _recorded_at(case, queue.record)
            by = record.get("by")
            actions = _actions(session, services, case, user, now)
            rows.append({
                "case": case,
                "by": names.get(by, by) if by else "Not recorded",
                "mine": by == user.username,
                "since": since,
                "since_on": local_date(since),
                "waiting": ENGLAND_AND_WALES.working_days_between(local_date(since), today),
                "deadline": deadlines.get((case.id, queue.deadline)),
                "allowed": [a for a in actions if a.allowed],
                "blocked": [a for a in actions if not a.allowed],
            })
        rows.sort(key=lambda r: (r["since"], r["case"].id))
        shown.append({"queue": queue, "rows": rows})
    log_list_view(session, user=user, case_ids=[c.id for c in cases], view="manager queues",
                  now=now, address=client_address(request))
    return render_page(request, "pages/manager.html",
                       {"title": "Manager queues", "queues": shown}, user=user)
