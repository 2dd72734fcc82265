"""child_name_search: folded copies of each child's names (accents and case aside, letters and digits only) with
prefix indexes per school and per LA, for GET /v1/caseload?q=; and reviews by status and date, for GET /v1/tasks

Existing rows get their keys here, folded as domain/search.py folds (a copy: a migration does not change when the
code does).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 15:10:00
"""
import re
import unicodedata
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_ALNUM.sub("", bare.casefold())[:100]


child = sa.table(
    "child",
    sa.column("id", sa.String),
    sa.column("given_name", sa.String),
    sa.column("family_name", sa.String),
    sa.column("given_name_key", sa.String),
    sa.column("family_name_key", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.add_column(sa.Column('given_name_key', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('family_name_key', sa.String(length=100), server_default='', nullable=False))
    connection = op.get_bind()
    rows = connection.execute(sa.select(child.c.id, child.c.given_name, child.c.family_name)).all()
    if rows:
        connection.execute(
            child.update().where(child.c.id == sa.bindparam("child_id")).values(
                given_name_key=sa.bindparam("given"), family_name_key=sa.bindparam("family")
            ),
            [{"child_id": r.id, "given": _fold(r.given_name), "family": _fold(r.family_name)} for r in rows],
        )
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.create_index('ix_child_school_urn_family_key', ['school_urn', 'family_name_key'], unique=False)
        batch_op.create_index('ix_child_school_urn_given_key', ['school_urn', 'given_name_key'], unique=False)
        batch_op.create_index('ix_child_la_code_family_key', ['la_code', 'family_name_key'], unique=False)
        batch_op.create_index('ix_child_la_code_given_key', ['la_code', 'given_name_key'], unique=False)
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index('ix_review_status_scheduled_for', ['status', 'scheduled_for'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_status_scheduled_for')
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_index('ix_child_la_code_given_key')
        batch_op.drop_index('ix_child_la_code_family_key')
        batch_op.drop_index('ix_child_school_urn_given_key')
        batch_op.drop_index('ix_child_school_urn_family_key')
        batch_op.drop_column('family_name_key')
        batch_op.drop_column('given_name_key')
