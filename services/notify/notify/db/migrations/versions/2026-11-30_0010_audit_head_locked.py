"""audit_head_locked: on PostgreSQL, the function `tas_audit_head_locked()` that takes the audit chain's advisory lock
and then reads the chain's head in a query of its own (a snapshot taken after the lock), so that an audited unit of
work appends its row in one round trip (tas_common.audit, tas_common.tables.CREATE_AUDIT_HEAD_LOCKED). Nothing on
SQLite, whose write lock already orders the appends.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 06:10:00
"""
from typing import Sequence, Union

from alembic import op

from tas_common.tables import CREATE_AUDIT_HEAD_LOCKED, DROP_AUDIT_HEAD_LOCKED

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_AUDIT_HEAD_LOCKED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_AUDIT_HEAD_LOCKED)
