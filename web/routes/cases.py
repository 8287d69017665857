"""The case manager's caseload, the case page and the forms of workflow actions."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import defer
from sqlmodel import func, select
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from ooc import service
from ooc.access import CASE_VIEWERS, case_for, log_list_view, log_view, may_read_view_log
from ooc.accounts import display_names
from ooc.audit import case_events
from ooc.calendar import uk_date, uk_time
from ooc.deadlines import list_open_deadlines
from ooc.definitions import Option
from ooc.drafts import find_draft, save_draft
from ooc.errors import Conflict, FieldProblem, InvalidForm, OocError
from ooc.guards import age_on
from ooc.inputs import id_or_none
from ooc.models import Case, PanelMeeting, User
from ooc.record import (
    CaseRecord,
    Row,
    build_record,
    describe_answers,
    returned_cases,
)
from web.deps import PostedForm, ServicesDep, SessionDep, require_roles
from web.forms import form_values, problems_of, read_form
from web.inputs import ItemId
from web.pages import check_csrf, client_address, flash, render_page

router = APIRouter()
CaseViewer = Annotated[User, Depends(require_roles(*CASE_VIEWERS))]
CaseManager = Annotated[User, Depends(require_roles("case_manager"))]


def load_case(session, services: ServicesDep, user: User, case_id: int) -> Case:
    """The case, if the user's work needs it (a 404 or 403 page saying why not)."""
    return case_for(session, user=user, case_id=case_id, registry=services.registry)


NEW_REFERRALS_SHOWN = 20  # the oldest first: a long list would only slow the page down


@router.get("/caseload")
def caseload(request: Request, session: SessionDep, services: ServicesDep,
             user: CaseManager) -> Response:
    now = services.clock()
    # Open cases only, in SQL: a case manager's closed cases grow without end.
    open_states = sorted({s for d in services.registry for s in d.open_states("main")})
    mine = session.exec(select(Case).options(defer(Case.data))  # recorded data: not shown
                        .where(Case.case_manager == user.username,
                               Case.state.in_(open_states))).all()
    deadlines = list_open_deadlines(session, registry=services.registry, now=now,
                                    case_manager=user.username)
    most_urgent: dict[int, object] = {}
    for d in deadlines:  # already sorted, most urgent first
        most_urgent.setdefault(d.case_id, d)
    returned = returned_cases(session, registry=services.registry, cases=list(mine))
    rows = []
    for case in mine:
        definition = services.registry.get(case.workflow_name, case.workflow_version)
        if definition.is_terminal(case.state):
            continue
        rows.append({"case": case, "state": definition.states[case.state].label,
                     "next": most_urgent.get(case.id), "returned": returned.get(case.id)})
    # Most urgent first; cases with no open deadline last.
    rows.sort(key=lambda r: (r["next"] is None, r["next"].working_days_left if r["next"] else 0,
                             r["case"].referral_date))
    # New referrals: still in a state the workflow starts cases in, and nobody's yet.
    starts = sorted({r.state for d in services.registry for r in d.tracks["main"].initial})
    waiting = (Case.state.in_(starts), Case.case_manager.is_(None))
    new_referrals = session.exec(select(Case).options(defer(Case.data)).where(*waiting)
                                 .order_by(Case.referral_date, Case.id)
                                 .limit(NEW_REFERRALS_SHOWN)).all()
    waiting_count = session.exec(select(func.count()).select_from(Case).where(*waiting)).one()
    log_list_view(session, user=user, view="caseload", now=now, address=client_address(request),
                  case_ids=[r["case"].id for r in rows] + [c.id for c in new_referrals])
    return render_page(request, "pages/caseload.html",
                       {"title": "My caseload", "rows": rows, "new_referrals": new_referrals,
                        "waiting_count": waiting_count}, user=user)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: ItemId, session: SessionDep, services: ServicesDep,
              user: CaseViewer) -> Response:
    now = services.clock()
    case = load_case(session, services, user, case_id)
    definition = services.registry.get(case.workflow_name, case.workflow_version)
    actions = service.available_actions(session, registry=services.registry, case=case,
                                        actor=user, now=now)
    events = case_events(session, case.id)
    record = build_record(session, registry=services.registry, case=case, events=events)
    context = {
        "title": f"{case.child_name} ({case.police_reference})",
        "case": case,
        "definition": definition,
        "age_at_offence": age_on(case.date_of_birth, case.offence_date),
        **_where_the_case_is(session, definition, case),
        "deadlines": list_open_deadlines(session, registry=services.registry, now=now,
                                         case_id=case.id),
        "actions": actions,
        "record": record,
        "timeline": _timeline(services, events, record),
        "can_see_views": may_read_view_log(session, user=user, case=case,
                                           registry=services.registry),
    }
    log_view(session, user=user, case_id=case.id, view="case page", now=now,
             address=client_address(request))
    return render_page(request, "pages/case.html", context, user=user)


