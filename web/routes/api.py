"""The JSON API under /api/v1, with bearer tokens (`ooc users token NAME`) and OpenAPI docs.

Every endpoint turns a request into one call of the engine (`ooc.service`) and its answer into
a response model, so the OpenAPI schema documents exactly what is sent. Refusals are the
engine's domain errors, answered as JSON by `web.errors` with the same plain-words reasons the
pages show. What a request writes (a change, or the access log of a view) is committed once, by
the request's session (`web.deps.get_session`), after the endpoint has answered.

The interactive docs load Swagger UI from /static/swagger-ui/ (copied from the npm package
`swagger-ui-dist` by `make web/static/.built`), never from a CDN: the service runs offline.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlmodel import select
from starlette.responses import HTMLResponse, Response

from ooc import service
from ooc.access import CASE_VIEWERS, case_for, log_list_view, log_view, viewable
from ooc.accounts import user_for_token
from ooc.audit import case_events
from ooc.calendar import CALENDAR_LAST, to_utc
from ooc.deadlines import list_open_deadlines
from ooc.definitions import Definition, FormField
from ooc.errors import FieldProblem, InvalidForm
from ooc.guards import age_on
from ooc.inputs import EARLIEST_DATE, MAX_ID, MAX_WHOLE_NUMBER, TEXT_MAX_LENGTH
from ooc.machine import WorkflowRegistry
from ooc.models import Case, User
from web import errors
from web.deps import Forbidden, Services, ServicesDep, SessionDep, SignInRequired
from web.inputs import ItemId, refuse_nul
from web.pages import client_address

WORKFLOW = "oocd"  # the workflow new referrals start on (its latest version)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SWAGGER_UI = "/static/swagger-ui"
# Swagger UI is started by /static/api-docs.js, not an inline script (the pages' security
# policy forbids those).
DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>ooc API documentation</title>
<link rel="stylesheet" href="{swagger_ui}/swagger-ui.css">
<link rel="icon" href="{swagger_ui}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{swagger_ui}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""

DESCRIPTION = """\
The case workflow of out-of-court disposals, for other systems.

**Authentication.** Every request needs an API token, sent as `Authorization: Bearer TOKEN`.
An administrator issues one with `ooc users token USERNAME`; the token acts with that user's
roles, exactly as the user would in the pages. A token expires (after 90 days unless the
service is set otherwise) and its owner or an administrator can revoke it at any time.

**Errors** are JSON: `{"error": title, "message": what happened, "reasons": [each unmet
condition], "problems": [{"field", "message"} for each bad field]}` with status 401 (no valid
token), 403 (the user's role may not do this), 404 (no such case), 409 (someone else changed
the case first, or `expected_version` is out of date), 422 (unmet conditions or bad fields,
including text with a NUL character), 503 (the database could not be reached: the request may
not have been saved, so check before sending it again). An id in the address that is not a
whole number from 1 to 2147483647 is 404, as for a case that does not exist.
"""


# --- authentication --------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="An API token from `ooc users token USERNAME`.")


def get_api_user(session: SessionDep, services: ServicesDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                 ) -> User:
    """The active user whose token the request carries; 401 without a valid one."""
    if credentials is None or not credentials.credentials:
        raise SignInRequired()
    user = user_for_token(session, credentials.credentials.strip(), now=services.clock())
    if user is None:
        raise SignInRequired()
    return user


ApiUser = Annotated[User, Depends(get_api_user)]


def get_case_viewer(user: ApiUser) -> User:
    """A user whose work needs the child's record (`ooc.access.CASE_VIEWERS`)."""
    if not set(user.roles) & set(CASE_VIEWERS):
        who = ", ".join(f"a {service.role_label(r)}" for r in CASE_VIEWERS[:-1])
        held = ", ".join(service.role_label(r) for r in user.roles) or "no role"
        raise Forbidden(f"Only {who} or a {service.role_label(CASE_VIEWERS[-1])} can see or "
                        f"work on a child's case; {user.username} is signed in as {held}.")
    return user


CaseViewer = Annotated[User, Depends(get_case_viewer)]


# --- response models -------------------------------------------------------------------------


class ProblemField(BaseModel):
    field: str = Field(description="The name of the bad field.")
    message: str = Field(description="What is wrong with it, in plain words.")


