"""`python -m bench.caseload_cpu [N] [--nats] [--batch B] [--profile FILE]`: CPU ms per concern of caseload's consumer
path alone, in process: N `concern.raised` events (MIS-shaped, one family contact each) handled by the real
`ConsumerRunner.handle_batch` in batches of B (50; `--batch 1`: `ConsumerRunner.handle`, a message at a time, which
is what a fetch of one message gets — the common case below saturation), then one `notification.delivered` per child, then the outbox
relay's work for the events caseload wrote. Without `--nats` the messages are handed to `handle_batch` directly
and the relay publishes to a stub that acks at once; with `--nats` a real nats-server carries them (the runner
fetches and acks, the relay waits for each PubAck), so the NATS client's CPU is counted too. A diagnostic for
bench/NOTES.md: far less noisy than the whole pipeline on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nats
from sqlalchemy import text

from caseload.events.handlers import HANDLERS
from tas_common.consumer import ConsumerRunner
from tas_common.consumer_spec import ConsumerSpec
from tas_common.db import Database
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import ChildIdentity, ConcernRaisedV1, FamilyContactV1, NotificationDeliveredV1
from tas_common.identifiers import normalise_uk_mobile
from tas_common.migrations import upgrade
from tas_common.outbox import OutboxRelay
from tas_common.stream import ensure_stream
from tas_dev.testing import NatsServer, concern_body

from .e2e import distinct_serials
from .system import migrations_dir, sqlite_url

BATCH = 50


@dataclass
class FakeMsg:
    subject: str
    data: bytes
    headers: dict[str, str] | None = None
    metadata: Any = field(default_factory=lambda: SimpleNamespace(num_delivered=1))
    acked: bool = False

    async def ack(self) -> None:
        self.acked = True


class StubJetStream:
    async def publish(self, subject: str, payload: bytes, *, headers: dict[str, str], timeout: float) -> Any:
        return SimpleNamespace(duplicate=False)

    def publish_async_pending(self) -> int:
        return 0

    async def publish_async(
        self, subject: str, payload: bytes, *, headers: dict[str, str], wait_stall: float | None
    ) -> asyncio.Future[Any]:
        """The relay's pipelined publish (outbox.py): the PubAck, already there."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(SimpleNamespace(duplicate=False))
        return future


def concern_events(size: int) -> list[CloudEvent]:
    events = []
    for n in distinct_serials(100_000, size):
        body = concern_body(n)
        contacts = [
            FamilyContactV1(
                contact_ref=str(uuid.uuid4()),
                **{**c, "mobile": normalise_uk_mobile(c["mobile"]) if c.get("mobile") else None},
            )
            for c in body["family_contacts"]
        ]
        events.append(
            new_event(
                ConcernRaisedV1(
                    concern_id=str(uuid.uuid4()),
                    school_urn=body["school_urn"],
                    la_code="999",
                    raised_by_org="mis-bench",
                    child=ChildIdentity(**body["child"]),
                    areas_of_need=body["areas_of_need"],
                    family_contacts=contacts,
                    consent_status="given",
                ),
                source="tas/referral",
            )
        )
    return events


def delivered_events(child_ids: list[str]) -> list[CloudEvent]:
    return [
        new_event(
            NotificationDeliveredV1(
                notification_id=str(uuid.uuid4()),
                child_id=child_id,
                template="concern_received",
                channel="email",
                status="delivered",
            ),
            source="tas/notify",
        )
        for child_id in child_ids
    ]


async def handle_directly(runner: ConsumerRunner, events: list[CloudEvent], batch: int = BATCH) -> None:
    """As `ConsumerRunner.run` hands over a fetch: one message to `handle`, several to `handle_batch`."""
    for i in range(0, len(events), batch):
        msgs = [FakeMsg(e.nats_subject, e.to_bytes()) for e in events[i : i + batch]]
        if len(msgs) == 1:
            await runner.handle(msgs[0])  # type: ignore[arg-type]
        else:
            await runner.handle_batch(msgs)  # type: ignore[arg-type]
        assert all(m.acked for m in msgs)


async def processed_count(db: Database) -> int:
    async with db.reader() as session:
        return int((await session.execute(text("SELECT count(*) FROM processed_event"))).scalar() or 0)


async def run(
    size: int, tmp: Path, profile: cProfile.Profile | None, *, with_nats: bool = False, batch: int = BATCH
) -> dict[str, float]:
    url = sqlite_url(tmp / "caseload.db")
    await asyncio.to_thread(upgrade, migrations_dir("caseload"), url)
    db = Database(url)
    js: Any = StubJetStream()
    if with_nats:
        server = NatsServer(tmp / "nats").start()
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_stream(js, name="TAS", max_age_seconds=3600)
    runner = ConsumerRunner(db=db, js=js, stream="TAS", spec=ConsumerSpec(durable="caseload", handlers=HANDLERS))
    relay = OutboxRelay(db=db, js=js, service="caseload")

    async def handle_all(events: list[CloudEvent]) -> None:
        if not with_nats:
            return await handle_directly(runner, events, batch)
        before = await processed_count(db)
        t = time.process_time()
        for e in events:  # publishing is the producer's work, not caseload's
            await js.publish(e.nats_subject, e.to_bytes(), headers={"Nats-Msg-Id": e.id})
        published[0] += time.process_time() - t
        await runner.ensure()
        task = asyncio.create_task(runner.run())
        while await processed_count(db) < before + len(events):  # noqa: ASYNC110 - polls another process's database
            await asyncio.sleep(0.05)
        runner.stop()
        await task
        runner._stopping.clear()

    published = [0.0]
    concerns = concern_events(size)
    figures: dict[str, float] = {}

    def measure(name: str, started: float) -> None:
        figures[name] = (time.process_time() - started - published[0]) * 1000 / size
        published[0] = 0.0

    if profile:
        profile.enable()
    t = time.process_time()
    await handle_all(concerns)
    measure("concern.raised", t)
    async with db.reader() as session:
        child_ids = [r[0] for r in (await session.execute(text("SELECT id FROM child"))).all()]
    assert len(child_ids) == size
    t = time.process_time()
    await handle_all(delivered_events(child_ids))
    measure("notification.delivered", t)
    t = time.process_time()
    while await relay.publish_pending():
        pass
    measure("outbox relay", t)
    if profile:
        profile.disable()
    await db.dispose()
    if with_nats:
        await nc.close()
        server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.caseload_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("size", nargs="?", type=int, default=1000, help="concerns (1,000)")
    parser.add_argument("--nats", action="store_true", help="through a real nats-server")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"messages per fetch ({BATCH})")
    parser.add_argument("--profile", help="write cProfile stats here")
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(run(args.size, Path(tmp), profile, with_nats=args.nats, batch=args.batch))
    for name, ms in figures.items():
        print(f"{name:24s} {ms:6.2f} ms CPU per concern")
    print(f"{'total':24s} {sum(figures.values()):6.2f} ms CPU per concern")
    if profile and args.profile:
        profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()