@router.get("/cases/{case_id}/print")
def case_print(request: Request, case_id: ItemId, session: SessionDep, services: ServicesDep,
               user: CaseViewer) -> Response:
    """The whole record on one page to print: no navigation, every earlier version open."""
    now = services.clock()
    case = load_case(session, services, user, case_id)
    definition = services.registry.get(case.workflow_name, case.workflow_version)
    log_view(session, user=user, case_id=case.id, view="printed record", now=now,
             address=client_address(request))
    return render_page(request, "pages/case_print.html", {
        "title": f"Case record: {case.child_name}", "case": case, "print_view": True,
        "printed_at": now, **_where_the_case_is(session, definition, case),
        "record": build_record(session, registry=services.registry, case=case)}, user=user)


def _where_the_case_is(session, definition, case: Case) -> dict:
    """Both tracks' states and the case manager's name, as the case and print pages show them."""
    return {"main_state": definition.states[case.state],
            "victim_state": definition.states[case.victim_state],
            "case_manager": display_names(session, [case.case_manager]).get(
                case.case_manager, case.case_manager)}


def _timeline(services: ServicesDep, events, record: CaseRecord) -> list[dict]:
    """Every event, newest first, named as it is done ("Assessment submitted")."""
    entries = {e.seq: e for s in record.sections for e in s.entries}
    timeline = []
    for event in reversed(events):
        definition = services.registry.get(event.workflow_name, event.workflow_version)
        transition = (definition.transition(event.from_state, event.trigger)
                      if event.from_state else None)
        entry = entries.get(event.seq)
        timeline.append({
            "label": entry.title if entry else transition.done if transition else
            "Moved to a new workflow version",
            "by": entry.by if entry else event.actor,
            "role": event.role.replace("_", " "),
            "when": uk_time(event.at),
        })
    return timeline


def _meeting_options(session, services: ServicesDep, chosen=None) -> list[Option]:
    meetings = session.exec(select(PanelMeeting).order_by(PanelMeeting.held_on.desc())
                            .limit(12)).all()
    # A meeting chosen in advance (from its agenda) is listed even when it is an older one.
    chosen_id = id_or_none(str(chosen)) if chosen else None
    if chosen_id and all(m.id != chosen_id for m in meetings):
        meetings += [m for m in [session.get(PanelMeeting, chosen_id)] if m is not None]
    chairs = display_names(session, (m.chair for m in meetings))
    return [Option(str(m.id), f"{m.held_on:%A} {uk_date(m.held_on)} (chair: "
                              f"{chairs.get(m.chair, m.chair)})") for m in meetings]


def _action_page(request, session, services, user, case, transition, *, values=None,
                 errors=None, problems=None, reason="", reason_code="", draft=None,
                 status_code=200):
    definition = services.registry.get(case.workflow_name, case.workflow_version)
    indicated = [definition.outcomes[c].label for c in definition.gravity.get(case.gravity_score,
                                                                               ())]
    record = build_record(session, registry=services.registry, case=case)
    rework = record.rework if record.rework and record.rework.trigger == transition.trigger \
        else None
    if values is None:
        # Returned work starts from its last submission, not from a blank form.
        values = form_values(transition.fields, rework.last_submission) if rework else {}
    return render_page(request, "pages/action.html", {
        "title": transition.label,
        "case": case,
        "transition": transition,
        "values": values,
        "errors": errors or {},
        "problems": problems,
        "meetings": _meeting_options(session, services, values.get("meeting_id")),
        "decides_outcome": any(f.options_from == "outcomes" for f in transition.fields),
        "indicated_outcomes": indicated,
        "record_sections": record.for_transition(transition),
        "rework": rework,
        "draft": draft,
        "can_save_draft": any(f.type == "text" for f in transition.fields)
        or transition.reason != "none",
        "reason": reason,
        "reason_code": reason_code,
    }, user=user, status_code=status_code)


