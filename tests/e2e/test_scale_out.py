"""Two replicas of each service on one PostgreSQL database per service (docs/architecture.md §6): every event is handled
exactly once and every outbox row is published once, while the replicas' relays, consumers and dispatchers race.

Each replica is its own app with its own runtime, database pool and NATS connection; the replicas of a service
share its durable consumer. Runs in the PostgreSQL pass (`make test-all`)."""

from __future__ import annotations

import asyncio
import importlib
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import nats as nats_client
import pytest
from sqlalchemy import func, select, text

from tas_common.metrics import OUTBOX_DUPLICATES
from tas_common.tables import outbox, processed_event
from tas_dev.testing import concern_body

from ..conftest import ON_POSTGRES, SERVICES, eventually, migrate, service_settings, settled

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="two replicas share one PostgreSQL database; SQLite is single-node"
)

CONCERNS = 50
REPLICAS = 2
ANNOUNCEMENTS = ("tas.referral.school.updated", "tas.referral.service.updated", "tas.referral.local_authority.updated")
"""The directory announces its seeded schools, services and local authorities (the practitioners' inboxes notify
keeps): besides the concerns' events, and consumed by notify whatever the concerns."""


@pytest.fixture
async def replicas(tmp_path: Path, nats, smtp, issuer):
    """{service: [app, app]} sharing one database per service, one nats-server and one SMTP sink."""
    apps: dict[str, list] = {}
    for service in SERVICES:
        extra = (
            {"smtp_host": smtp.host, "smtp_port": smtp.port, "sms_outbox_path": tmp_path / "sms-outbox.jsonl"}
            if service == "notify"
            else {}
        )
        settings = service_settings(service, tmp_path, nats.url, **extra)
        await migrate(service, settings.database_url)
        module = importlib.import_module(f"{service}.main")
        apps[service] = [
            module.create_app(service_settings(service, tmp_path, nats.url, **extra)) for _ in range(REPLICAS)
        ]
    assert len({app.state.settings.database_url for app in apps["caseload"]}) == 1  # one shared database
    async with AsyncExitStack() as stack:
        clients: dict[str, list[httpx.AsyncClient]] = {}
        for service, group in apps.items():
            for app in group:
                await stack.enter_async_context(app.router.lifespan_context(app))
                clients.setdefault(service, []).append(
                    await stack.enter_async_context(
                        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}")
                    )
                )
        for group in apps.values():
            for app in group:
                await asyncio.wait_for(app.state.runtime.bus_ready.wait(), timeout=10)
        yield apps, clients


def distinct_pupils(count: int) -> list[dict]:
    """Concerns about `count` different pupils (no shared UPN or NHS number, so each is a new child)."""
    bodies, seen, serial = [], set(), 500
    while len(bodies) < count:
        body = concern_body(serial)
        serial += 1
        if body["child"]["nhs_number"] not in seen:
            seen.add(body["child"]["nhs_number"])
            bodies.append(body)
    return bodies


async def scalar(app, statement):
    async with app.state.runtime.db.reader() as session:
        return (await session.execute(statement)).scalar_one()


async def rows(app, statement):
    async with app.state.runtime.db.reader() as session:
        return (await session.execute(statement)).all()


async def test_two_replicas_of_each_service_handle_every_event_once_and_publish_every_row_once(
    replicas, token, smtp, nats
):
    apps, clients = replicas
    senco = token("senco", "school", school_urns=["100000"])
    duplicates_before = {s: OUTBOX_DUPLICATES.labels(s)._value.get() for s in SERVICES}
    bodies = distinct_pupils(CONCERNS)

    async def raise_concern(n: int) -> None:  # spread over both referral replicas, several at a time
        response = await clients["referral"][n % REPLICAS].post("/v1/concerns", json=bodies[n], headers=senco)
        assert response.status_code == 201, response.text

    for start in range(0, CONCERNS, 10):
        await asyncio.gather(*(raise_concern(n) for n in range(start, min(start + 10, CONCERNS))))

    async def all_mail_sent():
        return len(smtp.messages) >= CONCERNS

    await eventually(all_mail_sent, timeout=60, what=f"{CONCERNS} family emails")

    async def outboxes_drained():
        unsent = [
            await scalar(apps[s][0], select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
            for s in SERVICES
        ]
        return sum(unsent) == 0

    await eventually(outboxes_drained, timeout=30, what="every outbox row to be published")
    await settled(app.state.runtime for group in apps.values() for app in group)  # a duplicate would show by now

    # effects happened once: one child per concern, one notification per family, one email each
    caseload, notify, referral = apps["caseload"][0], apps["notify"][0], apps["referral"][0]
    assert await scalar(caseload, text("SELECT count(*) FROM child")) == CONCERNS
    assert (
        await scalar(caseload, text("SELECT count(*) FROM chronology_entry WHERE kind = 'concern_raised'")) == CONCERNS
    )
    assert await scalar(notify, text("SELECT count(*) FROM notification")) == CONCERNS
    assert await scalar(notify, text("SELECT count(*) FROM notification WHERE status = 'delivered'")) == CONCERNS
    assert len(smtp.messages) == CONCERNS
    assert sorted(m["To"] for m in smtp.messages) == sorted(b["family_contacts"][0]["email"] for b in bodies)
    assert await scalar(referral, text("SELECT count(*) FROM concern WHERE child_id IS NULL")) == 0

    # every event was handled once per consuming service: processed_event rows = events of the handled subjects
    handled = {
        s: Counter(r.event_type for r in await rows(apps[s][0], select(processed_event.c.event_type))) for s in SERVICES
    }
    assert handled["caseload"] == {
        "tas.referral.concern.raised.v1": CONCERNS,  # + the acknowledgement's outcome
        "tas.notify.notification.delivered.v1": CONCERNS,
    }
    assert handled["referral"] == {"tas.caseload.child.concern_linked.v1": CONCERNS}
    directory = {t: n for t, n in handled["notify"].items() if t.startswith(ANNOUNCEMENTS)}  # practitioners' inboxes
    assert set(directory) == {f"{subject}.v1" for subject in ANNOUNCEMENTS}
    assert {t: n for t, n in handled["notify"].items() if t not in directory} == {
        "tas.caseload.child.concern_linked.v1": CONCERNS,
        "tas.caseload.family.contact_changed.v1": CONCERNS,
    }

    # every outbox row was published once: the stream holds exactly the outbox rows, subject by subject, and no
    # relay published a row that another replica had already published (JetStream would report a duplicate)
    written: Counter[str] = Counter()
    for service in SERVICES:
        for row in await rows(apps[service][0], select(outbox.c.subject)):
            written[row.subject] += 1
    client = await nats_client.connect(nats.url)
    try:
        js = client.jetstream()
        info = await js.stream_info("TAS", subjects_filter="tas.>")
        assert dict(info.state.subjects or {}) == dict(written)
        assert info.state.messages == sum(written.values())
        # each concern made six: raised, registered, contact, linked, notification sent and delivered (besides
        # them, the directory's announcements of its seeded schools, services and local authorities)
        assert sum(n for subject, n in written.items() if not subject.startswith(ANNOUNCEMENTS)) == CONCERNS * 6
        consumers = sorted(c.name for c in await js.consumers_info("TAS"))
        assert consumers == ["caseload", "notify", "referral"]  # replicas share one durable consumer each
        for name in consumers:
            consumer = await js.consumer_info("TAS", name)
            assert consumer.num_pending == 0 and consumer.num_ack_pending == 0
    finally:
        await client.close()
    assert {s: OUTBOX_DUPLICATES.labels(s)._value.get() for s in SERVICES} == duplicates_before
