"""anchored audit trail: event content digests, the system chain, the access log's addresses

Each audit event gains `data_digest`, the SHA-256 of its personal content (`data` and
`reason`), and its hash now covers that digest instead of the content itself, so that
anonymisation can remove a closed case's personal data and the chain still verifies.

This migration therefore RECOMPUTES THE HASH OF EVERY EXISTING EVENT under the new scheme
(and each case's `audit_head`), case by case in sequence order. Before doing so it checks every
chain under the old scheme and refuses to migrate a trail that does not verify, so a broken
chain is never turned into a valid one. The downgrade does the reverse (checking the chains
under the new scheme, then hashing the content itself again). A checkpoint made before this migration no longer
matches: make a new one (`ooc audit checkpoint`) straight after upgrading.

It also creates `system_events` (one hash chain of changes to users, roles, tokens, the quorum
rule and anonymisations) and adds the client's address to the access log.

Revision ID: 0012
Revises: 0011
"""

import hashlib
import json
from datetime import UTC

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
# Frozen copies of the hashing rules (the migration must not change if ooc/audit.py does).
OLD_FIELDS = ("case_id", "seq", "at", "actor", "role", "trigger", "track", "from_state",
              "to_state", "reason_code", "reason", "data", "workflow_name", "workflow_version")
NEW_FIELDS = ("case_id", "seq", "at", "actor", "role", "trigger", "track", "from_state",
              "to_state", "reason_code", "data_digest", "workflow_name", "workflow_version")


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _iso(at) -> str:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(prev: str, row: dict, fields) -> str:
    payload = {name: row[name] for name in fields}
    payload["at"] = _iso(payload["at"])
    return hashlib.sha256(f"{prev}\n{_canonical(payload)}".encode()).hexdigest()


def _rehash_events(check_fields, new_fields) -> None:
    """Check every chain under `check_fields` and recompute it under `new_fields`."""
    conn = op.get_bind()
    types = {"at": sqlmodel.sql.sqltypes.UTCDateTime(), "data": sa.JSON()}
    events = sa.table("audit_events", *(sa.column(n, types.get(n)) for n in (
        "id", *OLD_FIELDS, "data_digest", "prev_hash", "hash")))
    cases = sa.table("cases", sa.column("id"), sa.column("audit_head"))
    rows = conn.execute(sa.select(events).order_by(events.c.case_id, events.c.seq)).mappings()
    case_id, old_prev, new_prev, updates, heads = None, GENESIS, GENESIS, [], {}
    for row in rows:
        if row["case_id"] != case_id:
            case_id, old_prev, new_prev = row["case_id"], GENESIS, GENESIS
        if row["prev_hash"] != old_prev or _hash(old_prev, row, check_fields) != row["hash"]:
            raise RuntimeError(f"Case {case_id}, event {row['seq']}: the audit trail does not "
                               "verify, so its hashes are not recomputed. Run `ooc audit "
                               "verify` on the previous version and resolve it first.")
        values = dict(row)
        values["data_digest"] = row["data_digest"] or hashlib.sha256(_canonical(
            {"data": row["data"], "reason": row["reason"]}).encode()).hexdigest()
        new_hash = _hash(new_prev, values, new_fields)
        updates.append({"b_id": row["id"], "b_digest": values["data_digest"],
                        "b_prev": new_prev, "b_hash": new_hash})
        old_prev, new_prev = row["hash"], new_hash
        heads[case_id] = new_hash
    if updates:
        conn.execute(events.update().where(events.c.id == sa.bindparam("b_id")).values(
            data_digest=sa.bindparam("b_digest"), prev_hash=sa.bindparam("b_prev"),
            hash=sa.bindparam("b_hash")), updates)
    if heads:
        conn.execute(cases.update().where(cases.c.id == sa.bindparam("b_id")).values(
            audit_head=sa.bindparam("b_head")),
            [{"b_id": k, "b_head": v} for k, v in heads.items()])


def upgrade() -> None:
    op.create_table('system_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    with op.batch_alter_table('system_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_system_events_action'), ['action'], unique=False)
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    # Added in place with a placeholder default (SQLite would otherwise copy the table, which
    # the figures' tables' foreign keys forbid), filled in at once by the rehash.
    op.add_column('audit_events', sa.Column('data_digest',
                                            sqlmodel.sql.sqltypes.AutoString(length=64),
                                            nullable=False, server_default=''))
    _rehash_events(OLD_FIELDS, NEW_FIELDS)
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('audit_events', 'data_digest', server_default=None)


def downgrade() -> None:
    # Back to hashing the content itself (after checking the chains under the new scheme).
    _rehash_events(NEW_FIELDS, OLD_FIELDS)
    op.drop_column('audit_events', 'data_digest')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_column('address')
    with op.batch_alter_table('system_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_system_events_action'))
    op.drop_table('system_events')