@router.get("/cases/{case_id}/actions/{trigger}")
def action_form(request: Request, case_id: ItemId, trigger: str, session: SessionDep,
                services: ServicesDep, user: CaseViewer) -> Response:
    case = load_case(session, services, user, case_id)
    definition = services.registry.get(case.workflow_name, case.workflow_version)
    _, transition = service.find_transition(definition, case, trigger)
    draft = find_draft(session, case_id=case.id, trigger=trigger, author=user.username)
    typed = dict(draft.values) if draft else {}
    reason, reason_code = typed.pop("reason", "") or "", typed.pop("reason_code", "") or ""
    # A field may be pre-filled from the address, e.g. ?meeting_id=3 from a meeting's agenda.
    values = typed or {f.name: request.query_params[f.name] for f in transition.fields
                       if request.query_params.get(f.name)} or None
    log_view(session, user=user, case_id=case.id, view=f"action form: {trigger}",
             now=services.clock(), address=client_address(request))
    page = _action_page(request, session, services, user, case, transition, values=values,
                        reason=reason, reason_code=reason_code, draft=draft)
    return page


def _expected_version(sent) -> int | None:
    """The case version the form was shown with; None when the form did not say (an older
    page), which acts on the case as it is now."""
    if sent is None or sent == "":
        return None
    version = id_or_none(sent) if isinstance(sent, str) else None
    if version is None:
        raise InvalidForm([FieldProblem(
            "expected_version", "The form did not say which version of the case it was filled "
                                "in on. Go back to the case, reload it and try again.")])
    return version


@router.post("/cases/{case_id}/actions/{trigger}")
def do_action(request: Request, case_id: ItemId, trigger: str, session: SessionDep,
              services: ServicesDep, user: CaseViewer, form: PostedForm) -> Response:
    # In the thread pool, as every route that uses the database (web.deps.posted_form says
    # why). On the event loop, writes queued rather than contending for SQLite's write lock,
    # which halved a closed loop's p95, but one slow write stopped every other request.
    check_csrf(request, form.get("csrf_token"))
    case = load_case(session, services, user, case_id)
    expected_version = _expected_version(form.get("expected_version"))
    reason = (form.get("reason") or "").strip() or None
    reason_code = form.get("reason_code") or None
    transition = None
    shown: dict = {}
    try:
        # First, so that a form sent twice is recognised as such even though the case has
        # since moved to a state where this action no longer applies.
        service.check_version(case, expected_version)
        definition = services.registry.get(case.workflow_name, case.workflow_version)
        _, transition = service.find_transition(definition, case, trigger)
        data, shown = read_form(transition.fields, form)
        if form.get("save_draft"):
            save_draft(session, case=case, transition=transition, author=user,
                       values={**shown, "reason": reason, "reason_code": reason_code},
                       now=services.clock())
            flash(request, "Your draft was saved. Only you can see it; it is removed once the "
                           "action is done.")
            return RedirectResponse(f"/cases/{case_id}/actions/{trigger}", status_code=303)
        if form.get("change"):  # back from checking the answers, to change them
            return _action_page(request, session, services, user, case, transition,
                                values=shown, reason=reason or "",
                                reason_code=reason_code or "")
        if transition.confirm and not form.get("confirmed"):
            checked = service.check_transition(
                session, registry=services.registry, case_id=case.id, trigger=trigger,
                actor=user, now=services.clock(), data=data, reason=reason,
                reason_code=reason_code, expected_version=expected_version)
            return _confirm_page(request, session, services, user, checked, form, reason,
                                 reason_code)
        service.fire(session, registry=services.registry, case_id=case.id, trigger=trigger,
                     actor=user, now=services.clock(), data=data, reason=reason,
                     reason_code=reason_code, expected_version=expected_version)
    except Conflict as conflict:
        # Most often the same form sent twice, or someone else acted first: nothing typed is
        # lost. It is shown back beside what changed, and kept as a draft if the action can
        # still be done.
        session.rollback()
        return _conflict_page(request, session, services, user, case_id, trigger, form,
                              conflict, expected_version, reason, reason_code)
    except OocError as refusal:
        session.rollback()
        if transition is None:  # not an action of this case now: an error page
            raise
        problems, errors = problems_of(refusal)
        case = load_case(session, services, user, case_id)
        return _action_page(request, session, services, user, case, transition,
                            values=shown, errors=errors, problems=problems,
                            reason=reason or "", reason_code=reason_code or "",
                            status_code=422)
    flash(request, f"Done: {transition.label.lower()}.")
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _confirm_page(request, session, services, user, checked: service.Checked, form, reason,
                  reason_code) -> Response:
    """Check your answers before an action that cannot be undone."""
    transition, definition = checked.transition, checked.definition
    answers = describe_answers(session, definition=definition, fields=transition.fields,
                               data=checked.form)
    if reason_code:
        answers.append(Row("Reason", reason_code.replace("_", " ").capitalize()))
    if reason:
        answers.append(Row("Explanation" if reason_code else "Reason", reason, long=True))
    record = build_record(session, registry=services.registry, case=checked.case)
    log_view(session, user=user, case_id=checked.case.id, view="check your answers",
             now=services.clock(), address=client_address(request))
    return render_page(request, "pages/confirm.html", {
        "title": f"Check before you {transition.label[0].lower()}{transition.label[1:]}",
        "case": checked.case, "transition": transition, "answers": answers,
        "next_state": definition.states[checked.to_state].label,
        "record_sections": record.for_transition(transition),
        "carried": [(k, v) for k, v in form.multi_items()
                    if k not in ("csrf_token", "confirmed", "change") and isinstance(v, str)],
    }, user=user)


