"""quorum rules set by administrators

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quorum_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('agencies', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('required', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('minimum_others', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quorum_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quorum_rules_workflow_name'), ['workflow_name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quorum_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quorum_rules_workflow_name'))

    op.drop_table('quorum_rules')
