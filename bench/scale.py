"""Benchmark 4: caseload at scale. 1,000,000 fictional children, 10,000,000 chronology entries and 1,000,000 team
memberships (--quick: 10,000, 100,000 and 10,000) generated straight into a migrated caseload database with
sqlite3 executemany, cached under bench/cache/ keyed by caseload's migration head and the sizes, then served by
caseload under uvicorn:

- child lookup by UPN (`GET /v1/children?upn=`, a SEND officer),
- one chronology page (`GET /v1/children/{id}/chronology?limit=50`),
- a practitioner's caseload list (`GET /v1/caseload`): a speech and language therapist on 40 children's teams
  (one of children / 40 such therapists), and the SENCO of a school of children / 2,000 pupils (500; first page
  of 50).

When PostgreSQL server binaries are present, the same rows are loaded into a local cluster (bench/scale_pg.py,
cached under bench/cache/ too) and the same figures are measured with caseload on PostgreSQL.

Requests go one at a time on a keep-alive connection; p50 and p99 over all of them. Reads are audited (an
insert and a commit with fsync per read; a caseload page writes one audit row per child listed), as in production.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from caseload.domain.search import fold
from tas_common.migrations import heads, upgrade
from tas_dev.testing import FAMILY, GIVEN, fictional_nhs_number, fictional_upn

from . import scale_pg
from .report import Figure, Report, at_most, summary
from .system import BenchSystem, migrations_dir, sqlite_url

CACHE = Path(__file__).resolve().parent / "cache"
SCHOOLS = 2000
LA_CODE = "999"
CASELOAD = 40
"""Children per practitioner: every child has one speech and language therapist, one of children / 40."""
TRUST = "bench-nhs-trust"
KINDS = (
    "concern_raised",
    "referral_submitted",
    "referral_accepted",
    "team_member_added",
    "plan_published",
    "review_scheduled",
    "contact_changed",
    "note_added",
)


def child_id(i: int) -> str:
    """Fictional UUID-shaped ids, increasing with i so that the generator appends to every index in order."""
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def school_urn(i: int) -> str:
    return str(100000 + i % SCHOOLS)


def _children(count: int) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(1)
    created = "2026-01-05 09:00:00.000000"
    for i in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        yield (
            child_id(i),
            fictional_upn(i, school=i // 1000 % 10000),
            fictional_nhs_number(i),
            given,
            family,
            date(2010 + i % 12, 1 + i % 12, 1 + i % 28).isoformat(),
            f"Y{1 + i % 11}",
            school_urn(i),
            LA_CODE,
            None,
            created,
            fold(given),
            fold(family),
        )


def _entries(children: int, per_child: int) -> Iterator[tuple[Any, ...]]:
    base = datetime(2025, 9, 1, 8, 0, 0)
    for i in range(children):
        cid = child_id(i)
        for j in range(per_child):
            at = (base + timedelta(days=3 * j, seconds=i % 86400)).strftime("%Y-%m-%d %H:%M:%S.%f")
            kind = KINDS[(i + j) % len(KINDS)]
            yield (
                f"{i:08x}-{j:04x}-4000-8000-000000000000",
                cid,
                at,
                kind,
                f"Fictional {kind.replace('_', ' ')} entry {j} for benchmark child {i}",
                "team",
                None,
                None,
                None,
            )


def practitioners(children: int) -> int:
    return max(1, children // CASELOAD)


def practitioner_sub(k: int) -> str:
    return f"bench-slt-{k}"


def _team_members(children: int) -> Iterator[tuple[Any, ...]]:
    """Child i's therapist is number i % P: each of the P therapists is on 40 teams, across many schools; each is
    the lead professional on its first child's team."""
    count = practitioners(children)
    joined = "2025-09-15 09:00:00.000000"
    for i in range(children):
        k = i % count
        yield (
            f"{i:08x}-0000-4000-9000-{i:012x}",
            child_id(i),
            practitioner_sub(k),
            f"Pat Therapist {k}",
            TRUST,
            "health",
            "speech and language therapist",
            "[]",
            i < count,
            "bench",
            joined,
        )


