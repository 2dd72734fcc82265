"""sessions: the web service's server-side sessions (its only table).

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'web_session',
        sa.Column('id_hash', sa.String(length=64), nullable=False,
                  comment='SHA-256 of the cookie value (the value is never stored)'),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('data', sa.Text(), server_default='{}', nullable=False,
                  comment='JSON: the family token, its child ids, ...'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_web_session')),
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index('ix_web_session_last_seen_at', ['last_seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.drop_index('ix_web_session_last_seen_at')
    op.drop_table('web_session')
