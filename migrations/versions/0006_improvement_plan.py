"""the improvement plan: objectives, actions, status notes and RAG changes

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_objectives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('recommendation', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('title')
    )
    op.create_table('plan_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('objective_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('original_due', sa.Date(), nullable=False),
    sa.Column('revised_due', sa.Date(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('figure_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('green', sa.Float(), nullable=True),
    sa.Column('amber', sa.Float(), nullable=True),
    sa.Column('manual_rag', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('rag', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['objective_id'], ['plan_objectives.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('objective_id', 'title', name='uq_plan_actions_objective_title')
    )
    with op.batch_alter_table('plan_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_actions_objective_id'), ['objective_id'], unique=False)
    op.create_table('plan_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['plan_actions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_notes_action_id'), ['action_id'], unique=False)
    op.create_table('plan_rag_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('from_rag', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('to_rag', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['plan_actions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_rag_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_rag_changes_action_id'), ['action_id'], unique=False)


def downgrade() -> None:
    for table, index in (('plan_rag_changes', 'ix_plan_rag_changes_action_id'),
                         ('plan_notes', 'ix_plan_notes_action_id'),
                         ('plan_actions', 'ix_plan_actions_objective_id')):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
    op.drop_table('plan_objectives')
