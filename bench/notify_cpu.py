"""`python -m bench.notify_cpu [N] [--batch B] [--profile FILE] [--postgresql]`: notify's CPU per concern, in process,
without NATS.

For N concerns (default 1,000) it runs what notify does per concern of the MIS pipeline: the consumer's unit of
work for `family.contact_changed` and `child.concern_linked`, handed to the real `ConsumerRunner` as a fetch of B
messages would be (50: `handle_batch`; `--batch 1`: `handle`, one message per unit of work), then the dispatcher (claim, SMTP send to a sink in
another process, record). CPU is `time.process_time()` of this process (all its threads). The outbox relay
(publishing notification.sent / .delivered to NATS) is not included. With `--postgresql` notify's database is on a
throwaway cluster (bench.engines.postgres, fsync on) and the server's CPU is reported beside. Statements (each a
round trip on PostgreSQL) and transactions per concern are counted with engine events. A diagnostic for
bench/NOTES.md."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from notify.config import NotifySettings
from notify.domain.dispatch import Dispatcher
from notify.domain.models import Notification
from notify.events.handlers import consumer_spec
from notify.providers.registry import providers_from
from tas_common.consumer import ConsumerRunner
from tas_common.db import Database
from tas_common.events import new_event
from tas_common.events.schemas import ConcernLinkedV1, FamilyContactChangedV1
from tas_common.migrations import upgrade
from tas_dev.testing import free_port

from .caseload_cpu import BATCH, StubJetStream, handle_directly
from .engines import cpu_seconds, cpu_used, postgres

ROOT = Path(__file__).resolve().parents[1]


def events_for(n: int) -> list:
    out = []
    for i in range(n):
        child, contact = str(uuid.uuid4()), str(uuid.uuid4())
        out.append(
            new_event(
                FamilyContactChangedV1(
                    child_id=child,
                    contact_id=contact,
                    relationship="parent",
                    parental_responsibility=True,
                    mobile=f"07700 900{i % 1000:03d}",
                    email=f"parent{i}@example.org",
                    preferred_channel="email",
                ),
                source="tas/caseload",
                subject=child,
            )
        )
        out.append(
            new_event(
                ConcernLinkedV1(
                    child_id=child,
                    concern_id=str(uuid.uuid4()),
                    school_urn="100000",
                    la_code="201",
                    new_child=True,
                    match="created",
                    family_contact_ids=[contact],
                ),
                source="tas/caseload",
                subject=child,
            )
        )
    return out


class Counts:
    """Statements and transactions (BEGIN … COMMIT / ROLLBACK) the engine ran, by engine events."""

    def __init__(self, db: Database, *, by_text: bool = False) -> None:
        self.statements = self.transactions = 0
        self.by_text: Counter[str] | None = Counter() if by_text else None
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, _conn: object, _cursor: object, sql: str, *args: object) -> None:
        self.statements += 1
        if self.by_text is not None:
            self.by_text[" ".join(sql.split())[:90]] += 1

    def _begin(self, *args: object) -> None:
        self.transactions += 1

    def read(self) -> tuple[int, int]:
        return self.statements, self.transactions


async def run(
    n: int,
    tmp: Path,
    smtp_port: int,
    profile: str | None,
    batch: int = BATCH,
    url: str | None = None,
    pg: Any = None,
    every: int = BATCH // 2,
    statements: bool = False,
) -> None:
    url = url or f"sqlite+aiosqlite:///{tmp / 'notify.db'}"
    await asyncio.to_thread(upgrade, ROOT / "services/notify/notify/db/migrations", url)
    settings = NotifySettings(
        env="test",
        database_url=url,
        smtp_port=smtp_port,
        dev_key_dir=tmp / "keys",
        quiet_hours_start=0,
        quiet_hours_end=0,
    )
    db = Database(url)
    spec = consumer_spec(settings)
    dispatcher = Dispatcher(db=db, settings=settings, routes=providers_from(settings))
    events = events_for(n)
    warm = events_for(20)

    runner = ConsumerRunner(db=db, js=StubJetStream(), stream="TAS", spec=spec)  # type: ignore[arg-type]

    async def consume(events: list) -> None:
        await handle_directly(runner, events, batch)

    async def dispatch_all() -> None:
        while await dispatcher.dispatch_once():
            pass

    await consume(warm)
    await dispatch_all()
    counts = Counts(db, by_text=statements)
    consumed = [0, 0]
    dispatched = [0, 0]
    prof = cProfile.Profile() if profile else None
    server0 = cpu_seconds({}, pg) if pg is not None else {}
    c0, t0 = time.process_time(), time.monotonic()
    if prof:
        prof.enable()
    consume_cpu = dispatch_cpu = 0.0
    for start in range(0, len(events), 2 * every):
        c, before = time.process_time(), counts.read()
        await consume(events[start : start + 2 * every])
        consume_cpu += time.process_time() - c
        after = counts.read()
        consumed = [consumed[i] + after[i] - before[i] for i in (0, 1)]
        c = time.process_time()
        await dispatch_all()
        dispatch_cpu += time.process_time() - c
        dispatched = [dispatched[i] + counts.read()[i] - after[i] for i in (0, 1)]
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    c1, t1 = time.process_time(), time.monotonic()
    server = sum(cpu_used(server0, cpu_seconds({}, pg)).values()) if pg is not None else 0.0
    async with db.reader() as session:
        delivered = (
            await session.execute(
                select(func.count()).select_from(Notification).where(Notification.status == "delivered")
            )
        ).scalar()
    for provider in dispatcher.by_name.values():
        close = getattr(provider, "aclose", None)
        if close is not None:
            await close()
    await db.dispose()
    print(
        f"{n} concerns, {delivered - 20} delivered, wall {t1 - t0:.1f}s; notify CPU {1000 * (c1 - c0) / n:.2f} "
        f"ms/concern (consume {1000 * consume_cpu / n:.2f}, dispatch {1000 * dispatch_cpu / n:.2f})"
        + (f"; PostgreSQL server CPU {1000 * server / n:.2f} ms/concern" if pg is not None else "")
    )
    print(
        f"per concern: consume {consumed[0] / n:.2f} statements in {consumed[1] / n:.2f} transactions, "
        f"dispatch {dispatched[0] / n:.2f} statements in {dispatched[1] / n:.2f} transactions"
    )
    for text, count in sorted((counts.by_text or {}).items(), key=lambda item: -item[1]):
        print(f"{count / n:6.2f}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notify_cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("size", nargs="?", type=int, default=1000, help="concerns (1,000)")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"messages per fetch ({BATCH})")
    parser.add_argument("--profile", help="write cProfile stats here")
    parser.add_argument("--postgresql", action="store_true", help="notify's database on a throwaway PostgreSQL")
    parser.add_argument(
        "--every",
        type=int,
        default=BATCH // 2,
        help=f"concerns consumed between two dispatcher rounds ({BATCH // 2}; 1: a round a message, as at 150/s)",
    )
    parser.add_argument("--statements", action="store_true", help="list the statements run a concern, by their text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name, postgres() if args.postgresql else nullcontext() as pg:
        if args.postgresql and pg is None:
            parser.error("no PostgreSQL server binaries found")
        tmp = Path(name)
        port = free_port()
        sink = subprocess.Popen(
            [sys.executable, "-m", "bench.smtpsink", "--port", str(port), "--out", str(tmp / "mail.jsonl")], cwd=ROOT
        )
        try:
            time.sleep(1.0)
            url = pg.url("notify") if pg is not None else None
            asyncio.run(run(args.size, tmp, port, args.profile, args.batch, url, pg, args.every, args.statements))
        finally:
            sink.terminate()
            sink.wait()


if __name__ == "__main__":
    main()
