"""Benchmark 4: caseload at scale. 1,000,000 fictional children and 10,000,000 chronology entries (--quick:
10,000 and 100,000) generated straight into a migrated caseload database with sqlite3 executemany, cached under
bench/cache/ keyed by caseload's migration head and the sizes, then served by caseload under uvicorn:

- child lookup by UPN (`GET /v1/children?upn=`),
- one chronology page (`GET /v1/children/{id}/chronology?limit=50`),
- a practitioner's caseload list: caseload has no such endpoint yet, so the equivalent query (a SENCO's
  children at their school, 50 by name) is measured through caseload's own models and engine, in process.

Requests go one at a time on a keep-alive connection; p50 and p99 over all of them. Reads are audited (an
insert and a commit with fsync per read), as in production.
"""
from __future__ import annotations

import asyncio
import random

import sqlite3
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from tas_common.migrations import heads, upgrade
from tas_common.testing import FAMILY, GIVEN, fictional_nhs_number, fictional_upn

from .report import Figure, Report, at_most, summary
from .system import BenchSystem, migrations_dir, sqlite_url

CACHE = Path(__file__).resolve().parent / "cache"
SCHOOLS = 2000
LA_CODE = "999"
KINDS = ("concern_raised", "referral_submitted", "referral_accepted", "team_member_added", "plan_published",
         "review_scheduled", "contact_changed", "note_added")


def child_id(i: int) -> str:
    """Fictional UUID-shaped ids, increasing with i so that the generator appends to every index in order."""
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def school_urn(i: int) -> str:
    return str(100000 + i % SCHOOLS)


