"""Police referrals: the referral form, and the upload of a CSV file of referrals."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from ooc import service
from ooc.access import CASE_VIEWERS, log_view
from ooc.deadlines import list_open_deadlines
from ooc.errors import NotFound, OocError
from ooc.import_jobs import create_import_job, report_from_json, run_import_job, start_in_thread
from ooc.imports import check_referrals, column_guide, template_csv
from ooc.inputs import whole_number
from ooc.jobs import FAILED, RUNNING, STOPPED, job_for, stopped
from ooc.models import Case, User
from web.deps import ServicesDep, SessionDep, require_roles
from web.forms import problems_of, read_form
from web.inputs import ItemId
from web.pages import check_csrf, client_address, render_page

router = APIRouter()
Referrer = Annotated[User, Depends(require_roles("police", "case_manager"))]
# An upload's page is for its uploader; administrators may look at any (job_for says which).
UploadViewer = Annotated[User, Depends(require_roles("police", "case_manager", "admin"))]

# The largest CSV file the upload page takes (several thousand referrals).
MAX_UPLOAD_MB = 5
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
# Room for the multipart framing and the CSRF token around the file itself.
_FORM_OVERHEAD = 64 * 1024


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
    # Only the person who made it sees its confirmation (the page names the child).
    request.session["referral_made"] = case.id
    return RedirectResponse(f"/referrals/{case.id}/received", status_code=303)


@router.get("/referrals/{case_id}/received")
def referral_received(request: Request, case_id: ItemId, session: SessionDep,
                      services: ServicesDep, user: Referrer) -> Response:
    """The confirmation after a referral: its reference and what happens next."""
    case = session.get(Case, case_id)
    if case is None or request.session.get("referral_made") != case_id:
        raise NotFound("There is no referral of yours to confirm here. Your referrals are "
                       "listed under My referrals.")
    deadlines = list_open_deadlines(session, registry=services.registry,
                                    now=services.clock(), case_id=case.id)
    log_view(session, user=user, case_id=case.id, view="referral received",
             now=services.clock(), address=client_address(request))
    return render_page(request, "pages/referral_received.html", {
        "title": "Referral received", "case": case, "deadlines": deadlines,
        "can_open_case": bool(set(CASE_VIEWERS) & set(user.roles))}, user=user)


# --- uploading a CSV file ---------------------------------------------------------------------


def _upload_page(request, services, user, *, report=None, filename=None, error=None,
                 reasons=(), refused=None, status_code=200):
    definition = services.registry.latest("oocd")
    problems = None
    if error:
        problems = [{"text": error, "href": "#file"}] + [
            {"text": reason, "href": "#file"} for reason in reasons]
    return render_page(request, "pages/referral_upload.html", {
        "title": "Upload referrals", "columns": column_guide(definition),
        "max_upload_mb": MAX_UPLOAD_MB, "report": report, "filename": filename,
        "error": error, "reasons": list(reasons), "problems": problems, "refused": refused,
        "can_view_cases": bool(set(user.roles) & set(CASE_VIEWERS)),
    }, user=user, status_code=status_code)


@router.get("/referrals/upload")
def upload_form(request: Request, services: ServicesDep, user: Referrer) -> Response:
    return _upload_page(request, services, user)


@router.get("/referrals/upload/template.csv")
def upload_template(services: ServicesDep, user: Referrer) -> Response:
    """A CSV file with just the header row, to fill in."""
    return Response(template_csv(services.registry.latest("oocd")),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="referrals.csv"'})


# How many rows with problems the error summary names; the table below it lists them all.
SUMMARY_ROWS = 10
# Seconds between refreshes of the page of an import that is still running.
REFRESH_SECONDS = 2


def _row_problems(rejected) -> list[str]:
    lines = [f"Row {r.row}{f' ({r.police_reference})' if r.police_reference else ''}: "
             + " ".join(r.reasons) for r in rejected[:SUMMARY_ROWS]]
    if len(rejected) > SUMMARY_ROWS:
        lines.append(f"And {len(rejected) - SUMMARY_ROWS} more rows, listed below.")
    return lines


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@router.post("/referrals/upload")
async def upload_referrals(request: Request, session: SessionDep, services: ServicesDep,
                           user: Referrer) -> Response:
    too_big = f"The selected file must be smaller than {MAX_UPLOAD_MB} MB."
    length = request.headers.get("content-length", "")
    if (whole_number(length) or 0) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD:
        # Refused before the body is read: nothing is parsed, nothing is written.
        return _upload_page(request, services, user, error=too_big, status_code=413)
    form = await request.form(max_files=1, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(request, services, user, error="Select a CSV file of referrals.",
                            status_code=422)
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return _upload_page(request, services, user, error=too_big, status_code=413)
    if not data.strip():
        return _upload_page(request, services, user, error="The selected file is empty.",
                            status_code=422)
    now = services.clock()
    try:
        # Every row is checked here, reading only (a few seconds for the biggest file, off
        # the event loop); the writing is the job's.
        plan = await run_in_threadpool(check_referrals, session, registry=services.registry,
                                       actor=user, rows=data, now=now)
    except OocError as refusal:
        session.rollback()
        return _upload_page(request, services, user, error=refusal.message,
                            reasons=refusal.reasons, filename=upload.filename, status_code=422)
    rejected = plan.report.rejected
    if rejected:
        message = (f"{_plural(len(rejected), 'row')} of {upload.filename} "
                   f"{'has' if len(rejected) == 1 else 'have'} a problem, so nothing was "
                   "imported. Correct them and upload the whole file again.")
        return _upload_page(request, services, user, error=message,
                            reasons=_row_problems(rejected), filename=upload.filename,
                            refused=plan.report, status_code=422)
    job = create_import_job(session, plan=plan, owner=user.username,
                            filename=upload.filename, now=now)
    work = partial(run_import_job, services.engine, job_id=job.id, plan=plan,
                   registry=services.registry, actor=user, now=now, clock=services.clock)
    # Started once this response is sent, after the request's commit has made the job's row
    # visible to the thread that writes its progress.
    return RedirectResponse(f"/referrals/uploads/{job.id}", status_code=303,
                            background=BackgroundTask(start_background, work,
                                                      name=f"import-job-{job.id}"))


# Replaced in tests, to run a job at once.
start_background = start_in_thread


@router.get("/referrals/uploads/{job_id}")
def upload_progress(request: Request, job_id: ItemId, session: SessionDep, services: ServicesDep,
                    user: UploadViewer) -> Response:
    """An upload's import: its progress while it runs (the page refreshes itself), then what
    it did. Only for the person who uploaded the file (and administrators)."""
    job = job_for(session, job_id=job_id, user=user)
    gone = stopped(job, services.clock())
    running = job.status == RUNNING and not gone
    return render_page(request, "pages/referral_upload_job.html", {
        "title": "Importing referrals" if running else "Upload referrals", "job": job,
        "running": running, "failed": job.status == FAILED or gone,
        "errors": [STOPPED] if gone else job.errors,
        "percent": job.done * 100 // job.total if job.total else 100,
        "refresh_seconds": REFRESH_SECONDS if running else None,
        "report": None if running else report_from_json(job.result),
        "filename": job.title,
        "can_view_cases": bool(set(user.roles) & set(CASE_VIEWERS)),
    }, user=user)
