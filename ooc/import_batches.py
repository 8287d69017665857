"""Writing an import's checked rows in short transactions, so that nobody waits for it.

A file of 50,000 referrals written in one transaction held SQLite's write lock for a minute and
more: every transition and every case view (views write the access log) waited for it and
failed. Here the rows go in batches (`BATCH_ROWS`), each its own transaction of a few hundred
milliseconds: a case and everything written with it (its audit event, deadlines, figures' row
and search keys) is in one batch, so a batch is all or nothing and a case is never
half-written. Each batch checks its police references again inside its transaction, so a row
that another import (or the referral form) created meanwhile is skipped as a duplicate; a
batch that stops the import leaves the earlier batches in place, and importing the same file
again creates just the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from ooc.calendar import ENGLAND_AND_WALES, WorkingDayCalendar
from ooc.errors import OocError
from ooc.machine import WorkflowRegistry
from ooc.models import Case
from ooc.new_cases import insert_new_cases
from ooc.service import CheckedReferral

# Rows per transaction: big enough that a multi-row INSERT is worth it, small enough that the
# write lock is held for a fraction of a second (bench/imports.py).
BATCH_ROWS = 500
# References looked up per query when checking for existing cases.
LOOKUP_ROWS = 500
# Tries of a batch that met a case created at the same moment by someone else.
_TRIES = 3
# On SQLite, the pause after each batch, at most: whoever waits for the write lock meanwhile
# (a page writing the access log, a transition) is told "busy" and polls again every 100 ms
# once it has waited a while, so an import that took the lock back at once would keep them
# waiting batch after batch (a case page's p95 was 1.4 s during an import, bench/imports.py).
SQLITE_PAUSE_SECONDS = 0.1


@dataclass(frozen=True)
class PendingRow:
    """A row that passed every check, to be written."""

    row: int
    reference: str
    referral: CheckedReferral


@dataclass(frozen=True)
class Written:
    """What one batch did: (row, reference, case id) created, and skipped as a case exists."""

    created: list[tuple[int, str, int]]
    duplicates: list[tuple[int, str, int]]


class BatchFailed(OocError):
    """A batch could not be written; the batches before it were."""

    def __init__(self, message: str, *, first_row: int, written: list[Written]):
        super().__init__(message)
        self.first_row = first_row
        self.written = written


# On PostgreSQL, one index lookup per reference, whatever the planner knows of the table: as
# `police_reference IN (500 references)` it scanned the whole table, comparing each row with
# each reference, when its statistics were missing or predated a big import (225 ms a batch
# at 50,000 cases, half the import's time).
_LOOK_UP_EACH = text(
    "SELECT r.ref, (SELECT c.id FROM cases c WHERE c.police_reference = r.ref) "
    "FROM unnest(CAST(:refs AS varchar[])) AS r(ref)")


def existing_cases(session: Session, references: Sequence[str]) -> dict[str, int]:
    """The case id of each reference that already has a case."""
    found: dict[str, int] = {}
    unique = sorted(set(references))
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(unique), LOOKUP_ROWS):
        part = unique[start:start + LOOKUP_ROWS]
        if postgres:
            found.update((ref, case_id) for ref, case_id in
                         session.execute(_LOOK_UP_EACH, {"refs": part}) if case_id is not None)
        else:
            found.update(session.exec(select(Case.police_reference, Case.id)
                                      .where(Case.police_reference.in_(part))).all())
    return found


def begin_writing(session: Session) -> None:
    """Start the transaction holding SQLite's write lock, so that the duplicate check and the
    inserts that follow cannot be overtaken by another writer (waiting for a writer's short
    transaction to end, up to the busy timeout). PostgreSQL's unique index does that job."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    # Python's sqlite3 driver sends BEGIN only before the first INSERT/UPDATE/DELETE.
    if not getattr(raw, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _write_batch(engine: Engine, batch: Sequence[PendingRow], *, registry: WorkflowRegistry,
                 actor: str, now: datetime, calendar: WorkingDayCalendar,
                 on_batch: Callable[[Session, int], None] | None, done: int) -> Written:
    for attempt in range(_TRIES):
        try:
            with Session(engine) as session:
                begin_writing(session)
                existing = existing_cases(session, [p.reference for p in batch])
                fresh = [p for p in batch if p.reference not in existing]
                ids = insert_new_cases(session, registry=registry, actor=actor, now=now,
                                       referrals=[p.referral for p in fresh],
                                       calendar=calendar)
                if on_batch is not None:
                    on_batch(session, done)
                session.commit()
        except IntegrityError:
            # Someone created a case with one of these references after the check above (on
            # PostgreSQL): check again, and skip it as a duplicate.
            if attempt == _TRIES - 1:
                raise
            continue
        return Written(
            created=[(p.row, p.reference, i) for p, i in zip(fresh, ids, strict=True)],
            duplicates=[(p.row, p.reference, existing[p.reference]) for p in batch
                        if p.reference in existing])
    raise AssertionError("unreachable")


def write_in_batches(engine: Engine, pending: Sequence[PendingRow], *,
                     registry: WorkflowRegistry, actor: str, now: datetime,
                     calendar: WorkingDayCalendar = ENGLAND_AND_WALES,
                     batch_rows: int = BATCH_ROWS,
                     progress: Callable[[int, int], None] | None = None,
                     on_batch: Callable[[Session, int], None] | None = None) -> list[Written]:
    """Write the rows, each batch in its own transaction. `on_batch(session, rows_done)` runs
    inside each batch's transaction (a job's progress is committed with the rows it counts);
    `progress(rows_done, total)` after each commit. A batch that fails raises BatchFailed."""
    written: list[Written] = []
    total = len(pending)
    pause = SQLITE_PAUSE_SECONDS if engine.dialect.name == "sqlite" else 0.0
    for start in range(0, total, batch_rows):
        batch = pending[start:start + batch_rows]
        done = start + len(batch)
        if start and pause:
            time.sleep(pause)
        try:
            written.append(_write_batch(engine, batch, registry=registry, actor=actor, now=now,
                                        calendar=calendar, on_batch=on_batch, done=done))
        except (SQLAlchemyError, OocError) as e:
            raise BatchFailed(_stopped(batch[0].row, written, e), first_row=batch[0].row,
                              written=written) from e
        if progress is not None:
            progress(done, total)
    return written


def _stopped(row: int, written: list[Written], error: Exception) -> str:
    created = sum(len(w.created) for w in written)
    if isinstance(error, OocError):
        reason = error.message
    else:
        orig = getattr(error, "orig", None)
        reason = str(orig or error).strip().splitlines()[0]
    return (f"The import stopped at row {row}: {reason.rstrip('.')}. The {created} cases "
            f"created from the rows before it are kept, each complete; nothing from row {row} "
            "on was written. Import the same file again to finish: the rows already imported "
            "are skipped as duplicates.")
