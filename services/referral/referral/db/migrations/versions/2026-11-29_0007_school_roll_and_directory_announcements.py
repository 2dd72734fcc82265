"""school_roll_and_directory_announcements: pupils on roll in the schools register, and the directory announced

Schema: `school.pupils_on_roll` and `school.roll_census_on` (the number on roll at the January census; insights
counts concerns per 100 pupils).

Data: fictional rolls for the seeded register (0003), as at the spring census of 15 January 2026; then one
`tas.referral.school.updated` event for every school and one `tas.referral.service.updated` for every service,
written to the outbox in this migration's transaction (the relay publishes them), so that a consumer that keeps the
directory (insights) starts from what the register and the local offer hold. From here on referral announces each
change as it is made.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 15:30:00
"""
import json
from datetime import UTC, date, datetime
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tas_common.events import new_event
from tas_common.events.facts import SchoolUpdatedV1, ServiceUpdatedV1

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CENSUS = date(2026, 1, 15)
ROLLS = {"primary": (196, 23, 17), "secondary": (1020, 137, 5), "special": (118, 9, 3)}
"""phase → (base, step, modulus): school i of a phase gets base + step * (i % modulus) pupils; fictional."""

school = sa.table("school", sa.column("urn", sa.String), sa.column("la_code", sa.String),
                  sa.column("phase", sa.String), sa.column("pupils_on_roll", sa.Integer),
                  sa.column("roll_census_on", sa.Date))
service = sa.table("service", sa.column("id", sa.String), sa.column("la_code", sa.String),
                   sa.column("organisation_id", sa.String), sa.column("organisation_type", sa.String),
                   sa.column("practitioner_roles", sa.JSON), sa.column("taxonomy", sa.JSON),
                   sa.column("target_wait_days", sa.Integer), sa.column("status", sa.String),
                   sa.column("updated_at", sa.DateTime(timezone=True)))
outbox = sa.table("outbox", sa.column("event_id", sa.String), sa.column("subject", sa.String),
                  sa.column("event_type", sa.String), sa.column("payload", sa.LargeBinary),
                  sa.column("headers", sa.Text), sa.column("created_at", sa.DateTime(timezone=True)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _json_list(value: object) -> tuple[str, ...]:
    return tuple(json.loads(value) if isinstance(value, str) else (value or []))


def upgrade() -> None:
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pupils_on_roll', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('roll_census_on', sa.Date(), nullable=True))
    bind = op.get_bind()
    seen: dict[str, int] = {}
    for urn, phase in bind.execute(sa.select(school.c.urn, school.c.phase).order_by(school.c.urn)).all():
        base, step, modulus = ROLLS.get(phase, ROLLS["primary"])
        i = seen[phase] = seen.get(phase, -1) + 1
        op.execute(school.update().where(school.c.urn == urn)
                   .values(pupils_on_roll=base + step * (i % modulus), roll_census_on=CENSUS))
    now = datetime.now(UTC)
    events = []
    for row in bind.execute(sa.select(school).order_by(school.c.urn)).all():
        events.append(new_event(SchoolUpdatedV1(
            urn=row.urn, la_code=row.la_code, phase=row.phase, pupils_on_roll=row.pupils_on_roll,
            roll_census_on=row.roll_census_on, updated_at=now), source="tas/referral", subject=row.urn))
    for row in bind.execute(sa.select(service).order_by(service.c.id)).all():
        events.append(new_event(ServiceUpdatedV1(
            service_id=row.id, la_code=row.la_code, organisation_id=row.organisation_id,
            organisation_type=row.organisation_type, practitioner_roles=_json_list(row.practitioner_roles),
            taxonomy=_json_list(row.taxonomy), target_wait_days=row.target_wait_days, status=row.status,
            updated_at=_aware(row.updated_at)), source="tas/referral", subject=row.id))
    if events:
        op.bulk_insert(outbox, [
            {"event_id": e.id, "subject": e.nats_subject, "event_type": e.type, "payload": e.to_bytes(),
             "headers": "{}", "created_at": now} for e in events])


def downgrade() -> None:
    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.drop_column('roll_census_on')
        batch_op.drop_column('pupils_on_roll')
