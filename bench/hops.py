"""`python -m bench.hops [RATE] [SECONDS]`: where an end-to-end concern's latency goes, hop by hop.

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
from datetime import datetime
from pathlib import Path

from .e2e import distinct_serials, email_of, open_loop, wait_for_mail
from .report import percentile
from .system import BenchSystem


def _rows(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _outbox(db: Path, subject_suffix: str) -> dict[str, float]:
    return {
        event_id: _epoch(created)
        for event_id, created in _rows(
            db, f"SELECT event_id, created_at FROM outbox WHERE subject LIKE '%{subject_suffix}'"
        )
    }


def _processed(db: Path) -> dict[str, float]:
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
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
    with tempfile.TemporaryDirectory(prefix="tas-hops-") as tmp_name:
        tmp = Path(tmp_name)
        with BenchSystem(tmp, services=("referral", "caseload", "notify"), with_smtp=True) as system:
            time.sleep(2.0)
            headers = system.token("senco", "school", school_urns=["100000"], org_id="school-100000")
            serials = distinct_serials(300_000, int(rate * seconds))
            posted = asyncio.run(open_loop(system.procs["referral"].url, headers, serials, rate))
            assert system.smtp is not None
            received = wait_for_mail(system.smtp.extra["out"], [email_of(n) for n in serials], timeout=120)
            time.sleep(1.0)  # let the last outcomes commit
            referral, caseload, notify = (tmp / f"{s}.db" for s in ("referral", "caseload", "notify"))
            raised, linked = _outbox(referral, "concern.raised"), _outbox(caseload, "concern_linked")
            in_caseload, in_notify = _processed(caseload), _processed(notify)
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
    _line(
        "caseload's event row -> notify handled it",
        [(t, in_notify[e] - t) for e, t in linked.items() if e in in_notify],
        start,
    )
    _line("notification created -> outcome recorded (provider call included)", sent, start)


if __name__ == "__main__":
    main()
