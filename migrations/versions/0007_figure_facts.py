"""figure facts: case, decision and step tables kept with the audit trail, in time order

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_facts',
    sa.Column('referral_date', sa.Date(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ethnicity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('age_band', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('looked_after', sa.Boolean(), nullable=False),
    sa.Column('assessment_due_on', sa.Date(), nullable=False),
    sa.Column('decision_due_on', sa.Date(), nullable=False),
    sa.Column('countersignature_due_on', sa.Date(), nullable=True),
    sa.Column('sign_off_due_on', sa.Date(), nullable=True),
    sa.Column('assessed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=True),
    sa.Column('countersigned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('countersigned_on', sa.Date(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('signed_off_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('signed_off_on', sa.Date(), nullable=True),
    sa.Column('withdrawn_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('referral_wd', sa.Integer(), nullable=False),
    sa.Column('decision_from_wd', sa.Integer(), nullable=False),
    sa.Column('assessed_wd', sa.Integer(), nullable=True),
    sa.Column('countersigned_wd', sa.Integer(), nullable=True),
    sa.Column('decided_wd', sa.Integer(), nullable=True),
    sa.Column('signed_off_wd', sa.Integer(), nullable=True),
    sa.Column('last_decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_formal', sa.Boolean(), nullable=True),
    sa.Column('informed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('informed_on', sa.Date(), nullable=True),
    sa.Column('consented_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('took_part_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('rj_reached_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('rj_decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('referral_date', 'case_id'),
    sa.UniqueConstraint('case_id'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_facts_ended_at'), ['ended_at'], unique=False)

    op.create_table('decision_facts',
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('next_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('indicated', sa.Boolean(), nullable=False),
    sa.Column('formal', sa.Boolean(), nullable=False),
    sa.Column('rationale', sa.Boolean(), nullable=False),
    sa.Column('countersigned_before', sa.Boolean(), nullable=False),
    sa.Column('quorate', sa.Boolean(), nullable=False),
    sa.Column('child_views', sa.Boolean(), nullable=False),
    sa.Column('parent_views', sa.Boolean(), nullable=False),
    sa.Column('victim_views_before', sa.Boolean(), nullable=False),
    sa.Column('first_time', sa.Boolean(), nullable=False),
    sa.Column('inform_due_on', sa.Date(), nullable=False),
    sa.Column('ethnicity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('age_band', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('looked_after', sa.Boolean(), nullable=False),
    sa.Column('has_victim', sa.Boolean(), nullable=False),
    sa.Column('victim_opted_out', sa.Boolean(), nullable=False),
    sa.Column('informed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('informed_on', sa.Date(), nullable=True),
    sa.Column('consented_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('took_part_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('rj_reached_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('rj_decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'], ),
    sa.PrimaryKeyConstraint('at', 'event_id'),
    sa.UniqueConstraint('event_id'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('decision_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_facts_case_id'), ['case_id'], unique=False)

    op.create_table('step_facts',
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('next_trigger', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('next_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('next_outcome', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('feedback', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['audit_events.id'], ),
    sa.PrimaryKeyConstraint('at', 'event_id'),
    sa.UniqueConstraint('event_id'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('step_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_facts_case_id'), ['case_id'], unique=False)

    # Cases recorded before this version: their rows are worked out from their events.
    connection = op.get_bind()
    if connection.execute(sa.text("SELECT count(*) FROM cases")).scalar():
        import os

        from ooc.figures.facts import refresh_facts
        from ooc.machine import WorkflowRegistry
        from ooc.settings import PROJECT_ROOT
        registry = WorkflowRegistry.from_folder(
            os.environ.get("OOC_WORKFLOWS_DIR") or PROJECT_ROOT / "workflows")
        refresh_facts(connection, registry)


def downgrade() -> None:
    with op.batch_alter_table('step_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_facts_case_id'))

    op.drop_table('step_facts')
    with op.batch_alter_table('decision_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_facts_case_id'))

    op.drop_table('decision_facts')
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_facts_ended_at'))

    op.drop_table('case_facts')