CHILD_COLUMNS = [
    "id",
    "upn",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "year_group",
    "school_urn",
    "la_code",
    "possible_duplicate_of",
    "created_at",
    "given_name_key",
    "family_name_key",
]
ENTRY_COLUMNS = ["id", "child_id", "at", "kind", "summary", "sensitivity", "ref_type", "ref_id", "source_event_id"]
MEMBER_COLUMNS = [
    "id",
    "child_id",
    "sub",
    "name",
    "org_id",
    "org_type",
    "role",
    "referral_ids",
    "lead",
    "added_by",
    "joined_at",
]


def tables(children: int, per_child: int) -> dict[str, tuple[list[str], Any]]:
    """Table → (columns, a function giving its rows): the same rows for SQLite and PostgreSQL."""
    return {
        "child": (CHILD_COLUMNS, lambda: _children(children)),
        "chronology_entry": (ENTRY_COLUMNS, lambda: _entries(children, per_child)),
        "team_member": (MEMBER_COLUMNS, lambda: _team_members(children)),
    }


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
        for table, (columns, rows) in tables(children, per_child).items():
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows()
            )
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


AUDIT_HEAD = "SELECT coalesce(max(seq), 0) FROM audit_log"
FORGET_AUDIT = "DELETE FROM audit_log WHERE seq > {}"
"""The cached databases are measured in place, and every timed read writes its audit rows (a caseload page one a
child listed: ~190,000 rows, ~270 MB a run). Kept, they piled up run after run: five runs left 943,000 rows and
SQLite's p99s twice what they are on the database as generated (bench/NOTES.md, issue 18 session 14). Each run
deletes the rows it wrote, so that every run measures the same database."""