class Problem(BaseModel):
    """Every error answer."""

    error: str = Field(description="A short title, e.g. 'This cannot be done yet'.")
    message: str = Field(description="What happened, in plain words.")
    reasons: list[str] = Field(description="Each unmet condition (or bad field), one sentence "
                                           "each.")
    problems: list[ProblemField] | None = Field(
        default=None, description="Each bad field, when the request's data was not valid.")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid API token."},
    403: {"model": Problem, "description": "The user's roles do not allow this."},
    404: {"model": Problem, "description": "There is no such case."},
    409: {"model": Problem, "description": "Someone else changed the case first, or "
                                           "`expected_version` is not the case's version."},
    422: {"model": Problem, "description": "Unmet conditions (`reasons`) or bad fields "
                                           "(`problems`)."},
    503: {"model": Problem, "description": "The database could not be reached; the request "
                                           "may not have been saved."},
}


def errors_for(*statuses: int) -> dict[int | str, dict[str, Any]]:
    # Any request may meet a database that cannot be reached.
    return {status: ERRORS[status] for status in (*statuses, 503)}


class StateOut(BaseModel):
    name: str = Field(description="The state's name in the workflow definition.")
    label: str


class WorkflowOut(BaseModel):
    name: str
    version: int


class CaseSummary(BaseModel):
    """A case in a list: who, where it is in the workflow, and who manages it."""

    id: int
    police_reference: str
    child_name: str
    state: StateOut = Field(description="The state of the main track.")
    victim_state: StateOut = Field(description="The state of the victim track.")
    version: int = Field(description="The case's version: send it back as `expected_version` "
                                     "to act only on what you have seen.")
    case_manager: str | None
    referral_date: date
    workflow: WorkflowOut


class CaseList(BaseModel):
    items: list[CaseSummary]
    limit: int
    offset: int
    next_offset: int | None = Field(description="The `offset` of the next page; null on the "
                                                "last page.")


class EthnicityOut(BaseModel):
    code: str
    label: str | None


class ChildOut(BaseModel):
    given_name: str
    family_name: str
    date_of_birth: date
    age_at_offence: int = Field(description="Whole years of age on the date of the offence.")
    sex: str
    ethnicity: EthnicityOut
    looked_after: bool


class ReferralOut(BaseModel):
    police_reference: str
    referral_date: date
    offence_date: date
    offence_description: str
    offence_category: str
    gravity_score: int
    admission: bool
    previous_formal_outcomes: int
    bail_date: date | None
    has_victim: bool
    victim_opted_out: bool


class DeadlineOut(BaseModel):
    name: str
    label: str
    due_on: date
    working_days_left: int = Field(description="Negative: overdue by that many working days.")
    overdue: bool
    description: str = Field(description="E.g. '3 working days left', 'overdue by 2 working "
                                         "days'.")


class OptionOut(BaseModel):
    value: str
    label: str


class FieldOut(BaseModel):
    """A field of `data` that a trigger takes."""

    name: str
    label: str
    type: str = Field(description="string, text, bool, int, date (YYYY-MM-DD), choice or "
                                  "meeting (a panel meeting's id).")
    required: bool
    hint: str | None = None
    options: list[OptionOut] = Field(default_factory=list,
                                     description="The values a choice may take.")
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = Field(default=None, description="The most characters a string or "
                                                             "text may have.")


class AvailableTrigger(BaseModel):
    trigger: str
    label: str
    track: str
    fields: list[FieldOut]
    reason: str = Field(description="Whether a `reason` is none, optional or required.")
    reason_codes: list[str] = Field(description="The `reason_code` values this trigger takes.")


class BlockedTrigger(BaseModel):
    trigger: str
    label: str
    track: str
    reasons: list[str] = Field(description="Why the caller cannot do this now.")


class CaseDetail(BaseModel):
    """A child's case, with what the caller can do to it now."""

    id: int
    version: int = Field(description="Send it back as `expected_version` to act only on what "
                                     "you have seen.")
    workflow: WorkflowOut
    state: StateOut = Field(description="The state of the main track.")
    victim_state: StateOut = Field(description="The state of the victim track.")
    case_manager: str | None
    created_at: datetime
    updated_at: datetime
    child: ChildOut
    referral: ReferralOut
    records: dict[str, Any] = Field(description="What the workflow's steps recorded (assessment, "
                                                "decision, ...), each with who and when.")
    deadlines: list[DeadlineOut] = Field(description="Open deadlines, most urgent first.")
    available: list[AvailableTrigger] = Field(description="What the caller can do now.")
    blocked: list[BlockedTrigger] = Field(description="What the case's state allows but the "
                                                      "caller cannot do now, and why.")


