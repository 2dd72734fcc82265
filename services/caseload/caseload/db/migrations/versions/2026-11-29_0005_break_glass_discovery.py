"""break_glass_discovery: a UPN search that tells a break-glass role a child exists is flagged for review too

`break_glass.kind` is `grant` (read-only access until `expires_at`) or `discovery` (no access; it expires as it is
made). Rows before this revision are grants; after a downgrade a discovery reads as a grant that expired as it was
made (it opens nothing).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:10:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('break_glass', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='grant', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('break_glass', schema=None) as batch_op:
        batch_op.drop_column('kind')
