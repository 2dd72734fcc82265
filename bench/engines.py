"""The two database engines the intake and end-to-end benchmarks run on, side by side in one `make bench` run.

- SQLite: each service's own file in the benchmark's temporary directory (WAL, synchronous=FULL), as `tas up`.
- PostgreSQL, the production engine: a throwaway cluster started for the benchmark as chaos/cluster.py's
  `Postgres` makes one (the repo's deploy/postgres init script: a role and a database per service; durable:
  fsync and synchronous_commit on; 127.0.0.1 on a free port, trust authentication, the postgres user when root)
  and deleted afterwards. No server binaries (scale_pg.find_bindir finds none) → the PostgreSQL half reports
  "not run (no PostgreSQL)".

Every figure of a benchmark run on an engine is labelled with it ("intake (PostgreSQL)"), and its ratios are
computed against baselines run on the same engine.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from chaos.cluster import Postgres

    from .report import Report

SQLITE, POSTGRESQL = "SQLite", "PostgreSQL"
ENGINES = (SQLITE, POSTGRESQL)
CHOICES = {"sqlite": SQLITE, "postgresql": POSTGRESQL}
"""`python -m bench.run --engine NAME` → the label its figures carry."""


def label(bench: str, engine: str) -> str:
    return f"{bench} ({engine})"


@contextmanager
def postgres(report: Report | None = None) -> Iterator[Postgres | None]:
    """A started throwaway PostgreSQL cluster (stopped and deleted on exit), or None without server binaries; its
    server's version goes into the report's machine description."""
    from chaos.cluster import Postgres

    from .scale_pg import find_bindir

    if find_bindir() is None:
        yield None
        return
    cluster = Postgres()
    try:
        cluster.start()
        if report is not None:
            report.machine["postgresql"] = server_version(cluster)
        yield cluster
    finally:
        cluster.stop()


def server_version(cluster: Postgres) -> str:
    """The server's version from `postgres --version` ("postgres (PostgreSQL) 15.18 (Debian ...)" → "15.18")."""
    assert cluster.bindir is not None
    out = subprocess.run([str(cluster.bindir / "postgres"), "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"\(PostgreSQL\) ([0-9.]+)", out.stdout)
    return found.group(1) if found else "?"


def admin_dsn(cluster: Postgres, database: str = "postgres") -> str:
    """asyncpg's DSN for the superuser (trust authentication on 127.0.0.1)."""
    return f"postgresql://postgres@127.0.0.1:{cluster.port}/{database}"


def create_database(cluster: Postgres, name: str, owner: str = "postgres") -> str:
    """A new empty database; returns its SQLAlchemy URL (asyncpg) for `owner`."""
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(admin_dsn(cluster))
        try:
            await conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        finally:
            await conn.close()

    asyncio.run(create())
    if owner == "postgres":
        return f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/{name}"
    return f"postgresql+asyncpg://{owner}:change-me-{owner}@127.0.0.1:{cluster.port}/{name}"


def driver_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as the raw driver's (asyncpg's) DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def scalar(url: str, sql: str) -> Any:
    """One value read from the database at a service's URL (SQLite file read-only, or PostgreSQL); None when the
    database cannot answer."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                return conn.execute(sql).fetchone()[0]
        except sqlite3.Error:
            return None
    import asyncpg

    async def fetch() -> Any:
        conn = await asyncpg.connect(driver_dsn(url), timeout=10)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    try:
        return asyncio.run(fetch())
    except (OSError, asyncpg.PostgresError):
        return None


def server_pids(cluster: Postgres) -> list[int]:
    """The postmaster and every process it has now (backends, WAL writer, checkpointer, ...)."""
    import psutil

    postmaster = _postmaster(cluster)
    if postmaster is None:
        return []
    try:
        return [postmaster, *(child.pid for child in psutil.Process(postmaster).children(recursive=True))]
    except psutil.Error:
        return []


def _postmaster(cluster: Postgres) -> int | None:
    assert cluster.workdir is not None
    try:
        return int((cluster.workdir / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


PG_CPU = "postgresql"


def cpu_seconds(pids: dict[str, int], pg: Postgres | None = None) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each named process; with `pg`, also each of its server
    processes as "postgresql <pid>" (its backends do the work SQLite does inside the services). The postmaster's
    figure includes its ended children's (a backend that closed: a pool gave its connection back), which the kernel
    adds to the parent when it reaps them."""
    import psutil  # bench.lock's: the chaos suite and the tests import bench from make test's environment

    postmaster = _postmaster(pg) if pg is not None else None
    if pg is not None:
        pids = pids | {f"{PG_CPU} {pid}": pid for pid in server_pids(pg)}
    used = {}
    for name, pid in pids.items():
        try:
            times = psutil.Process(pid).cpu_times()
            used[name] = times.user + times.system
            if pid == postmaster:
                used[name] += times.children_user + times.children_system
        except psutil.Error:
            continue
    return used


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each part used between two `cpu_seconds` readings, PostgreSQL's processes summed as
    "postgresql": all of them at the end less all of them at the start, so a backend that ended in between (its
    CPU now in the postmaster's children's) counts only what it used in between, and one started in between whole."""
    used: dict[str, float] = {}
    for key, seconds in after.items():
        if key.startswith(f"{PG_CPU} "):
            used[PG_CPU] = used.get(PG_CPU, 0.0) + seconds
        elif key in before:
            used[key] = seconds - before[key]
    if PG_CPU in used:
        used[PG_CPU] -= sum(seconds for key, seconds in before.items() if key.startswith(f"{PG_CPU} "))
    return used
