"""Small helpers for notify's tests: seed the contact replica, run a use case in a transaction, read rows."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from notify.config import NotifySettings
from notify.domain import replicas, triggers
from notify.domain.models import Notification
from tas_common.db import Database, utcnow
from tas_common.events.schemas import FamilyContactChangedV1
from tas_common.tables import outbox
from tas_dev.testing import referral_accepted

EMAIL = {
    "child_id": "c",
    "contact_id": "x",
    "trigger_event_id": "t",
    "dedupe_key": "d",
    "recipient_key": "r",
    "template": "t",
    "template_version": 1,
    "language": "en",
    "channel": "email",
    "recipient": "parent@example.org",
    "subject": "Team Around the School",
    "body": "Dear parent or carer",
}
"""The fields of a family email as notify queues one (`Notification(**EMAIL | {...})`), for tests that need a
message but no database row."""


def new_id() -> str:
    return str(uuid.uuid4())


async def add_contact(
    db: Database,
    *,
    child_id: str,
    contact_id: str | None = None,
    relationship: str = "parent",
    channel: str = "email",
    language: str = "en",
    mobile: str | None = "07700 900123",
    email: str | None = "parent@example.org",
    pr: bool = True,
    opted_out: bool = False,
) -> str:
    contact_id = contact_id or new_id()
    async with db.transaction() as session:
        await replicas.upsert_contact(
            session,
            change=FamilyContactChangedV1(
                child_id=child_id,
                contact_id=contact_id,
                relationship=relationship,
                parental_responsibility=pr,
                mobile=mobile,
                email=email,
                preferred_channel=channel,
                language=language,
                opted_out=opted_out,
            ),
        )
    return contact_id


async def accept_referral(
    db: Database, settings: NotifySettings, *, child_id: str, now: datetime | None = None
) -> list[Notification]:
    """A referral for `child_id` accepted (a new event): the family's referral_accepted messages it queues."""
    async with db.transaction() as session:
        return await triggers.referral_outcome(
            session,
            settings=settings,
            kind="accepted",
            referral=referral_accepted(child_id),
            event_id=new_id(),
            now=now or utcnow(),
        )


async def rows(db: Database, **where: Any) -> list[Notification]:
    async with db.reader() as session:
        query = select(Notification)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list((await session.exec(query.order_by(col(Notification.created_at), col(Notification.id)))).all())


async def outbox_types(db: Database) -> list[str]:
    async with db.reader() as session:
        return [r.event_type for r in (await session.execute(select(outbox.c.event_type).order_by(outbox.c.seq)))]


async def outbox_events(db: Database, event_type: str) -> list[dict[str, Any]]:
    """The payloads of the events of `event_type` written to the outbox, in order."""
    async with db.reader() as session:
        rows = await session.execute(
            select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.seq)
        )
        return [json.loads(r.payload)["data"] for r in rows]
