"""Checkpoints: the audit trail anchored outside the database.

The hash chains show an edit only to someone who still has the old hashes: a person who can
write to the database can delete a case's newest events and rewind its row, recompute a whole
chain after an edit, delete a whole case, or delete access-log rows, and the database alone
still looks consistent. A checkpoint records, at an instant, every case's chain head (its id,
version and last hash), the head of the system chain, and the number, last id and a digest of
the access log's rows; it is signed with HMAC-SHA256 under a key that is not in the database
(`OOC_AUDIT_KEY_FILE`) and kept as a file elsewhere (a write-once store, another machine).
`verify_since` then checks that the database still holds everything the checkpoint saw:
chains that still pass through each checkpointed head, every case, every system event, and
the very same access-log rows.

Why the access log is not chained row by row: it is written on every view, and a chain makes
each write read the previous row's hash first, so every view of every user would wait for the
one before. Instead each checkpoint signs a digest over all the rows up to its last id, which
costs nothing when a view is logged; the price is that rows written after the latest checkpoint
are not yet protected, so checkpoints should be made often (every hour, say, from cron).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from ooc.audit import canonical_json, iso_utc
from ooc.errors import OocError
from ooc.models import AccessLog, AuditEvent, Case, SystemEvent
from ooc.system_audit import head as system_head

FORMAT = "ooc-audit-checkpoint/1"
MIN_KEY_BYTES = 32
KEY_HELP = ("Set OOC_AUDIT_KEY_FILE to the path of a file holding a secret of at least "
            f"{MIN_KEY_BYTES} characters, kept outside the database and its backups (for "
            "example: head -c 48 /dev/urandom | base64 > /etc/ooc/audit.key; chmod 400 it).")


class AuditKeyMissing(OocError):
    """No key to sign or check checkpoints with."""


class BadCheckpoint(OocError):
    """The checkpoint file cannot be read, or its signature does not match."""


def load_key(path: Path | None) -> bytes:
    if path is None:
        raise AuditKeyMissing(f"No audit key is configured. {KEY_HELP}")
    try:
        key = path.read_bytes().strip()
    except OSError as e:
        raise AuditKeyMissing(f"The audit key file {path} cannot be read ({e.strerror}). "
                              f"{KEY_HELP}") from None
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyMissing(f"The audit key in {path} is too short. {KEY_HELP}")
    return key


def _sign(key: bytes, body: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json(body).encode(), hashlib.sha256).hexdigest()


def access_log_digest(session: Session, up_to_id: int) -> tuple[int, str]:
    """(rows, SHA-256) of the access log's rows with id up to `up_to_id`, in id order."""
    digest, rows = hashlib.sha256(), 0
    query = (select(AccessLog.id, AccessLog.at, AccessLog.username, AccessLog.case_id,
                    AccessLog.view, AccessLog.address)
             .where(AccessLog.id <= up_to_id).order_by(AccessLog.id))
    for row in session.execute(query.execution_options(yield_per=10000)):
        digest.update((canonical_json([row.id, iso_utc(row.at), row.username, row.case_id,
                                       row.view, row.address]) + "\n").encode())
        rows += 1
    return rows, digest.hexdigest()


def make_checkpoint(session: Session, key: bytes, now: datetime) -> dict[str, Any]:
    """The signed checkpoint of the trail as it stands (read in the session's transaction)."""
    cases = [[r.id, r.version, r.audit_head] for r in session.execute(
        select(Case.id, Case.version, Case.audit_head).order_by(Case.id))]
    seq, hash_ = system_head(session)
    max_id = session.execute(select(func.coalesce(func.max(AccessLog.id), 0))).scalar_one()
    rows, digest = access_log_digest(session, max_id)
    body = {"format": FORMAT, "made_at": iso_utc(now), "cases": cases,
            "system": {"seq": seq, "hash": hash_},
            "access_log": {"rows": rows, "max_id": max_id, "digest": digest}}
    return {**body, "signature": _sign(key, body)}


