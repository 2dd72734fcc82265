"""insights_alerts: notify tells practitioners of insights' alerts (tas.insights.alerts.raised). The practitioners'
inboxes from referral's directory events (`practitioner_inbox`), which message told each alert (`alert_message`:
each alert once, ever), and the two email templates, one alert and a digest (English: practitioners' messages).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 20:20:00
"""
from typing import Sequence, Union

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NAMESPACE = uuid.UUID("6f1c8a53-5d0e-4f57-9a53-2d8f3b0c7a11")  # as migration 0002: ids from name:channel:language
BY = "migration 0009"
ONCE = ("Team Around the School tells your inbox of each wait or deadline once. The message holds no names: sign in "
        "to see who it is about.")
TEMPLATES = [
    # name, subject, body (email, English)
    ("insights_alert", "((alert)): ((reference))",
     "((alert)).\n\nReference: ((reference))\nDue by: ((due_date))\n\nOpen it at ((link))\n\n"
     f"{ONCE}\n\nTeam Around the School"),
    ("insights_alert_digest", "((count)) waits and deadlines need attention",
     "Team Around the School found ((count)) waits and deadlines that need attention:\n\n((alert_list))\n\n"
     f"{ONCE}\n\nTeam Around the School"),
]

_template = sa.table("message_template", sa.column("id"), sa.column("name"), sa.column("channel"),
                     sa.column("language"), sa.column("current_version"),
                     sa.column("updated_at", sa.DateTime(timezone=True)))
_version = sa.table("template_version", sa.column("template_id"), sa.column("version"), sa.column("subject"),
                    sa.column("body"), sa.column("created_by"), sa.column("created_at", sa.DateTime(timezone=True)))


def _id(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{name}:email:en"))


def upgrade() -> None:
    op.create_table('practitioner_inbox',
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('recipient', name=op.f('pk_practitioner_inbox'))
    )
    op.create_table('alert_message',
    sa.Column('alert_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('notification_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('alert_key', name=op.f('pk_alert_message'))
    )
    now = datetime.now(timezone.utc)
    op.bulk_insert(_template, [dict(id=_id(name), name=name, channel="email", language="en", current_version=1,
                                    updated_at=now) for name, _, _ in TEMPLATES])
    op.bulk_insert(_version, [dict(template_id=_id(name), version=1, subject=subject, body=body, created_by=BY,
                                   created_at=now) for name, subject, body in TEMPLATES])


def downgrade() -> None:
    ids = [_id(name) for name, _, _ in TEMPLATES]
    op.execute(_version.delete().where(_version.c.template_id.in_(ids)))
    op.execute(_template.delete().where(_template.c.id.in_(ids)))
    op.drop_table('alert_message')
    op.drop_table('practitioner_inbox')
