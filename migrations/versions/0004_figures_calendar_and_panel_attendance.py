"""figures: a working-day calendar table, panel attendance as rows, and quorate meetings

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

from ooc.calendar import calendar_rows

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    calendar = op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('working_days_to', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_days_working_days_to'), ['working_days_to'], unique=False)
    op.bulk_insert(calendar, calendar_rows())

    attendance = op.create_table('panel_attendance',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['panel_meetings.id'], ),
    sa.PrimaryKeyConstraint('meeting_id', 'agency')
    )
    with op.batch_alter_table('panel_meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quorate', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    # Meetings recorded before this version: attendance from their JSON list. Their quorum is
    # judged by the workflow file's rule (the only rule those versions' demo data used).
    from ooc.machine import WorkflowRegistry
    from ooc.settings import PROJECT_ROOT
    import os
    registry = WorkflowRegistry.from_folder(
        os.environ.get("OOC_WORKFLOWS_DIR") or PROJECT_ROOT / "workflows")
    quorum = registry.latest("oocd").quorum
    connection = op.get_bind()
    meetings = sa.table('panel_meetings', sa.column('id', sa.Integer),
                        sa.column('agencies_present', sa.JSON),
                        sa.column('quorate', sa.Boolean))
    rows = connection.execute(sa.select(meetings.c.id, meetings.c.agencies_present)).all()
    if rows:
        op.bulk_insert(attendance, [{"meeting_id": id_, "agency": agency}
                                    for id_, agencies in rows for agency in set(agencies)])
        for id_, agencies in rows:
            connection.execute(meetings.update().where(meetings.c.id == id_)
                               .values(quorate=not quorum.problems(agencies)))


def downgrade() -> None:
    with op.batch_alter_table('panel_meetings', schema=None) as batch_op:
        batch_op.drop_column('quorate')
    op.drop_table('panel_attendance')
    with op.batch_alter_table('calendar_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_days_working_days_to'))
    op.drop_table('calendar_days')