def _conflict_page(request, session, services, user, case_id, trigger, form, conflict,
                   expected_version, reason, reason_code) -> Response:
    case = load_case(session, services, user, case_id)
    definition = services.registry.get(case.workflow_name, case.workflow_version)
    record = build_record(session, registry=services.registry, case=case)
    changes = sorted((e for s in record.sections for e in s.entries
                      if expected_version is None or e.seq > expected_version),
                     key=lambda e: e.seq)
    fields = next((t.fields for t in definition.transitions if t.trigger == trigger), ())
    data, shown = read_form(fields, form)
    typed = [{"label": f.label, "value": data[f.name]} for f in fields
             if f.type in ("text", "string") and data.get(f.name)]
    if reason:
        typed.append({"label": "Reason", "value": reason})
    try:
        _, transition = service.find_transition(definition, case, trigger)
        save_draft(session, case=case, transition=transition, author=user,
                   values={**shown, "reason": reason, "reason_code": reason_code},
                   now=services.clock())
        kept = transition
    except OocError:
        kept = None  # the action no longer applies: the text is shown, to copy what is needed
    log_view(session, user=user, case_id=case.id, view="changed by someone else",
             now=services.clock(), address=client_address(request))
    page = render_page(request, "pages/conflict.html", {
        "title": "Someone else changed this case", "case": case, "message": conflict.message,
        "changes": changes, "typed": typed, "kept": kept}, user=user, status_code=409)
    return page


# --- a form sent after the session expired -----------------------------------------------------

ACTION_PATH = re.compile(r"/cases/([0-9]{1,10})/actions/([a-z0-9_]{1,64})")
NOT_TYPED = {"csrf_token", "expected_version", "save_draft"}


def typed_pairs(path: str, form: FormData) -> list[tuple[str, str]] | None:
    """What was typed into an action form, if `path` is one (to carry through signing in)."""
    if not ACTION_PATH.fullmatch(path):
        return None
    return [(k, v) for k, v in form.multi_items() if k not in NOT_TYPED and isinstance(v, str)]


def keep_typed(session, services, user: User, path: str, pairs: list[tuple[str, str]]) -> bool:
    """Keep text typed before the session expired as the user's draft of that form."""
    match = ACTION_PATH.fullmatch(path)
    case_id = id_or_none(match.group(1)) if match else None
    case = session.get(Case, case_id) if case_id else None
    if case is None:
        return False
    definition = services.registry.get(case.workflow_name, case.workflow_version)
    try:
        _, transition = service.find_transition(definition, case, match.group(2))
        form = FormData(pairs)
        _, shown = read_form(transition.fields, form)
        save_draft(session, case=case, transition=transition, author=user,
                   values={**shown, "reason": form.get("reason") or "",
                           "reason_code": form.get("reason_code") or ""},
                   now=services.clock())
    except OocError:
        return False
    return True
