"""The board's dashboard: live counts of cases by state and of overdue deadlines, with the
workflow diagram. Aggregate figures only: no child is named on these pages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from sqlalchemy import func, select
from starlette.responses import Response

from ooc.calendar import local_date
from ooc.definitions import Definition
from ooc.diagram import outline, render_svg
from ooc.figures import Period
from ooc.figures.sources import Sources
from ooc.figures.timeliness import OVERDUE_DEADLINES, overdue_now
from ooc.machine import WorkflowRegistry
from ooc.models import Case, Deadline, User
from web.deps import ServicesDep, SessionDep, require_roles
from web.pages import render_page, templates

router = APIRouter()
T6_DEADLINES = set(OVERDUE_DEADLINES.values())
BoardViewer = Annotated[User, Depends(require_roles("board", "manager", "admin"))]


def workflow_svg(definition: Definition, **options) -> Markup:
    return Markup(render_svg(definition, **options))  # render_svg escapes every text itself


# Any page can draw a workflow diagram (the case page draws the case's, from its definition).
templates.env.globals["workflow_svg"] = workflow_svg
templates.env.globals["workflow_outline"] = outline


@dataclass(frozen=True)
class StateCount:
    name: str
    label: str
    cases: int
    terminal: bool


@dataclass(frozen=True)
class OverdueCount:
    name: str
    label: str
    deadlines: int


def _workflows(registry: WorkflowRegistry) -> list[Definition]:
    """The latest version of each workflow, by name."""
    return [registry.latest(name) for name in sorted({d.name for d in registry})]


def cases_by_state(session, registry: WorkflowRegistry, latest: Definition) -> list[StateCount]:
    """Cases of a workflow in each state of its main track, in the diagram's order; states that
    only older versions have come last."""
    counts: dict[str, int] = {}
    labels: dict[str, tuple[str, bool]] = {}
    query = (select(Case.workflow_version, Case.state, func.count())
             .where(Case.workflow_name == latest.name)
             .group_by(Case.workflow_version, Case.state))
    for version, state, n in session.execute(query):
        counts[state] = counts.get(state, 0) + n
        old = registry.get(latest.name, version).states[state]
        labels.setdefault(state, (old.label, old.terminal))
    rows = [StateCount(step.name, step.label, counts.pop(step.name, 0), step.terminal)
            for step in outline(latest)]
    return rows + [StateCount(name, labels[name][0], n, labels[name][1])
                   for name, n in sorted(counts.items())]


def _overdue(latest: Definition, today, count, *, by_milestone: bool):
    """Count a workflow's open deadlines past their due date (ooc.deadlines.is_overdue), by the
    case's version and state (so that cases that have ended can be left out) and, if asked, by
    milestone."""
    keys = [Case.workflow_version, Case.state] + ([Deadline.name] if by_milestone else [])
    return (select(*keys, count)
            .join(Case, Case.id == Deadline.case_id)
            .where(Case.workflow_name == latest.name, Deadline.met_at.is_(None),
                   Deadline.cancelled_at.is_(None), Deadline.due_on < today)
            .group_by(*keys))


def overdue_by_milestone(session, registry: WorkflowRegistry, latest: Definition, now: datetime
                         ) -> tuple[list[OverdueCount], int]:
    """Overdue deadlines by milestone (every milestone, in the workflow's order), and how many
    open cases have an overdue milestone of figure T6. T6's milestones are counted by T6 itself,
    worked out at `now`, so that the dashboard and the board pack agree; the other deadlines
    (the intervention's reviews, telling the victim) from the open deadlines, by the same rule.
    Like the caseload, cases that have ended owe nothing."""
    today = local_date(now)
    t6 = overdue_now(Sources(session, Period.of(today, today, now), registry))
    mine = set(session.scalars(select(Case.id).where(
        Case.id.in_(sorted({o.case_id for o in t6.overdue})),
        Case.workflow_name == latest.name))) if t6.overdue else set()
    late = [o for o in t6.overdue if o.case_id in mine]
    counts = Counter(o.deadline for o in late)
    labels = {rule.name: rule.label for rule in latest.deadlines}
    rows = session.execute(_overdue(latest, today, func.count(), by_milestone=True))
    for version, state, name, n in rows:
        definition = registry.get(latest.name, version)
        if not definition.is_terminal(state) and name not in T6_DEADLINES:
            counts[name] += n
            labels.setdefault(name, next((r.label for r in definition.deadlines
                                          if r.name == name), name))
    return ([OverdueCount(name, label, counts.get(name, 0)) for name, label in labels.items()],
            len({o.case_id for o in late}))


@router.get("/board")
def board(request: Request, session: SessionDep, services: ServicesDep,
          user: BoardViewer) -> Response:
    now = services.clock()
    today = local_date(now)
    workflows = []
    for latest in _workflows(services.registry):
        states = cases_by_state(session, services.registry, latest)
        overdue, cases_overdue = overdue_by_milestone(session, services.registry, latest, now)
        workflows.append({
            "definition": latest,
            "states": states,
            "counts": {row.name: row.cases for row in states},
            "open_cases": sum(row.cases for row in states if not row.terminal),
            "all_cases": sum(row.cases for row in states),
            "overdue": overdue,
            "overdue_deadlines": sum(row.deadlines for row in overdue),
            "cases_overdue": cases_overdue,
        })
    return render_page(request, "pages/board.html",
                       {"title": "Board dashboard", "today": today, "workflows": workflows},
                       user=user)