class TransitionIn(BaseModel):
    """A workflow action on a case."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"trigger": "take_case", "expected_version": 1},
        {"trigger": "defer", "data": {"meeting_id": 12},
         "reason": "The school report is not in yet.",
         "reason_code": "more_information_needed", "expected_version": 4},
    ]}}

    trigger: str = Field(max_length=64, description="One of the case's `available` triggers.")
    data: dict[str, Any] = Field(default_factory=dict,
                                 description="The trigger's fields (see `available[].fields`).")
    reason: str | None = Field(default=None, max_length=TEXT_MAX_LENGTH,
                               description="Why; required where the trigger's `reason` is "
                                           "'required'.")
    reason_code: str | None = Field(default=None, max_length=64,
                                    description="One of the trigger's `reason_codes`.")
    expected_version: int | None = Field(
        default=None, ge=1, le=MAX_WHOLE_NUMBER,
        description="The case version the action is based on; 409 if the case has changed "
                    "since.")


class TransitionOut(BaseModel):
    case_id: int
    trigger: str
    track: str
    from_state: StateOut
    to_state: StateOut
    version: int = Field(description="The case's new version.")


class AuditEventOut(BaseModel):
    seq: int
    at: datetime = Field(description="When, in UTC.")
    actor: str
    role: str
    trigger: str
    track: str
    from_state: str | None
    to_state: str
    reason_code: str | None
    reason: str | None
    data: dict[str, Any]
    workflow_name: str
    workflow_version: int
    data_digest: str = Field(description="SHA-256 of `data` and `reason`; the hash covers this "
                                         "digest, so a case's personal data can be removed when "
                                         "it is anonymised and the chain still verifies.")
    prev_hash: str
    hash: str = Field(description="SHA-256 chaining this event to the one before it.")


class AuditTrail(BaseModel):
    case_id: int
    events: list[AuditEventOut]


# --- the referral body, documented from the workflow's [referral] fields ---------------------


def field_schema(f: FormField) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": f.label}
    if f.hint:
        schema["description"] = f.hint
    if f.type == "meeting":
        schema.update(type="integer", minimum=1, maximum=MAX_ID)
    elif f.type == "int":
        schema.update(type="integer", minimum=-MAX_WHOLE_NUMBER if f.minimum is None
                      else f.minimum, maximum=MAX_WHOLE_NUMBER if f.maximum is None
                      else f.maximum)
    elif f.type == "bool":
        schema["type"] = "boolean"
    elif f.type == "date":
        schema.update(type="string", format="date",
                      description=" ".join(filter(None, [f.hint, f"From {EARLIEST_DATE} to "
                                                                f"{CALENDAR_LAST}."])))
    elif f.type == "choice":
        schema.update(type="string", enum=[o.value for o in f.options])
    else:
        schema["type"] = "string"
        if f.max_length:
            schema["maxLength"] = f.max_length
    return schema


def referral_body(definition: Definition) -> dict[str, Any]:
    fields = definition.referral.fields
    schema = {
        "title": "Referral",
        "type": "object",
        "properties": {f.name: field_schema(f) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }
    example = {
        "police_reference": "XX/2026/000123", "given_name": "Sam", "family_name": "Example",
        "date_of_birth": "2011-06-15", "sex": "not_known", "ethnicity": "Z",
        "looked_after": False, "offence_date": "2026-02-20",
        "offence_description": "Theft from a shop", "offence_category": "theft_and_handling",
        "gravity_score": 2, "admission": True, "previous_formal_outcomes": 0,
        "referral_date": "2026-03-02", "has_victim": False, "victim_opted_out": False,
    }
    content: dict[str, Any] = {"schema": schema}
    if set(example) <= {f.name for f in fields}:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


# --- turning engine objects into responses ---------------------------------------------------


def state_out(definition: Definition, name: str) -> StateOut:
    state = definition.states.get(name)
    return StateOut(name=name, label=state.label if state else name)


def case_summary(registry: WorkflowRegistry, case: Any) -> CaseSummary:
    """From a Case, or a row of the same columns."""
    definition = registry.get(case.workflow_name, case.workflow_version)
    return CaseSummary(
        id=case.id, police_reference=case.police_reference,
        child_name=f"{case.given_name} {case.family_name}",
        state=state_out(definition, case.state),
        victim_state=state_out(definition, case.victim_state),
        version=case.version, case_manager=case.case_manager, referral_date=case.referral_date,
        workflow=WorkflowOut(name=case.workflow_name, version=case.workflow_version))


def field_out(f: FormField) -> FieldOut:
    return FieldOut(name=f.name, label=f.label, type=f.type, required=f.required, hint=f.hint,
                    options=[OptionOut(value=o.value, label=o.label) for o in f.options],
                    minimum=f.minimum, maximum=f.maximum, max_length=f.max_length)


SUMMARY_COLUMNS = (Case.id, Case.police_reference, Case.given_name, Case.family_name,
                   Case.state, Case.victim_state, Case.version, Case.case_manager,
                   Case.referral_date, Case.workflow_name, Case.workflow_version)


def _states_of(registry: WorkflowRegistry, track: str) -> list[str]:
    return sorted({name for d in registry for name, s in d.states.items() if s.track == track})


def _check_states(registry: WorkflowRegistry, param: str, track: str,
                  values: list[str]) -> list[FieldProblem]:
    known = _states_of(registry, track)
    return [FieldProblem(param, f"'{v}' is not a state of the {track} track (use one of: "
                                f"{', '.join(known)}).")
            for v in values if v not in known]


# --- the application -------------------------------------------------------------------------


def create_api(services: Services) -> FastAPI:
    api = FastAPI(title="ooc API", version="1", description=DESCRIPTION, docs_url=None,
                  openapi_url="/openapi.json", redoc_url=None,
                  dependencies=[Depends(refuse_nul)])
    api.state.services = services
    errors.install(api)
    registry = services.registry
    referral_openapi = referral_body(registry.latest(WORKFLOW))

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        """Swagger UI, from this server's own copy of swagger-ui-dist."""
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(DOCS_PAGE.format(openapi_url=html.escape(f"{root}{api.openapi_url}"),
                                             swagger_ui=SWAGGER_UI))

    @api.post("/referrals", status_code=201, response_model=CaseSummary, tags=["referrals"],
              summary="Make a referral (police, case manager)",
              responses=errors_for(401, 403, 409, 422), openapi_extra=referral_openapi)
    def make_referral(response: Response, session: SessionDep, user: ApiUser,
                      referral: Annotated[dict[str, Any], Body()]) -> CaseSummary:
        """Record a referral as a new case on the latest workflow version. Each bad field is
        listed in `problems`; a police reference already used is refused, so sending the same
        referral twice never creates two cases."""
        case = service.create_case(session, registry=registry, actor=user, referral=referral,
                                   now=services.clock(), workflow=WORKFLOW)
        summary = case_summary(registry, case)
        response.headers["Location"] = f"/api/v1/cases/{summary.id}"
        return summary

    @api.get("/cases", response_model=CaseList, tags=["cases"], summary="List cases",
             responses=errors_for(401, 403, 422))
    def list_cases(
        request: Request, session: SessionDep, user: CaseViewer,
        state: Annotated[list[str] | None, Query(
            description="The main track's state; repeat for several.")] = None,
        victim_state: Annotated[list[str] | None, Query(
            description="The victim track's state; repeat for several.")] = None,
        case_manager: Annotated[str | None, Query(
            max_length=64, description="The case manager's username.")] = None,
        police_reference: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    ) -> CaseList:
        """Cases in the order they were referred into ooc (by id), a page at a time."""
        problems = (_check_states(registry, "state", "main", state or [])
                    + _check_states(registry, "victim_state", "victim", victim_state or []))
        if problems:
            raise InvalidForm(problems)
        query = select(*SUMMARY_COLUMNS).where(viewable(user, registry))  # the caller's cases
        if state:
            query = query.where(Case.state.in_(state))
        if victim_state:
            query = query.where(Case.victim_state.in_(victim_state))
        if case_manager is not None:
            query = query.where(Case.case_manager == case_manager)
        if police_reference is not None:
            query = query.where(Case.police_reference == police_reference)
        # One row more than asked for says whether there is another page, without a count.
        rows = session.exec(query.order_by(Case.id).offset(offset).limit(limit + 1)).all()
        more = len(rows) > limit
        # The list names the children: each one shown is a view, in the access log (a look-up
        # by police reference too, named as such: it finds a child from the police's number).
        log_list_view(session, user=user, case_ids=[row.id for row in rows[:limit]],
                      view="api police reference look-up" if police_reference is not None
                      else "api case list", now=services.clock(),
                      address=client_address(request))
        return CaseList(items=[case_summary(registry, row) for row in rows[:limit]],
                        limit=limit, offset=offset, next_offset=offset + limit if more else None)

    @api.get("/cases/{case_id}", response_model=CaseDetail, tags=["cases"],
             summary="A child's case, with what the caller can do now",
             responses=errors_for(401, 403, 404))
    def get_case(request: Request, case_id: ItemId, session: SessionDep,
                 user: CaseViewer) -> CaseDetail:
        """Both tracks' states, the child and the referral, open deadlines with working days
        left, and the triggers the caller can fire now (`available`) or cannot, with the reasons
        (`blocked`). The view is written to the access log."""
        now = services.clock()
        case = case_for(session, user=user, case_id=case_id, registry=registry)
        definition = registry.get(case.workflow_name, case.workflow_version)
        actions = service.available_actions(session, registry=registry, case=case, actor=user,
                                            now=now)
        ethnicity = definition.ethnicities.get(case.ethnicity)
        detail = CaseDetail(
            id=case.id, version=case.version,
            workflow=WorkflowOut(name=case.workflow_name, version=case.workflow_version),
            state=state_out(definition, case.state),
            victim_state=state_out(definition, case.victim_state),
            case_manager=case.case_manager,
            created_at=to_utc(case.created_at), updated_at=to_utc(case.updated_at),
            child=ChildOut(
                given_name=case.given_name, family_name=case.family_name,
                date_of_birth=case.date_of_birth,
                age_at_offence=age_on(case.date_of_birth, case.offence_date), sex=case.sex,
                ethnicity=EthnicityOut(code=case.ethnicity,
                                       label=ethnicity.label if ethnicity else None),
                looked_after=case.looked_after),
            referral=ReferralOut(**{name: getattr(case, name)
                                    for name in ReferralOut.model_fields}),
            records=case.data,
            deadlines=[DeadlineOut(name=d.name, label=d.label, due_on=d.due_on,
                                   working_days_left=d.working_days_left, overdue=d.overdue,
                                   description=d.describe())
                       for d in list_open_deadlines(session, registry=registry, now=now,
                                                    case_id=case.id)],
            available=[AvailableTrigger(
                trigger=a.trigger, label=a.label, track=a.transition.track,
                fields=[field_out(f) for f in a.transition.fields],
                reason=a.transition.reason, reason_codes=list(a.transition.reason_codes))
                for a in actions if a.allowed],
            blocked=[BlockedTrigger(trigger=a.trigger, label=a.label, track=a.transition.track,
                                    reasons=list(a.reasons))
                     for a in actions if not a.allowed],
        )
        log_view(session, user=user, case_id=case.id, view="api case", now=now,
                 address=client_address(request))
        return detail

    @api.post("/cases/{case_id}/transitions", response_model=TransitionOut, tags=["cases"],
              summary="Fire a workflow trigger on a case",
              responses=errors_for(401, 403, 404, 409, 422))
    def fire_transition(case_id: ItemId, body: TransitionIn, session: SessionDep,
                        user: CaseViewer) -> TransitionOut:
        """Checks the caller's role, the fields in `data`, the reason and every condition of
        the workflow before anything is written: 403 when the role may not, 422 listing each
        unmet condition (`reasons`) and each bad field (`problems`), 409 when `expected_version`
        is not the case's version or someone else changed the case at the same moment."""
        result = service.fire(session, registry=registry, case_id=case_id, trigger=body.trigger,
                              actor=user, now=services.clock(), data=body.data,
                              reason=body.reason, reason_code=body.reason_code,
                              expected_version=body.expected_version)
        case = case_for(session, user=user, case_id=case_id, registry=registry)
        definition = registry.get(case.workflow_name, case.workflow_version)
        return TransitionOut(case_id=result.case_id, trigger=result.trigger, track=result.track,
                             from_state=state_out(definition, result.from_state),
                             to_state=state_out(definition, result.to_state),
                             version=result.version)

    @api.get("/cases/{case_id}/audit", response_model=AuditTrail, tags=["cases"],
             summary="A case's audit trail", responses=errors_for(401, 403, 404))
    def audit_trail(request: Request, case_id: ItemId, session: SessionDep,
                    user: CaseViewer) -> AuditTrail:
        """Every event of the case, oldest first, hash-chained (`ooc audit verify` checks the
        chain). The view is written to the access log."""
        case = case_for(session, user=user, case_id=case_id, registry=registry)
        trail = AuditTrail(case_id=case.id, events=[
            AuditEventOut(seq=e.seq, at=to_utc(e.at), actor=e.actor, role=e.role,
                          trigger=e.trigger, track=e.track, from_state=e.from_state,
                          to_state=e.to_state, reason_code=e.reason_code, reason=e.reason,
                          data=e.data, workflow_name=e.workflow_name,
                          workflow_version=e.workflow_version, data_digest=e.data_digest,
                          prev_hash=e.prev_hash,
                          hash=e.hash)
            for e in case_events(session, case.id)])
        log_view(session, user=user, case_id=case.id, view="api audit", now=services.clock(),
                 address=client_address(request))
        return trail

    return api
