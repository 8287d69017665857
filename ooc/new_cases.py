"""Writing many checked referrals as new cases at once: an import's batch.

Each case gets exactly what `ooc.service.create_case` writes for one referral (the case row,
its `create` audit event chained from the genesis hash, its referral deadlines, its figures'
row and its search keys), but as one multi-row INSERT per table rather than a round trip per
case: an import of 50,000 rows spends its time in the database, not in waiting for it.
Like every service it only writes: the caller's transaction makes the batch all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from ooc.audit import CREATE, GENESIS, chain_hash, content_digest
from ooc.calendar import ENGLAND_AND_WALES, WorkingDayCalendar, to_utc
from ooc.deadlines import referral_deadline_rows
from ooc.figures.facts import add_new_cases_facts
from ooc.forms import to_json
from ooc.machine import WorkflowRegistry
from ooc.models import TRACK_COLUMNS, AuditEvent, Case, CaseSearchKey, Deadline
from ooc.search import key_rows
from ooc.service import CheckedReferral

CASES = Case.__table__
# Each column's value when the referral does not give one (`bail_date`, say), so that every
# row of a multi-row INSERT names the same columns.
_CASE_DEFAULTS = {c.name: None for c in CASES.columns if c.name != "id"} | {
    "version": 1, "data": {}, "case_manager": None}


def _new_ids(session: Session, n: int) -> list[int]:
    """Ids for `n` new cases, known before they are written so that each audit event (whose
    hash covers its case's id) and the case's `audit_head` go in with the first INSERT. On
    SQLite the batch holds the write lock (`ooc.import_batches.begin_writing`), so the ids
    after the largest are free; PostgreSQL hands them out from the id sequence."""
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(text(
            "SELECT nextval(pg_get_serial_sequence('cases', 'id')) "
            "FROM generate_series(1, :n)"), {"n": n}).scalars())
    largest = session.execute(select(func.max(CASES.c.id))).scalar() or 0
    return list(range(largest + 1, largest + n + 1))


def _insert_many(session: Session, table, rows: list[dict]) -> None:
    """Insert plain rows (no JSON), many at once: through COPY on PostgreSQL, where psycopg
    would otherwise send one INSERT per row (a batch of 500 cases has some 9,000 search keys:
    COPY takes a tenth of the time); an executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(connection.dialect.identifier_preparer.quote(c) for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def insert_new_cases(session: Session, *, registry: WorkflowRegistry, actor: str,
                     referrals: Sequence[CheckedReferral], now: datetime,
                     calendar: WorkingDayCalendar = ENGLAND_AND_WALES) -> list[int]:
    """Write a case for each referral (whose references have no case yet) and return their
    ids, in the order given."""
    if not referrals:
        return []
    at = to_utc(now)
    rows = []
    for r in referrals:
        row = {**_CASE_DEFAULTS, **r.values,
               "workflow_name": r.definition.name, "workflow_version": r.definition.version,
               "created_at": at, "updated_at": at, "referred_by": actor}
        for track, state in r.initial.items():
            row[TRACK_COLUMNS[track]] = state
        rows.append(row)
    ids = _new_ids(session, len(referrals))
    events, deadlines, keys = [], [], []
    for case_id, r, row in zip(ids, referrals, rows, strict=True):
        event = {"case_id": case_id, "seq": 1, "at": at, "actor": actor, "role": r.role,
                 "trigger": CREATE, "track": "main", "from_state": None,
                 "to_state": row["state"], "reason_code": None, "reason": None,
                 "data": {"referral": to_json(r.values), "initial": r.initial},
                 "workflow_name": r.definition.name,
                 "workflow_version": r.definition.version, "prev_hash": GENESIS}
        event["data_digest"] = content_digest(event["data"], event["reason"])
        event["hash"] = chain_hash(GENESIS, event)
        events.append(event)
        row["id"], row["audit_head"] = case_id, event["hash"]
        deadlines += referral_deadline_rows(r.definition, case_id, r.values, calendar)
        keys += key_rows(case_id, row["given_name"], row["family_name"],
                         row["police_reference"], row["referral_date"])
    session.execute(insert(CASES), rows)
    session.execute(insert(AuditEvent.__table__), events)
    _insert_many(session, Deadline.__table__, deadlines)
    _insert_many(session, CaseSearchKey.__table__, keys)
    add_new_cases_facts(session, registry, ids)
    return ids

