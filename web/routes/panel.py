"""The panel chair's pages: panel meetings, recording one with a live quorum indicator, and a
meeting's agenda of the cases ready for panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func
from sqlmodel import Session, select
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from ooc import panels
from ooc.access import log_list_view
from ooc.calendar import CALENDAR_FIRST, local_date
from ooc.definitions import Definition, Option, Quorum
from ooc.errors import NotFound
from ooc.machine import WorkflowRegistry
from ooc.models import Case, PanelMeeting, User
from ooc.quorum import describe, effective_quorum, known_agencies
from web.deps import ServicesDep, SessionDep, require_roles
from web.inputs import ItemId
from web.pages import check_csrf, client_address, flash, render_page

router = APIRouter()
PanelChair = Annotated[User, Depends(require_roles("panel_chair"))]

WORKFLOW = "oocd"
PAGE_SIZE = 25
MAX_PAGE = 100_000  # far beyond the meetings of a lifetime; keeps the offset a small number
DATE_PARTS = ("day", "month", "year")


@dataclass(frozen=True)
class QuorumStatus:
    quorate: bool
    problems: tuple[str, ...]

    @property
    def summary(self) -> str:
        if self.quorate:
            return "The meeting is quorate."
        return f"The meeting is not quorate: {'; '.join(self.problems)}."


def quorum_status(quorum: Quorum, agencies: list[str]) -> QuorumStatus:
    problems = quorum.problems(agencies)
    return QuorumStatus(not problems, tuple(problems))


def recorded_status(session: Session, definition: Definition,
                    meeting: PanelMeeting) -> QuorumStatus:
    """Whether the meeting was quorate, as fixed when it was recorded (what the decision guard
    and figure D5 read), whatever the rule says now."""
    return QuorumStatus(meeting.quorate,
                        tuple(panels.quorum_problems(session, definition, meeting)))


def agency_labels(known: list[Option], codes: list[str]) -> list[str]:
    """Labels in the rule's order of agencies (codes nobody lists any more kept as they are)."""
    labels = [a.label for a in known if a.value in codes]
    listed = {a.value for a in known}
    return labels + [code for code in codes if code not in listed]


def agenda_states(registry: WorkflowRegistry) -> list[str]:
    """The states of cases ready for panel, in every workflow version."""
    return sorted({state for d in registry for state in panels.agenda_states(d)})


def display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = session.exec(select(User.username, User.display_name)
                        .where(User.username.in_(sorted(usernames))))
    return dict(rows.all())


# --- the list of meetings -------------------------------------------------------------------


