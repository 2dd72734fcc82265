"""`python -m bench.hops [RATE] [SECONDS] [--postgresql]`: where an end-to-end concern's latency goes, hop by hop
(on SQLite files, or with `--postgresql` on a throwaway cluster's databases, one per service, as the e2e bench).

Posts concerns open-loop (as the end-to-end benchmark does, default 50/s for 8 s), waits for the family emails,
then reads the timestamps each service already keeps: referral's outbox row for concern.raised (`created_at`),
caseload's processed_event for it (`processed_at`), caseload's outbox row for child.concern_linked, notify's
processed_event for that, and notify's notification row (`created_at` → `updated_at`, the outcome recorded after
the provider call). Prints p50 / p90 / max of each hop, and p50 / max per 5-second bucket of the run (a backlog
shows as a rising bucket). A diagnostic for bench/NOTES.md, not one of the reported benchmarks.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

from .e2e import distinct_serials, email_of, open_loop, wait_for_mail
from .engines import driver_dsn, postgres
from .report import percentile
from .system import BenchSystem


def _rows(db: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    """`db`: a SQLite file's path, or a PostgreSQL URL."""
    if not db.startswith("postgresql"):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute(sql).fetchall()
    import asyncpg

    async def fetch() -> list[tuple]:  # type: ignore[type-arg]
        conn = await asyncpg.connect(driver_dsn(db))
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def _epoch(value: str | datetime) -> float:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _outbox(db: str, subject_suffix: str) -> dict[str, float]:
    return {
        event_id: _epoch(created)
        for event_id, created in _rows(
            db, f"SELECT event_id, created_at FROM outbox WHERE subject LIKE '%{subject_suffix}'"
        )
    }


def _processed(db: str) -> dict[str, float]:
    return {event_id: _epoch(at) for event_id, at in _rows(db, "SELECT event_id, processed_at FROM processed_event")}


def _line(name: str, samples: list[tuple[float, float]], start: float) -> None:
    """`samples`: (when the hop began, its duration in seconds)."""
    ms = [d * 1000 for _, d in samples]
    print(f"{name}: p50 {percentile(ms, 50):.0f}  p90 {percentile(ms, 90):.0f}  max {max(ms):.0f} ms  (n={len(ms)})")
    buckets: dict[int, list[float]] = defaultdict(list)
    for began, duration in samples:
        buckets[int((began - start) // 5) * 5].append(duration * 1000)
    print(
        "   by 5 s of the run (p50/max ms): "
        + "  ".join(f"{t}s {percentile(v, 50):.0f}/{max(v):.0f}" for t, v in sorted(buckets.items()))
    )


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--postgresql"]
    rate = float(args[0]) if args else 50.0
    seconds = float(args[1]) if len(args) > 1 else 8.0
    on_pg = "--postgresql" in sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="tas-hops-") as tmp_name, postgres() if on_pg else nullcontext() as pg:
        tmp = Path(tmp_name)
        services = ("referral", "caseload", "notify")
        urls = {} if pg is None else {service: pg.url(service) for service in services}
        with BenchSystem(tmp, services=services, with_smtp=True, database_urls=dict(urls)) as system:
            time.sleep(2.0)
            headers = system.senco()
            serials = distinct_serials(300_000, int(rate * seconds))
            posted = asyncio.run(open_loop(system.procs["referral"].url, headers, serials, rate))
            assert system.smtp is not None
            received = wait_for_mail(system.smtp.extra["out"], [email_of(n) for n in serials], timeout=120)
            time.sleep(1.0)  # let the last outcomes commit
            referral, caseload, notify = (urls.get(s) or str(tmp / f"{s}.db") for s in services)
            raised, linked = _outbox(referral, "concern.raised"), _outbox(caseload, "concern_linked")
            in_caseload, in_notify = _processed(caseload), _processed(notify)
            published = {
                e: (_epoch(c), _epoch(s) - _epoch(c))
                for e, c, s in _rows(
                    caseload, "SELECT event_id, created_at, sent_at FROM outbox WHERE subject LIKE '%concern_linked'"
                )
                if s is not None
            }
            sent = [
                (_epoch(c), _epoch(u) - _epoch(c))
                for c, u in _rows(notify, "SELECT created_at, updated_at FROM notification WHERE status <> 'created'")
            ]
    start = min(raised.values())
    print(f"{len(serials)} concerns at {rate:.0f}/s for {seconds:.0f} s")
    whole = [received[email_of(n)] - posted[n][0] for n in serials if email_of(n) in received]
    ms = [w * 1000 for w in whole]
    print(
        f"whole path, POST sent -> email accepted by the sink: p50 {percentile(ms, 50):.0f}  "
        f"p99 {percentile(ms, 99):.0f}  max {max(ms):.0f} ms"
    )
    _line(
        "referral's event row -> caseload handled it",
        [(t, in_caseload[e] - t) for e, t in raised.items() if e in in_caseload],
        start,
    )
    _line("caseload's event row -> published by its relay (the PubAck in)", list(published.values()), start)
    _line(
        "caseload's event row -> notify handled it",
        [(t, in_notify[e] - t) for e, t in linked.items() if e in in_notify],
        start,
    )
    _line("notification created -> outcome recorded (provider call included)", sent, start)


if __name__ == "__main__":
    main()
