"""audit_head_locked: `tas_audit_head_locked()` on PostgreSQL (tas_common.migrations.create_audit_head_locked).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 06:10:00
"""
from typing import Sequence, Union

from tas_common.migrations import create_audit_head_locked, drop_audit_head_locked

revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_audit_head_locked()


def downgrade() -> None:
    drop_audit_head_locked()
