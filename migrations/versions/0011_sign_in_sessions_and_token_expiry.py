"""sign-in sessions kept in the database (revocable), API tokens with an expiry and a label

Revision ID: 0011
Revises: 0010
"""

from datetime import UTC, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# Tokens issued before tokens expired get the default lifetime, counted from their issue.
EXISTING_TOKEN_LIFETIME = timedelta(days=90)


def upgrade() -> None:
    op.create_table('sign_in_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_sessions_user_id'), ['user_id'],
                              unique=False)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=100),
                                      nullable=True))
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    tokens = sa.table('api_tokens', sa.column('id', sa.Integer()),
                      sa.column('created_at', sqlmodel.sql.sqltypes.UTCDateTime()),
                      sa.column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime()))
    connection = op.get_bind()
    for token_id, created_at in connection.execute(sa.select(tokens.c.id,
                                                             tokens.c.created_at)).all():
        created_at = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        connection.execute(tokens.update().where(tokens.c.id == token_id).values(
            expires_at=created_at + EXISTING_TOKEN_LIFETIME))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('label')
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_sessions_user_id'))
    op.drop_table('sign_in_sessions')
