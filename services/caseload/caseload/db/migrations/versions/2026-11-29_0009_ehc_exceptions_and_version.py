"""ehc_exceptions_and_version: the statutory exceptions recorded on an EHC request, and its version

`ehc_request.decision_exception` and `final_exception` (vocab.EhcException: SEND Regulations 2014 reg. 10(4) and
13(3), the cases the DfE's SEN2 return counts apart), and `version`, which grows with every change: each change now
publishes `tas.caseload.ehc_request.recorded` with the request's whole state (insights keeps the newest).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 16:10:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('ehc_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decision_exception', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('final_exception', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('ehc_request', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('final_exception')
        batch_op.drop_column('decision_exception')
