"""Background jobs: long work (an uploaded file of referrals being imported) done outside the
request that asked for it, with its progress kept in a row that a page shows.

A job runs in the process that started it. Its row says how far it got (`done` of `total`) and
when it last made progress (`heartbeat_at`, written in the same transaction as the work it
counts). A job still "running" but silent for longer than `STALE_AFTER` has stopped with its
process (a restart, a crash): it is shown as failed (`stopped`), without a write on reading,
and should it only have been slow, its next step is refused (`record_progress`), so what the
page said stays true.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from ooc.calendar import to_utc
from ooc.errors import NotFound, OocError
from ooc.models import Job, User

RUNNING, DONE, FAILED = "running", "done", "failed"
# Far longer than one step of any job (a batch of 500 rows takes a fraction of a second, and
# waits at most the database's busy timeout of 30 s for the write lock).
STALE_AFTER = timedelta(minutes=2)
STOPPED = ("It stopped before it finished: the server was restarted or stopped while it "
           "ran.")


class JobStopped(OocError):
    """The job's row no longer says it is running (it was marked failed): stop working."""


def start_job(session: Session, *, kind: str, owner: str, title: str, total: int,
              now: datetime) -> Job:
    """A new running job (flushed, so that it has an id; the caller commits)."""
    at = to_utc(now)
    job = Job(kind=kind, owner=owner, status=RUNNING, title=title[:255], total=total,
              created_at=at, heartbeat_at=at)
    session.add(job)
    session.flush()
    return job


def record_progress(session: Session, *, job_id: int, done: int, now: datetime) -> None:
    """Count `done` steps, in the transaction of the work they count; JobStopped if the job is
    no longer running, or was silent so long that it is shown as stopped (that work is then
    rolled back with it)."""
    at = to_utc(now)
    result = session.execute(update(Job).where(Job.id == job_id, Job.status == RUNNING,
                                               Job.heartbeat_at >= at - STALE_AFTER)
                             .values(done=done, heartbeat_at=at))
    if result.rowcount != 1:
        raise JobStopped(f"Job {job_id} is no longer running.")


def stopped(job: Job, now: datetime) -> bool:
    """The job says it is running, but has been silent too long: its process has gone."""
    return job.status == RUNNING and to_utc(job.heartbeat_at) < to_utc(now) - STALE_AFTER


def end_job(session: Session, *, job_id: int, now: datetime, result: dict[str, Any],
            errors: list[str] | None = None) -> None:
    """Record a job's end: done, or failed when there are `errors`."""
    session.execute(update(Job).where(Job.id == job_id).values(
        status=FAILED if errors else DONE, result=result, errors=list(errors or []),
        finished_at=to_utc(now), heartbeat_at=to_utc(now)))


def job_for(session: Session, *, job_id: int, user: User) -> Job:
    """The job, for the person who started it or an administrator; NotFound for anyone else
    (its page would name the children of the file)."""
    job = session.get(Job, job_id)
    if job is None or (job.owner != user.username and "admin" not in user.roles):
        raise NotFound(f"There is no upload {job_id} of yours.")
    return job

