"""The scale benchmark's PostgreSQL side: a local cluster holding the same generated caseload data as the SQLite
database, cached under bench/cache/ so that a second `make bench` does not reload 10M rows.

- Server binaries are found as .ci/with-postgres.sh finds them (`pg_config --bindir`, /usr/lib/postgresql/*/bin,
  the PATH); none found → the benchmark reports "not run (no PostgreSQL)".
- The cluster's data directory is bench/cache/pg-caseload-<migration head>-<children>x<per child>/; it is built
  in a `.partial` directory (initdb, caseload's Alembic migrations as the role `tas`, the rows loaded with COPY
  through asyncpg with secondary indexes and foreign-key triggers off, indexes rebuilt, VACUUM ANALYZE), stopped
  cleanly and renamed when complete; another head or size makes a new one (stale ones are deleted).
- It runs with PostgreSQL's durable defaults (fsync, synchronous_commit and full_page_writes ON), listening on
  127.0.0.1 on a free port only, with trust authentication: the data is fictional and the cluster local.
- As root the server runs as the `postgres` user (initdb and postgres refuse root), as in .ci/with-postgres.sh.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import pwd
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tas_common.migrations import heads, upgrade
from tas_dev.testing import free_port

from .system import migrations_dir

Rows = Callable[[], Iterator[tuple[Any, ...]]]
SETTINGS = ("shared_buffers=512MB", "max_connections=100", "TimeZone=UTC", "listen_addresses=127.0.0.1")
"""Server settings on the command line; everything else (fsync, synchronous_commit, ...) is PostgreSQL's default."""


def find_bindir() -> Path | None:
    """The directory of initdb and pg_ctl, as .ci/with-postgres.sh looks for it."""
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in versions:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", "postgres"], check=True)
    shutil.chown(path, user="postgres")


@dataclass
class PgCluster:
    """A running cluster on a data directory; `url(database, user)` for SQLAlchemy (asyncpg)."""

    bindir: Path
    data: Path
    port: int = 0

    def start(self) -> PgCluster:
        self.port = free_port()
        log = self.data / "bench-server.log"
        options = " ".join(f"-c {s}" for s in SETTINGS) + f" -p {self.port} -k {self.data}"
        subprocess.run(
            _as_server_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "120",
                    "start",
                    "-o",
                    options,
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return self

    def stop(self) -> None:
        subprocess.run(
            _as_server_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def url(self, database: str = "caseload", user: str = "tas") -> str:
        return f"postgresql+asyncpg://{user}:{user}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "caseload", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def version(self) -> str:
        out = subprocess.run(
            [str(self.bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout  # no version is reported as "?"
        found = re.search(r"\(PostgreSQL\) ([0-9.]+)", out)  # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        return found.group(1) if found else "?"

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


async def _csv_chunks(rows: Iterable[tuple[Any, ...]], chunk: int = 20_000) -> AsyncIterator[bytes]:
    """Rows as CSV (None → empty unquoted field = NULL), a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if count == chunk:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            count = 0
            await asyncio.sleep(0)
    if count:
        yield buffer.getvalue().encode()


async def _load(cluster: PgCluster, tables: dict[str, tuple[list[str], Rows]]) -> None:
    import asyncpg

    admin = await asyncpg.connect(cluster.dsn("postgres"))
    try:
        await admin.execute("CREATE ROLE tas LOGIN PASSWORD 'tas'")
        await admin.execute("CREATE DATABASE caseload OWNER tas")
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, migrations_dir("caseload"), cluster.url())
    conn = await asyncpg.connect(cluster.dsn())
    try:
        await conn.execute("SET session_replication_role = replica")  # no foreign-key triggers while loading
        await conn.execute("SET maintenance_work_mem = '1GB'")
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            list(tables),
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        for table, (columns, rows) in tables.items():
            await conn.copy_to_table(table, source=_csv_chunks(rows()), columns=columns, format="csv")
        for index in indexes:
            await conn.execute(index["indexdef"])
        for table in tables:
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()


def cached_cluster(
    children: int, per_child: int, tables: dict[str, tuple[list[str], Rows]], cache: Path
) -> tuple[PgCluster, float | None] | None:
    """The cluster holding this data (built and loaded now if not cached: seconds taken), not started; None
    without PostgreSQL server binaries."""
    bindir = find_bindir()
    if bindir is None:
        return None
    head = "-".join(sorted(heads(migrations_dir("caseload"))))
    data = cache / f"pg-caseload-{head}-{children}x{per_child}"
    if data.exists():
        return PgCluster(bindir, data), None
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"pg-caseload-*-{children}x{per_child}*"):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    t0 = time.monotonic()
    partial = cache / f"{data.name}.partial"
    partial.mkdir()
    _give_to_server_user(partial)
    subprocess.run(
        _as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(partial),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with PgCluster(bindir, partial) as cluster:
        asyncio.run(_load(cluster, tables))
    partial.rename(data)
    return PgCluster(bindir, data), time.monotonic() - t0


def _on_caseload(cluster: PgCluster, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """`await work(connection)` on the cluster's caseload database, as the server's superuser."""
    import asyncpg

    async def run() -> Any:
        conn = await asyncpg.connect(cluster.dsn())
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def database_mb(cluster: PgCluster) -> int:
    return int(_on_caseload(cluster, lambda conn: conn.fetchval("SELECT pg_database_size('caseload')"))) // 1_048_576


@contextlib.contextmanager
def audit_rows_forgotten(cluster: PgCluster, *, head: str, forget: str) -> Iterator[None]:
    """scale.audit_rows_forgotten_sqlite on the cluster's caseload database; then VACUUM, so that the next run's
    rows reuse the space."""
    seq = int(_on_caseload(cluster, lambda conn: conn.fetchval(head)))
    yield

    async def forget_then_vacuum(conn: Any) -> None:
        await conn.execute(forget.format(seq))
        await conn.execute("VACUUM audit_log")  # the simple protocol: VACUUM runs outside a transaction block

    _on_caseload(cluster, forget_then_vacuum)
