"""mis_concern_versions: an MIS re-send with changed content makes a new version of the concern (issue 12.11)

`concern.version` (1 when raised), `concern.mis_fields` (a digest per field of what the MIS sent last; empty for
concerns pushed before this revision, which are compared with their stored values instead), `concern.updated_at`, and
`concern_version`: the fields each re-send changed and their values before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 16:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('concern_version',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('concern_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_fields', sa.JSON(), nullable=False),
    sa.Column('previous', sa.JSON(), nullable=False),
    sa.Column('by_sub', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('by_org', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['concern_id'], ['concern.id'], name=op.f('fk_concern_version_concern_id_concern')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_concern_version')),
    sa.UniqueConstraint('concern_id', 'version', name=op.f('uq_concern_version_concern_id'))
    )
    with op.batch_alter_table('concern_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_concern_version_concern_id'), ['concern_id'], unique=False)

    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('mis_fields', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('concern', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('mis_fields')
        batch_op.drop_column('version')

    with op.batch_alter_table('concern_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_concern_version_concern_id'))

    op.drop_table('concern_version')