def _children(count: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(1)
    created = "2026-01-05 09:00:00.000000"
    for i in range(count):
        yield (child_id(i), fictional_upn(i, school=i // 1000 % 10000), fictional_nhs_number(i), rng.choice(GIVEN),
               rng.choice(FAMILY), date(2010 + i % 12, 1 + i % 12, 1 + i % 28).isoformat(), f"Y{1 + i % 11}",
               school_urn(i), LA_CODE, None, created)


def _entries(children: int, per_child: int) -> Iterator[tuple[Any, ...]]:
    base = datetime(2025, 9, 1, 8, 0, 0)
    for i in range(children):
        cid = child_id(i)
        for j in range(per_child):
            at = (base + timedelta(days=3 * j, seconds=i % 86400)).strftime("%Y-%m-%d %H:%M:%S.%f")
            kind = KINDS[(i + j) % len(KINDS)]
            yield (f"{i:08x}-{j:04x}-4000-8000-000000000000", cid, at, kind,
                   f"Fictional {kind.replace('_', ' ')} entry {j} for benchmark child {i}", "team", None, None, None)


def generate(path: Path, children: int, per_child: int) -> float:
    """Build the database at `path` (through a temporary file, renamed when complete); return seconds taken."""
    t0 = time.monotonic()
    tmp = path.with_suffix(".partial")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
        leftover.unlink(missing_ok=True)
    upgrade(migrations_dir("caseload"), sqlite_url(tmp))
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO child (id, upn, nhs_number, given_name, family_name, date_of_birth, year_group,"
                         " school_urn, la_code, possible_duplicate_of, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         _children(children))
        conn.executemany("INSERT INTO chronology_entry (id, child_id, at, kind, summary, sensitivity, ref_type, "
                         "ref_id, source_event_id) VALUES (?,?,?,?,?,?,?,?,?)", _entries(children, per_child))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    tmp.rename(path)
    return time.monotonic() - t0


def cached_database(children: int, per_child: int) -> tuple[Path, float | None]:
    head = "-".join(sorted(heads(migrations_dir("caseload"))))
    path = CACHE / f"caseload-{head}-{children}x{per_child}.db"
    if path.exists():
        return path, None
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"caseload-*-{children}x{per_child}.db*"):
        stale.unlink()  # another migration head: regenerate
    return path, generate(path, children, per_child)


def timed_gets(client: Any, paths: list[str], headers: dict[str, str]) -> tuple[list[float], int]:
    latencies, errors = [], 0
    for path in paths:
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200 or not response.json().get("items"):
            errors += 1
    return latencies, errors


async def caseload_list(url: str, urns: list[str]) -> list[float]:
    """The query a practitioner's caseload list needs, through caseload's engine and models."""
    from sqlmodel import select

    from caseload.domain.models import Child
    from tas_common.db import Database

    db = Database(url)
    latencies = []
    try:
        for urn in urns:
            t0 = time.perf_counter()
            async with db.reader() as session:
                rows = (await session.exec(select(Child).where(Child.school_urn == urn)
                                           .order_by(Child.family_name, Child.given_name, Child.id).limit(50))).all()
            latencies.append((time.perf_counter() - t0) * 1000)
            assert rows
    finally:
        await db.dispose()
    return latencies


def run(report: Report, *, tmp: Path, quick: bool) -> None:
    children, per_child, samples = (10_000, 10, 300) if quick else (1_000_000, 10, 2000)
    bench = f"scale ({children:,} children, {children * per_child:,} entries, SQLite)"
    db_path, generated = cached_database(children, per_child)
    details: dict[str, Any] = {"children": children, "entries": children * per_child, "db": str(db_path),
                               "generated_s": generated, "db_mb": round(db_path.stat().st_size / 1_048_576)}
    rng = random.Random(7)
    picks = [rng.randrange(children) for _ in range(samples + 50)]
    url = sqlite_url(db_path)
    system = BenchSystem(tmp, services=("caseload",), database_urls={"caseload": url})
    with system:
        headers = system.token("send_officer", "local_authority", la_code=LA_CODE, org_id="la-999")
        with system.client("caseload") as client:
            upn_paths = [f"/v1/children?upn={fictional_upn(i, school=i // 1000 % 10000)}" for i in picks]
            chron_paths = [f"/v1/children/{child_id(i)}/chronology?limit=50" for i in picks]
            timed_gets(client, upn_paths[:50] + chron_paths[:50], headers)  # warm-up
            upn, upn_errors = timed_gets(client, upn_paths[50:], headers)
            chron, chron_errors = timed_gets(client, chron_paths[50:], headers)
    listing = asyncio.run(caseload_list(url, [school_urn(i) for i in picks[50:]]))
    report.latencies["scale: child by UPN"] = upn
    report.latencies["scale: chronology page"] = chron
    report.latencies["scale: caseload list (SQL)"] = listing
    s_upn, s_chron, s_list = summary(upn), summary(chron), summary(listing)
    details.update({"child_by_upn_ms": s_upn, "chronology_page_ms": s_chron, "caseload_list_ms": s_list,
                    "errors": {"upn": upn_errors, "chronology": chron_errors}})
    report.add(
        Figure(bench, "child by UPN p50", s_upn["p50"], "ms", note=f"{len(upn)} requests, {upn_errors} errors"),
        Figure(bench, "child by UPN p99", s_upn["p99"], "ms", "< 5 ms", at_most(s_upn["p99"], 5)),
        Figure(bench, "chronology page p50", s_chron["p50"], "ms", note=f"{chron_errors} errors"),
        Figure(bench, "chronology page p99", s_chron["p99"], "ms", "< 20 ms", at_most(s_chron["p99"], 20)),
        Figure(bench, "caseload list p50", s_list["p50"], "ms",
               note="SQL through caseload's models: no caseload-list endpoint yet"),
        Figure(bench, "caseload list p99", s_list["p99"], "ms", "< 20 ms", at_most(s_list["p99"], 20)),
    )
    report.notes.append(f"Scale database: {details['db_mb']:,} MB, "
                        + (f"generated in {generated:.0f} s" if generated is not None else "reused from the cache")
                        + f" ({db_path.name}). PostgreSQL figures: "
                        + ("not run (TAS_BENCH_PG_URL is not set)." if not _pg_url() else
                           "TAS_BENCH_PG_URL is set, but PostgreSQL loading is pending the production issue."))
    report.details["scale"] = details


def _pg_url() -> str | None:
    import os

    return os.environ.get("TAS_BENCH_PG_URL") or None


