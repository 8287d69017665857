"""case search: search keys for names and references, who made each referral, date of birth index, stage and case manager indexes in referral-date order

Revision ID: 0009
Revises: 0008

`case_search_keys` holds every prefix of every word of each child's name, and the police
reference whole (ooc/search.py says why). This migration writes the keys of the cases already
there, with its own copy of ooc/search.py's rules as they stood at this revision (a migration
must not change when the code does; tests/test_search.py checks that the two agree), and fills
`cases.referred_by` from each case's `create` event.
"""

import unicodedata

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

KEY_LENGTH = 100
REFERENCE_MARK = "#"
APOSTROPHES = frozenset("'\u2019\u2018\u02bc`")
BATCH = 5000


def _plain(text):
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _split(text):
    words, parts, part = [], [], ""
    for c in _plain(text) + " ":
        if c.isalnum():
            part += c
        elif c in APOSTROPHES:
            parts.append(part)
            part = ""
        else:
            parts = [p for p in [*parts, part] if p]
            if parts:
                words.append(parts)
            parts, part = [], ""
    return words


def search_keys(given_name, family_name, police_reference):
    keys = set()
    for name in (given_name, family_name):
        for parts in _split(name):
            for start in range(len(parts)):
                word = "".join(parts[start:])[:KEY_LENGTH]
                keys.update(word[:n] for n in range(1, len(word) + 1))
    keys.add((REFERENCE_MARK + "".join(_plain(police_reference).split()))[:KEY_LENGTH])
    return keys


def upgrade() -> None:
    op.create_table('case_search_keys',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('referral_date', sa.Date(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('key', 'referral_date', 'case_id'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referred_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_date_of_birth'), ['date_of_birth'], unique=False)
        batch_op.create_index('ix_cases_referred_by', ['referred_by', 'referral_date', 'id'], unique=False)
        # A stage's and a case manager's cases in referral-date order, from the index alone.
        batch_op.drop_index('ix_cases_state')
        batch_op.create_index('ix_cases_state', ['state', 'referral_date', 'id'], unique=False)
        batch_op.drop_index('ix_cases_case_manager')
        batch_op.create_index('ix_cases_case_manager', ['case_manager', 'referral_date', 'id'], unique=False)

    connection = op.get_bind()
    connection.execute(sa.text(
        "UPDATE cases SET referred_by = (SELECT e.actor FROM audit_events e "
        "WHERE e.case_id = cases.id AND e.trigger = 'create')"))
    cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('given_name', sa.String),
                     sa.column('family_name', sa.String), sa.column('police_reference', sa.String),
                     sa.column('referral_date', sa.Date))
    keys = sa.table('case_search_keys', sa.column('key', sa.String),
                    sa.column('referral_date', sa.Date), sa.column('case_id', sa.Integer))
    last = 0
    while True:
        batch = connection.execute(sa.select(cases).where(cases.c.id > last)
                                   .order_by(cases.c.id).limit(BATCH)).all()
        if not batch:
            break
        connection.execute(keys.insert(), [
            {"key": key, "referral_date": row.referral_date, "case_id": row.id}
            for row in batch
            for key in sorted(search_keys(row.given_name, row.family_name, row.police_reference))])
        last = batch[-1].id


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_case_manager')
        batch_op.create_index('ix_cases_case_manager', ['case_manager'], unique=False)
        batch_op.drop_index('ix_cases_state')
        batch_op.create_index('ix_cases_state', ['state'], unique=False)
        batch_op.drop_index('ix_cases_referred_by')
        batch_op.drop_index(batch_op.f('ix_cases_date_of_birth'))
    # Not through a batch: on SQLite that copies `cases` to a new table, and dropping the old
    # one fails while other tables' rows refer to it. SQLite has had DROP COLUMN since 3.35.
    op.execute("ALTER TABLE cases DROP COLUMN referred_by")

    op.drop_table('case_search_keys')
