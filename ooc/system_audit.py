"""The system chain: every change to who can do what, and every anonymisation, in one
hash-chained table (`system_events`).

The functions in ooc/ that make such a change (ooc/accounts.py,
ooc/quorum.py, ooc/retention.py) call `record` in the same transaction, naming the actor, so the
pages and the command line cannot change a user or the quorum rule without leaving a trace.

One chain for the whole service means each write reads the last event first; that serialises
these writes, which is fine for them (an administrator's changes are rare) but would not be for
the access log (see ooc/anchor.py). Two writers that take the same sequence number at once: the
second fails on the unique sequence number and its change is not made (`Conflict`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ooc.audit import GENESIS, canonical_json, iso_utc
from ooc.calendar import to_utc
from ooc.errors import Conflict
from ooc.models import SystemEvent

HASHED_FIELDS = ("seq", "at", "actor", "action", "subject", "details")
# The action recording an anonymisation (ooc/retention.py); verification reads it back.
ANONYMISE = "anonymise_case"
# Who made a change from the command line, or in setting the service up.
SYSTEM_ACTOR = "system"


def system_hash(prev_hash: str, values: dict[str, Any]) -> str:
    payload = {name: values[name] for name in HASHED_FIELDS}
    payload["at"] = iso_utc(payload["at"])
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(payload)}".encode()).hexdigest()


def head(session: Session) -> tuple[int, str]:
    """(sequence number, hash) of the newest system event; (0, GENESIS) before the first."""
    row = session.execute(select(SystemEvent.seq, SystemEvent.hash)
                          .order_by(SystemEvent.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def record(session: Session, *, actor: str | None, action: str, subject: str,
           details: dict[str, Any] | None = None, now: datetime) -> dict[str, Any]:
    """Append one system event in the caller's transaction and return its values."""
    seq, prev = head(session)
    values = {"seq": seq + 1, "at": to_utc(now), "actor": actor or SYSTEM_ACTOR,
              "action": action, "subject": subject, "details": details or {}}
    values["prev_hash"], values["hash"] = prev, system_hash(prev, values)
    try:
        with session.begin_nested():
            session.execute(insert(SystemEvent), [values])
    except IntegrityError:
        raise Conflict("Someone else changed users or settings at the same moment. Try "
                       "again.") from None
    return values


def events(session: Session) -> Iterator[Any]:
    query = select(SystemEvent).order_by(SystemEvent.seq)
    yield from session.scalars(query.execution_options(yield_per=2000))


def verify_system_chain(session: Session) -> tuple[int, list[str], set[int]]:
    """(events checked, problems in plain words, the case ids anonymisations name)."""
    problems, anonymised = [], set()
    last_seq, last_hash, count = 0, GENESIS, 0
    for e in events(session):
        count += 1
        where = f"System event {e.seq} ({e.action} {e.subject})"
        if e.seq != last_seq + 1:
            problems.append(f"System events {last_seq + 1} to {e.seq - 1} are missing "
                            "(deleted).")
        if e.prev_hash != last_hash:
            problems.append(f"{where}: does not follow the event before it (an earlier event "
                            "was edited, deleted or reordered).")
        if system_hash(e.prev_hash, e.model_dump()) != e.hash:
            problems.append(f"{where}: its contents were changed after it was written.")
        if e.action == ANONYMISE:
            anonymised.update(e.details.get("case_ids", []))
        last_seq, last_hash = e.seq, e.hash
    return count, problems, anonymised


def export_system_events(session: Session, out: IO[str]) -> int:
    count = 0
    for e in events(session):
        out.write(canonical_json({"record": "system_event", "seq": e.seq, "at": iso_utc(e.at),
                                  "actor": e.actor, "action": e.action, "subject": e.subject,
                                  "details": e.details, "prev_hash": e.prev_hash,
                                  "hash": e.hash}) + "\n")
        count += 1
    return count
