"""child_identity_index: children by date of birth and name, for the match of a concern's child (a possible
duplicate: same name, date of birth and school), which reads each kind of candidate by its own index.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 12:45:00
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.create_index('ix_child_identity', ['date_of_birth', 'family_name', 'given_name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_index('ix_child_identity')
