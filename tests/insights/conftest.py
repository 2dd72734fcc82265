"""Insights' test helpers: a migrated insights database, and `Feed`, which hands real CloudEvents (built as the
services build them, at a time of the test's choosing) to insights' own handlers in the consumer's way: one
transaction each, the processed-event row beside the effect, a duplicate changing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from insights.domain.models import Tally
from insights.events.handlers import DURABLE, HANDLERS
from sqlalchemy import select

from tas_common import clock
from tas_common.consumer import mark_processed
from tas_common.db import Database
from tas_common.events import CloudEvent, EventPayload, new_event
from tas_common.events.facts import SchoolUpdatedV1, ServiceUpdatedV1
from tas_common.events.schemas import (
    ConcernRaisedV1,
    ReferralAcceptedV1,
    ReferralFirstContactRecordedV1,
    ReferralSubmittedV1,
)
from tas_common.identity import ChildIdentity

from ..conftest import fresh_database_url, migrate

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


class Feed:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.events: list[CloudEvent] = []

    def event(self, payload: EventPayload, at: datetime) -> CloudEvent:
        with clock.at(at):
            event = new_event(payload, source="tas/test")
        self.events.append(event)
        return event

    async def deliver(self, event: CloudEvent) -> bool:
        """As the consumer runner does: False when the event was processed before."""
        payload = event.payload()
        async with self.db.transaction() as session:
            if not await mark_processed(session, consumer=DURABLE, event=event, at=clock.now()):
                return False
            await HANDLERS[type(payload)](session, payload, event)
        return True

    async def __call__(self, payload: EventPayload, at: datetime) -> CloudEvent:
        event = self.event(payload, at)
        await self.deliver(event)
        return event

    async def tallies(self) -> dict[tuple[str, ...], int]:
        async with self.db.reader() as session:
            rows = (await session.execute(select(Tally))).scalars().all()
            return {(t.metric, t.scope, t.scope_id, t.month, t.k1, t.k2): t.n for t in rows if t.n}


@pytest.fixture
async def insights_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = fresh_database_url("insights", tmp_path)
    await migrate("insights", url)
    db = Database(url)
    yield db
    await db.dispose()


@pytest.fixture
def feed(insights_db: Database) -> Feed:
    return Feed(insights_db)


# --- facts, as the services publish them ----------------------------------------------------------------------


def school(urn: str = "100000", la: str = "999", roll: int = 300, phase: str = "primary") -> SchoolUpdatedV1:
    return SchoolUpdatedV1(urn=urn, la_code=la, phase=phase, pupils_on_roll=roll, updated_at=T0 - timedelta(days=90))


def service(sid: str = "999-salt", target: int = 126, org: str = "nhs-trust-1", roles=("slt",)) -> ServiceUpdatedV1:
    return ServiceUpdatedV1(
        service_id=sid,
        la_code="999",
        organisation_id=org,
        organisation_type="health",
        practitioner_roles=tuple(roles),
        target_wait_days=target,
        status="active",
        updated_at=T0 - timedelta(days=90),
    )


def concern(
    n: int, urn: str = "100000", areas: tuple[str, ...] = ("communication_and_interaction",)
) -> ConcernRaisedV1:
    return ConcernRaisedV1(
        concern_id=f"concern-{n}",
        school_urn=urn,
        la_code="999",
        raised_by_org=f"school-{urn}",
        child=ChildIdentity(upn="K999000019001", given_name="Never", family_name="Stored", date_of_birth="2016-05-01"),
        areas_of_need=list(areas),
    )


def base(n: int, urn: str = "100000", sid: str = "999-salt", child: str | None = None) -> dict[str, Any]:
    return {
        "referral_id": f"referral-{n}",
        "concern_id": f"concern-{n}",
        "child_id": child,
        "service_id": sid,
        "school_urn": urn,
    }


def submitted(n: int, target: int = 126, **kw: Any) -> ReferralSubmittedV1:
    return ReferralSubmittedV1(
        **base(n, **kw), service_org_id="nhs-trust-1", service_org_type="health", la_code="999", target_wait_days=target
    )


def accepted(n: int, **kw: Any) -> ReferralAcceptedV1:
    return ReferralAcceptedV1(
        **base(n, **kw),
        practitioner_sub="slt-1",
        practitioner_name="Never Stored",
        practitioner_org_id="nhs-trust-1",
        practitioner_org_type="health",
    )


def first_contact(n: int, at: datetime, **kw: Any) -> ReferralFirstContactRecordedV1:
    return ReferralFirstContactRecordedV1(**base(n, **kw), first_contact_at=at)
