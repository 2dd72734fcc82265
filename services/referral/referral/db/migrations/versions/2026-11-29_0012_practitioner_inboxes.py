"""practitioner_inboxes: where insights' alerts go. Each school's SENCO inbox in the register, and a `local_authority`
table with each LA's SEND team inbox (the services' team inboxes are in the local offer already).

Data: fictional addresses at example.org for the seeded schools (`senco@<school>.example.org`, beside the office
address of 0009) and the two seeded LAs; then every school, service and LA announced again
(`tas.referral.school.updated` with `senco_email`, `tas.referral.service.updated` with `team_email`, the new
`tas.referral.local_authority.updated`), written to the outbox in this migration's transaction, so that notify
starts from the addresses the directory holds.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 20:10:00
"""
import json
from datetime import UTC, datetime
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

from tas_common.events import new_event
from tas_common.events.facts import LocalAuthorityUpdatedV1, SchoolUpdatedV1, ServiceUpdatedV1

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LOCAL_AUTHORITIES = [
    ("999", "Fictional Borough Council", "send.team@fictional-borough.example.org"),
    ("998", "Fictional County Council", "send.team@fictional-county.example.org"),
]

school = sa.table("school", sa.column("urn", sa.String), sa.column("la_code", sa.String),
                  sa.column("phase", sa.String), sa.column("pupils_on_roll", sa.Integer),
                  sa.column("roll_census_on", sa.Date), sa.column("email", sa.String),
                  sa.column("senco_email", sa.String))
service = sa.table("service", sa.column("id", sa.String), sa.column("la_code", sa.String),
                   sa.column("organisation_id", sa.String), sa.column("organisation_type", sa.String),
                   sa.column("practitioner_roles", sa.JSON), sa.column("taxonomy", sa.JSON),
                   sa.column("target_wait_days", sa.Integer), sa.column("status", sa.String),
                   sa.column("email", sa.String), sa.column("updated_at", sa.DateTime(timezone=True)))
outbox = sa.table("outbox", sa.column("event_id", sa.String), sa.column("subject", sa.String),
                  sa.column("event_type", sa.String), sa.column("payload", sa.LargeBinary),
                  sa.column("headers", sa.Text), sa.column("created_at", sa.DateTime(timezone=True)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _json_list(value: object) -> tuple[str, ...]:
    return tuple(json.loads(value) if isinstance(value, str) else (value or []))


def upgrade() -> None:
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.add_column(sa.Column('senco_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
    local_authority = op.create_table(
        'local_authority',
        sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('send_team_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('la_code', name=op.f('pk_local_authority')),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    for urn, office in bind.execute(sa.select(school.c.urn, school.c.email)).all():
        if office and office.startswith("office@"):
            op.execute(school.update().where(school.c.urn == urn)
                       .values(senco_email="senco@" + office.removeprefix("office@")))
    op.bulk_insert(local_authority, [dict(la_code=code, name=name, send_team_email=email, updated_at=now)
                                     for code, name, email in LOCAL_AUTHORITIES])
    events = [new_event(LocalAuthorityUpdatedV1(la_code=code, name=name, send_team_email=email, updated_at=now),
                        source="tas/referral", subject=code) for code, name, email in LOCAL_AUTHORITIES]
    for row in bind.execute(sa.select(school).order_by(school.c.urn)).all():
        events.append(new_event(SchoolUpdatedV1(
            urn=row.urn, la_code=row.la_code, phase=row.phase, pupils_on_roll=row.pupils_on_roll,
            roll_census_on=row.roll_census_on, senco_email=row.senco_email, updated_at=now),
            source="tas/referral", subject=row.urn))
    for row in bind.execute(sa.select(service).order_by(service.c.id)).all():
        events.append(new_event(ServiceUpdatedV1(
            service_id=row.id, la_code=row.la_code, organisation_id=row.organisation_id,
            organisation_type=row.organisation_type, practitioner_roles=_json_list(row.practitioner_roles),
            taxonomy=_json_list(row.taxonomy), target_wait_days=row.target_wait_days, status=row.status,
            team_email=row.email, updated_at=_aware(row.updated_at)), source="tas/referral", subject=row.id))
    op.bulk_insert(outbox, [
        {"event_id": e.id, "subject": e.nats_subject, "event_type": e.type, "payload": e.to_bytes(),
         "headers": "{}", "created_at": now} for e in events])


def downgrade() -> None:
    op.drop_table('local_authority')
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.drop_column('senco_email')
