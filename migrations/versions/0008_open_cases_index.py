"""open cases index: the open cases at an instant are found and counted from one index (T6)

Revision ID: 0008
Revises: 0007
"""

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_case_facts_ended_at')
        batch_op.create_index('ix_case_facts_open', ['ended_at', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_case_facts_open')
        batch_op.create_index('ix_case_facts_ended_at', ['ended_at'], unique=False)