@contextlib.contextmanager
def audit_rows_forgotten_sqlite(path: Path) -> Iterator[None]:
    """The audit rows written while inside are deleted after (the file keeps their pages for the next run's)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        head = int(conn.execute(AUDIT_HEAD).fetchall()[0][0])
    yield
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(FORGET_AUDIT.format(head))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def timed_gets(client: Any, requests: list[tuple[str, dict[str, str]]]) -> tuple[list[float], int]:
    latencies, errors = [], 0
    for path, headers in requests:
        t0 = time.perf_counter()
        response = client.get(path, headers=headers)
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200 or not response.json().get("items"):
            errors += 1
    return latencies, errors


SERIES = ("child by UPN", "chronology page", "caseload list, therapist", "caseload list, SENCO")


def warm(*paths: Path) -> tuple[float, int]:
    """Read the database's files once (every regular file under each path), so that the timed lookups find them in
    the page cache, as a service in use holds its working set. Measured cold, the lookups time the disk: this VM
    pages out memory left untouched for 60 s (DAMON `pageout`: /sys/kernel/mm/damon/admin), so the 1M-children
    files, idle through the ten minutes of intake and e2e before this benchmark, came back from disk and every
    percentile doubled (bench/NOTES.md, session 8). Returns (seconds, MB read)."""
    t0 = time.monotonic()
    read = 0
    for root in paths:
        for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            with open(path, "rb", buffering=0) as fh:
                while chunk := fh.read(8 << 20):
                    read += len(chunk)
    return time.monotonic() - t0, read >> 20


def measure(tmp: Path, url: str, *, children: int, picks: list[int]) -> dict[str, tuple[list[float], int]]:
    """Caseload on `url` under uvicorn; each series warmed up with its first 50 requests, then timed."""
    system = BenchSystem(tmp, services=("caseload",), database_urls={"caseload": url})
    rng = random.Random(11)
    results: dict[str, tuple[list[float], int]] = {}
    with system:
        la = system.token("send_officer", "local_authority", la_code=LA_CODE, org_id="la-999")
        therapists = {
            k: system.token("slt", "health", sub=practitioner_sub(k), org_id=TRUST)
            for k in {rng.randrange(practitioners(children)) for _ in picks}
        }
        therapist_ks = list(therapists)
        sencos = {
            urn: system.token(
                "senco", "school", sub=f"bench-senco-{urn}", org_id=f"bench-school-{urn}", school_urns=[urn]
            )
            for urn in {school_urn(i) for i in picks}
        }
        series = {
            "child by UPN": [(f"/v1/children?upn={fictional_upn(i, school=i // 1000 % 10000)}", la) for i in picks],
            "chronology page": [(f"/v1/children/{child_id(i)}/chronology?limit=50", la) for i in picks],
            "caseload list, therapist": [
                ("/v1/caseload?limit=50", therapists[therapist_ks[n % len(therapist_ks)]]) for n in range(len(picks))
            ],
            "caseload list, SENCO": [("/v1/caseload?limit=50", sencos[school_urn(i)]) for i in picks],
        }
        with system.client("caseload") as client:
            for name in SERIES:
                timed_gets(client, series[name][:50])  # warm-up
                results[name] = timed_gets(client, series[name][50:])
    return results


def _figures(
    report: Report, bench: str, label: str, results: dict[str, tuple[list[float], int]], children: int
) -> dict[str, Any]:
    targets = {"child by UPN": 5, "chronology page": 20, "caseload list, therapist": 20, "caseload list, SENCO": 20}
    notes = {
        "caseload list, therapist": f"GET /v1/caseload: {CASELOAD} children on the therapist's teams",
        "caseload list, SENCO": f"GET /v1/caseload: first 50 of the school's {children // SCHOOLS:,} children",
    }
    out: dict[str, Any] = {}
    for name in SERIES:
        latencies, errors = results[name]
        report.latencies[f"scale{label}: {name}"] = latencies
        s = summary(latencies)
        out[name] = {**s, "errors": errors}
        report.add(
            Figure(
                bench,
                f"{name} p50",
                s["p50"],
                "ms",
                note="; ".join(filter(None, (f"{len(latencies)} requests, {errors} errors", notes.get(name)))),
            ),
            Figure(bench, f"{name} p99", s["p99"], "ms", f"< {targets[name]} ms", at_most(s["p99"], targets[name])),
        )
    return out


def run(report: Report, *, tmp: Path, quick: bool) -> None:
    children, per_child, samples = (10_000, 10, 300) if quick else (1_000_000, 10, 2000)
    sizes = f"{children:,} children, {children * per_child:,} entries"
    db_path, generated = cached_database(children, per_child)
    details: dict[str, Any] = {
        "children": children,
        "entries": children * per_child,
        "team_members": children,
        "db": str(db_path),
        "generated_s": generated,
        "db_mb": round(db_path.stat().st_size / 1_048_576),
    }
    rng = random.Random(7)
    picks = [rng.randrange(children) for _ in range(samples + 50)]
    wal = Path(f"{db_path}-wal")
    warmed = warm(db_path, *([wal] if wal.exists() else []))
    with audit_rows_forgotten_sqlite(db_path):
        results = measure(tmp / "sqlite", sqlite_url(db_path), children=children, picks=picks)
    details["sqlite_ms"] = _figures(report, f"scale ({sizes}, SQLite)", "", results, children)
    report.notes.append(
        f"Scale database: {details['db_mb']:,} MB, "
        + (f"generated in {generated:.0f} s" if generated is not None else "reused from the cache")
        + f" ({db_path.name}); its files read once before the timed requests ({warmed[1]:,} MB in {warmed[0]:.1f} s),"
        + " so that they are timed from the page cache, as a service in use holds them."
    )
    report.details["scale"] = details
    pg = scale_pg.cached_cluster(children, per_child, tables(children, per_child), CACHE)
    if pg is None:
        report.add(Figure(f"scale ({sizes}, postgresql)", "all figures", "not run (no PostgreSQL)"))
        report.notes.append("PostgreSQL figures: not run (no PostgreSQL server binaries found).")
        return
    cluster, loaded = pg
    pg_warmed = warm(cluster.data / "base")
    with cluster:
        version = cluster.version()
        with scale_pg.audit_rows_forgotten(cluster, head=AUDIT_HEAD, forget=FORGET_AUDIT):
            results = measure(tmp / "postgresql", cluster.url(), children=children, picks=picks)
        details["pg_mb"] = scale_pg.database_mb(cluster)
    details.update({"pg_loaded_s": loaded, "pg_data": str(cluster.data), "pg_version": version})
    details["postgresql_ms"] = _figures(
        report, f"scale ({sizes}, postgresql {version})", " (postgresql)", results, children
    )
    report.notes.append(
        f"PostgreSQL {version} (fsync on, durable defaults): {details['pg_mb']:,} MB, "
        + (f"loaded in {loaded:.0f} s" if loaded is not None else "reused from the cache")
        + f" ({cluster.data.name}); its data files read once before the timed requests ({pg_warmed[1]:,} MB in"
        + f" {pg_warmed[0]:.1f} s)."
    )
