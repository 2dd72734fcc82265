"""concern_family_members: caseload's ids of the family members each concern named (from concern_linked), so that
the family's view of the child's referrals answers only a family member of the child, checked in referral's own
data and not on the token's `child_ids` claim alone. Concerns linked before this migration have none: their
family sees their referrals once a later concern_linked names them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 17:50:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.add_column(sa.Column('family_member_ids', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_column('family_member_ids')