def write_checkpoint(checkpoint: dict[str, Any], target: Path) -> Path:
    """Write to `target`, or to a new file named by its time in the folder `target`; never
    over an existing file."""
    if target.is_dir():
        stamp = checkpoint["made_at"].replace("-", "").replace(":", "").split(".")[0]
        target = target / f"checkpoint-{stamp}Z.json"
    try:
        with target.open("x", encoding="utf-8") as f:
            json.dump(checkpoint, f, separators=(",", ":"))
            f.write("\n")
    except FileExistsError:
        raise OocError(f"{target} already exists: a checkpoint is never overwritten. Give "
                       "another file name, or a folder.") from None
    except OSError as e:
        raise OocError(f"The checkpoint cannot be written to {target} ({e.strerror}).") from None
    return target


def read_checkpoint(path: Path, key: bytes) -> dict[str, Any]:
    try:
        checkpoint = json.loads(path.read_text(encoding="utf-8"))
        body = {k: v for k, v in checkpoint.items() if k != "signature"}
        signature = checkpoint["signature"]
        if body.get("format") != FORMAT:
            raise ValueError
    except OSError as e:
        raise BadCheckpoint(f"The checkpoint {path} cannot be read ({e.strerror}).") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadCheckpoint(f"{path} is not an ooc audit checkpoint.") from None
    if not hmac.compare_digest(_sign(key, body), str(signature)):
        raise BadCheckpoint(f"The checkpoint {path} does not match its signature: it was "
                            "altered, or made with another audit key.")
    return checkpoint


@dataclass
class SinceReport:
    made_at: str
    cases: int
    problems: list[str]


def verify_since(session: Session, checkpoint: dict[str, Any]) -> SinceReport:
    """What the database has lost or rewritten since the (already authenticated) checkpoint."""
    problems: list[str] = []
    wanted = {case_id: (version, head) for case_id, version, head in checkpoint["cases"]}
    rows = {r.id: r for r in session.execute(
        select(Case.id, Case.version).where(Case.id.in_(list(wanted))))} if wanted else {}
    # The hash each checkpointed case's chain has now at the checkpointed version.
    now_at: dict[int, str] = {}
    query = select(AuditEvent.case_id, AuditEvent.seq, AuditEvent.hash)
    for r in session.execute(query.execution_options(yield_per=10000)):
        seen = wanted.get(r.case_id)
        if seen and r.seq == seen[0]:
            now_at[r.case_id] = r.hash
    for case_id, (version, head) in wanted.items():
        row = rows.get(case_id)
        if row is None:
            problems.append(f"Case {case_id}: deleted since the checkpoint (it was at version "
                            f"{version}).")
        elif row.version < version or case_id not in now_at:
            problems.append(f"Case {case_id}: rewound since the checkpoint: it was at version "
                            f"{version} and is now at {row.version} (its newest events were "
                            "deleted).")
        elif now_at[case_id] != head:
            problems.append(f"Case {case_id}: its trail up to event {version} is not the one "
                            "the checkpoint saw (events were changed and the chain "
                            "recomputed).")
    system = checkpoint["system"]
    if system["seq"]:
        now_hash = session.execute(select(SystemEvent.hash)
                                   .where(SystemEvent.seq == system["seq"])).scalar()
        if now_hash is None:
            problems.append(f"System events: event {system['seq']}, the newest at the "
                            "checkpoint, is gone (changes to users or settings were "
                            "deleted).")
        elif now_hash != system["hash"]:
            problems.append(f"System events: the chain up to event {system['seq']} is not the "
                            "one the checkpoint saw (events were changed and the chain "
                            "recomputed).")
    log = checkpoint["access_log"]
    rows_now, digest_now = access_log_digest(session, log["max_id"])
    if rows_now < log["rows"]:
        problems.append(f"Access log: {log['rows'] - rows_now} of the {log['rows']} rows "
                        "written before the checkpoint were deleted.")
    elif digest_now != log["digest"]:
        problems.append("Access log: rows written before the checkpoint were changed or "
                        "added out of order.")
    return SinceReport(made_at=checkpoint["made_at"], cases=len(wanted), problems=problems)
