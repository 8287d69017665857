"""An uploaded referral file imported as a background job (`ooc.jobs`).

The upload request checks every row first and refuses a file with any problem, writing
nothing; a file that passes becomes a job, and this writes its rows batch by batch, each
batch's progress committed with the batch, then keeps the report on the job for its page.
Nothing here needs the request: the job has its own sessions, so the request that started it
is answered at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from ooc.calendar import ENGLAND_AND_WALES, WorkingDayCalendar
from ooc.imports import (
    CreatedRow,
    DuplicateRow,
    ImportInterrupted,
    ImportPlan,
    ImportReport,
    RejectedRow,
    write_plan,
)
from ooc.jobs import end_job, record_progress, start_job
from ooc.machine import WorkflowRegistry
from ooc.models import Job, User

KIND = "referral_import"
log = logging.getLogger(__name__)


def create_import_job(session: Session, *, plan: ImportPlan, owner: str, filename: str,
                      now: datetime) -> Job:
    """The job of a checked file (flushed; the caller commits, then runs it)."""
    return start_job(session, kind=KIND, owner=owner, title=filename,
                     total=len(plan.pending), now=now)


def run_import_job(engine: Engine, *, job_id: int, plan: ImportPlan,
                   registry: WorkflowRegistry, actor: User, now: datetime,
                   clock: Callable[[], datetime],
                   calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> None:
    """Write the file's rows, the job's progress with each batch, and its end. Never raises:
    it runs in a thread that has nobody to tell; what went wrong goes on the job."""

    def on_batch(session: Session, done: int) -> None:
        record_progress(session, job_id=job_id, done=done, now=clock())

    errors: list[str] = []
    try:
        report = write_plan(engine, plan, registry=registry, actor=actor, now=now,
                            calendar=calendar, on_batch=on_batch)
    except ImportInterrupted as stopped:
        report, errors = stopped.report, [stopped.message]
    except Exception:
        log.exception("Import job %s failed", job_id)
        report = plan.report
        errors = ["The import stopped because of an error in the service (it has been "
                  "logged). Upload the same file again to finish it: the rows already "
                  "imported are skipped as duplicates."]
    try:
        with Session(engine) as session:
            end_job(session, job_id=job_id, now=clock(), result=report_to_json(report),
                    errors=errors)
            session.commit()
    except Exception:
        # The job stays "running" without progress, and is marked failed once stale.
        log.exception("Import job %s: could not record its end", job_id)


def start_in_thread(work: Callable[[], None], *, name: str) -> None:
    """Run `work` in a thread of its own (not one of the web server's request threads)."""
    threading.Thread(target=work, name=name, daemon=True).start()


# --- the report, kept on the job ---------------------------------------------------------------


def report_to_json(report: ImportReport) -> dict[str, Any]:
    return {
        "created": [[c.row, c.police_reference, c.case_id] for c in report.created],
        "duplicates": [[d.row, d.police_reference, d.case_id, d.first_row]
                       for d in report.duplicates],
        "rejected": [[r.row, r.police_reference, list(r.reasons)] for r in report.rejected],
        "blank_rows": report.blank_rows,
    }


def report_from_json(data: dict[str, Any]) -> ImportReport:
    return ImportReport(
        created=[CreatedRow(*c) for c in data.get("created", [])],
        duplicates=[DuplicateRow(*d) for d in data.get("duplicates", [])],
        rejected=[RejectedRow(row, reference, tuple(reasons))
                  for row, reference, reasons in data.get("rejected", [])],
        blank_rows=data.get("blank_rows", 0))
