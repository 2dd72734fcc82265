"""service_practitioners: a referral belongs to the service it was sent to

Adds the roles that make a practitioner of a service's organisation one of the service's practitioners
(`service.practitioner_roles`) and the directory's record of explicit members of a service's team
(`service_member`); fills in the roles of the seeded local offer (0003).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The seeded services (0003) → the token roles of their practitioners in the service's organisation.
ROLES = {
    "999-educational-psychology": ["ep"],
    "999-salt": ["slt"],
    "999-occupational-therapy": ["ot"],
    "999-camhs": ["camhs"],
    "999-school-nursing": ["school_nurse"],
    "999-early-help": ["early_help_practitioner"],
    "999-front-door": ["social_worker"],
    "999-sensory-support": ["sensory_support_teacher"],
    "999-specialist-teaching": ["specialist_teacher"],
    "999-paediatrics": ["paediatrician"],
    "999-ehc-assessment": ["send_officer"],
    "999-young-carers": ["young_carers_worker"],
    "999-autism-outreach": ["outreach_teacher"],
    "998-front-door": ["social_worker"],
    "998-educational-psychology": ["ep"],
}

service = sa.table("service", sa.column("id", sa.String), sa.column("practitioner_roles", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('practitioner_roles', sa.JSON(), server_default='[]', nullable=False))
    op.create_table('service_member',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('sub', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('org_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_member_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_member')),
    sa.UniqueConstraint('service_id', 'sub', 'org_id', name=op.f('uq_service_member_service_id'))
    )
    with op.batch_alter_table('service_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_member_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_member_service_id'), ['service_id'], unique=False)
    for service_id, roles in ROLES.items():
        op.execute(service.update().where(service.c.id == service_id).values(practitioner_roles=roles))


def downgrade() -> None:
    with op.batch_alter_table('service_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_member_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_member_org_id'))
    op.drop_table('service_member')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('practitioner_roles')