@router.get("/panel")
def meetings(request: Request, session: SessionDep, services: ServicesDep, user: PanelChair,
             page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1) -> Response:
    definition = services.registry.latest(WORKFLOW)
    known = known_agencies(session, definition)
    total = session.exec(select(func.count()).select_from(PanelMeeting)).one()
    pages = max(1, -(-total // PAGE_SIZE))
    found = session.exec(select(PanelMeeting)
                         .order_by(PanelMeeting.held_on.desc(), PanelMeeting.id.desc())
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    names = display_names(session, {m.chair for m in found})
    rows = [{"meeting": m, "chair": names.get(m.chair, m.chair),
             "agencies": agency_labels(known, m.agencies_present),
             "quorum": recorded_status(session, definition, m)} for m in found]
    ready = session.exec(select(func.count()).select_from(Case)
                         .where(Case.state.in_(agenda_states(services.registry)))).one()
    return render_page(request, "pages/panel_meetings.html", {
        "title": "Panel meetings", "rows": rows, "ready": ready, "total": total,
        "page": page, "pages": pages,
    }, user=user)


# --- recording a meeting --------------------------------------------------------------------


def _read_date(form: FormData, today: date) -> tuple[date | None, dict[str, str], str | None,
                                                   list[str]]:
    """The meeting date, what was typed, and a GOV.UK error message with the parts at fault."""
    parts = {p: (form.get(f"held_on-{p}") or "").strip() for p in DATE_PARTS}
    missing = [p for p in DATE_PARTS if not parts[p]]
    if len(missing) == len(DATE_PARTS):
        return None, parts, "Enter the date of the meeting", list(DATE_PARTS)
    if missing:
        return None, parts, f"Date of the meeting must include a {' and '.join(missing)}", missing
    if not all(parts[p].isascii() and parts[p].isdigit() for p in DATE_PARTS):
        wrong = [p for p in DATE_PARTS if not (parts[p].isascii() and parts[p].isdigit())]
        return None, parts, "Date of the meeting must be a real date", wrong
    if len(parts["year"]) != 4:
        return None, parts, "Year must include 4 numbers", ["year"]
    try:
        held_on = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return None, parts, "Date of the meeting must be a real date", list(DATE_PARTS)
    if held_on < CALENDAR_FIRST:
        return None, parts, f"Date of the meeting must be in {CALENDAR_FIRST:%Y} or later", \
            ["year"]
    if held_on > today:
        return None, parts, "Date of the meeting must be today or in the past", list(DATE_PARTS)
    return held_on, parts, None, []


def _form_page(request: Request, quorum: Quorum, user: User, *,
               parts: dict[str, str] | None = None, agencies: list[str] | None = None,
               errors: dict[str, str] | None = None, date_error_parts: list[str] | None = None,
               problems: list[dict[str, str]] | None = None, status_code: int = 200) -> Response:
    agencies = agencies or []
    return render_page(request, "pages/panel_meeting_new.html", {
        "title": "Record a panel meeting",
        "agencies": quorum.agencies,
        "required": quorum.required,
        "minimum_others": quorum.minimum_others,
        "rule": describe(quorum),
        "parts": parts or {},
        "ticked": agencies,
        # Without JavaScript the result shows once there is something to judge.
        "status": quorum_status(quorum, agencies) if agencies else None,
        "errors": errors or {},
        "date_error_parts": date_error_parts or [],
        "problems": problems,
    }, user=user, status_code=status_code)


@router.get("/panel/meetings/new")
def new_meeting_form(request: Request, session: SessionDep, services: ServicesDep,
                     user: PanelChair) -> Response:
    quorum = effective_quorum(session, services.registry.latest(WORKFLOW))
    return _form_page(request, quorum, user)


@router.post("/panel/meetings/new")
async def record_meeting(request: Request, session: SessionDep, services: ServicesDep,
                         user: PanelChair) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    quorum = effective_quorum(session, services.registry.latest(WORKFLOW))
    now = services.clock()
    held_on, parts, date_error, bad_parts = _read_date(form, local_date(now))
    ticked = set(form.getlist("agencies"))
    agencies = [a.value for a in quorum.agencies if a.value in ticked]
    errors, problems = {}, []
    if date_error:
        errors["held_on"] = date_error
        problems.append({"text": date_error, "href": f"#held_on-{bad_parts[0]}"})
    if not agencies:
        errors["agencies"] = "Select the agencies that were present at the meeting"
        problems.append({"text": errors["agencies"], "href": "#agencies"})
    if errors:
        return _form_page(request, quorum, user, parts=parts, agencies=agencies,
                          errors=errors, date_error_parts=bad_parts, problems=problems,
                          status_code=422)
    # The same form sent twice records one meeting.
    same_day = session.exec(select(PanelMeeting).where(PanelMeeting.held_on == held_on,
                                                       PanelMeeting.chair == user.username))
    meeting = next((m for m in same_day if sorted(m.agencies_present) == sorted(agencies)),
                   None)
    if meeting is None:
        meeting = panels.record_meeting(session, definition=services.registry.latest(WORKFLOW),
                                        held_on=held_on, chair=user.username,
                                        agencies=agencies, now=now)
    status = recorded_status(session, services.registry.latest(WORKFLOW), meeting)
    flash(request, f"Panel meeting on {held_on:%d %B %Y} recorded. {status.summary}",
          success=status.quorate)
    meeting_id = meeting.id
    return RedirectResponse(f"/panel/meetings/{meeting_id}", status_code=303)


# --- one meeting and its agenda -------------------------------------------------------------


@router.get("/panel/meetings/{meeting_id}")
def meeting_page(request: Request, meeting_id: ItemId, session: SessionDep, services: ServicesDep,
                 user: PanelChair) -> Response:
    meeting = session.get(PanelMeeting, meeting_id)
    if meeting is None:
        raise NotFound(f"There is no panel meeting {meeting_id}.")
    definition = services.registry.latest(WORKFLOW)
    now = services.clock()
    today = local_date(now)
    status = recorded_status(session, definition, meeting)
    offered = panels.agenda_offered(definition, meeting, today)
    can_decide = status.quorate and offered
    agenda = []
    if offered:
        cases = session.exec(select(Case).where(Case.state.in_(agenda_states(services.registry)))
                             .order_by(Case.referral_date, Case.id)).all()
        for case in cases:
            case_definition = services.registry.get(case.workflow_name, case.workflow_version)
            indicated = [case_definition.outcomes[code].label
                         if code in case_definition.outcomes else code
                         for code in case_definition.gravity.get(case.gravity_score, ())]
            decide = panels.deciding(case_definition)
            link, blocked = None, []
            if can_decide and decide is not None:
                blocked = panels.meeting_problems(session, case_definition, case, decide,
                                                  meeting, now)
                link = (f"/cases/{case.id}/actions/{decide.trigger}"
                        f"?{panels.meeting_field(decide)}={meeting.id}")
            agenda.append({"case": case, "indicated": indicated,
                           "link": None if blocked else link, "blocked": blocked})
    log_list_view(session, user=user, case_ids=[row["case"].id for row in agenda],
                  view="panel agenda", now=now, address=client_address(request))
    return render_page(request, "pages/panel_meeting.html", {
        "title": f"Panel meeting on {meeting.held_on:%d %B %Y}",
        "meeting": meeting,
        "chair": display_names(session, {meeting.chair}).get(meeting.chair, meeting.chair),
        "agencies": agency_labels(known_agencies(session, definition),
                                  meeting.agencies_present),
        "status": status,
        "can_decide": can_decide,
        "in_future": meeting.held_on > today,
        "agenda_offered": offered,
        "agenda_days": definition.panel.agenda_within_working_days,
        "agenda": agenda,
        "done": panels.done_at(session, services.registry, meeting),
    }, user=user)
