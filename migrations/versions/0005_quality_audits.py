"""quality audits of closed cases (figure Q3)

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_audits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quarter_start', sa.Date(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('sampled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sampled_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('audited_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('auditor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('quarter_start', 'case_id', name='uq_quality_audits_quarter_case')
    )
    with op.batch_alter_table('quality_audits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_audits_quarter_start'), ['quarter_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_audits_audited_at'), ['audited_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quality_audits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quality_audits_audited_at'))
        batch_op.drop_index(batch_op.f('ix_quality_audits_quarter_start'))
    op.drop_table('quality_audits')
