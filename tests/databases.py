"""The databases under test: SQLite files by default, or with TAS_TEST_DATABASE=postgresql fresh `test_<uuid>`
databases on the TAS_TEST_PG_URL server, dropped after the test.

`migrate(service, url)` brings a fresh database to the service's Alembic head by copying a template that the real
migrations built once per session (SQLite: a copy of the migrated file; PostgreSQL: CREATE DATABASE ... TEMPLATE),
which takes milliseconds instead of the migrations' few hundred. A database that already holds something is
migrated for real. The drift and reversibility tests (tests/common/test_migrations.py, each service's) call
Alembic themselves."""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.engine import make_url

from tas_common.db import Database
from tas_common.migrations import upgrade
from tas_dev.natsserver import run_in_thread

ON_POSTGRES = os.environ.get("TAS_TEST_DATABASE", "sqlite").lower() in ("postgresql", "postgres", "pg")
_pg_created: dict[tuple[str, str], str] = {}
_pg_long_lived: dict[tuple[str, str], str] = {}
_pg_leased: dict[tuple[str, str], tuple[str, str]] = {}
"""(tmp_path, name) → (service, database) lent from the pool of migrated databases to the running test."""
_pg_untouched: set[str] = set()
"""Databases made by fresh_database_url that nothing has written to yet: migrate() may replace them by a copy."""


def migrations_dir(service: str) -> Path:
    return Path(importlib.import_module(service).__file__).parent / "db" / "migrations"  # type: ignore[arg-type]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _pg_url(database: str | None = None) -> str:
    url = os.environ.get("TAS_TEST_PG_URL")
    if not url:
        raise RuntimeError("TAS_TEST_DATABASE=postgresql needs TAS_TEST_PG_URL (see .ci/with-postgres.sh)")
    parsed = make_url(url) if database is None else make_url(url).set(database=database)
    return parsed.render_as_string(hide_password=False)


def _pg_admin(*statements: str) -> None:
    """Run statements on the server's maintenance database (from a thread: callers may be inside a loop)."""
    import asyncpg

    dsn = make_url(_pg_url()).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    run_in_thread(run)


def _pg_drop(database: str) -> None:
    """DROP DATABASE … WITH (FORCE) ends the tests' own sessions on it, but is refused while an autovacuum worker is
    on it (not ours to end: "must be a member of the role whose process is being terminated", a teardown error seen
    in PostgreSQL runs). The worker is done with a test's small database within moments: ask again."""
    import asyncpg

    for attempt in range(50):
        try:
            _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if attempt == 49:
                raise
            time.sleep(0.1)


def fresh_database_url(name: str, tmp_path: Path, *, per_test: bool = True) -> str:
    """An empty database for this test: `<tmp_path>/<name>.db`, or on PostgreSQL a new `test_<uuid>` database
    (dropped after the test). The same name in the same test gives the same database, as a file path would.
    A module-scoped fixture passes `per_test=False` and drops it itself with `drop_database`."""
    if not ON_POSTGRES:
        return sqlite_url(tmp_path / f"{name}.db")
    key = (str(tmp_path), name)
    if key in _pg_leased:
        return _pg_url(_pg_leased[key][1])
    created = _pg_created if per_test else _pg_long_lived
    if key not in created:
        database = f"test_{uuid.uuid4().hex}"
        _pg_admin(f'CREATE DATABASE "{database}"')
        created[key] = database
        _pg_untouched.add(database)
    return _pg_url(created[key])


def drop_database(url: str) -> None:
    """Drop a database made with `per_test=False` (SQLite files go with their temporary directory)."""
    if not ON_POSTGRES:
        return
    database = make_url(url).database
    for key, name in list(_pg_long_lived.items()):
        if name == database:
            del _pg_long_lived[key]
    for key, (_, name) in list(_pg_leased.items()):  # a pooled one dropped by its test: not given back
        if name == database:
            del _pg_leased[key]
    _pg_untouched.discard(str(database))
    _pg_drop(database)


def drop_test_databases() -> None:
    """Drop the per-test PostgreSQL databases and give the migrated ones back to the pool (after every test)."""
    if _pg_leased:
        lent = list(_pg_leased.values())
        _pg_leased.clear()
        _give_back(lent)
    while _pg_created:
        _, database = _pg_created.popitem()
        _pg_untouched.discard(database)
        _pg_drop(database)


# --- migrated templates -------------------------------------------------------------------------------------

_templates: dict[tuple[str, str], str] = {}
"""(backend, service) → a migrated SQLite file, or the name of a migrated PostgreSQL database, built once per
session (a PostgreSQL run still migrates the odd SQLite file)."""
_template_dir: Path | None = None
_template_lock = threading.Lock()


def _template(service: str, backend: str) -> str:
    global _template_dir
    with _template_lock:
        if (backend, service) in _templates:
            return _templates[backend, service]
        if backend == "postgresql":
            database = f"tmpl_{service}_{uuid.uuid4().hex[:12]}"
            _pg_admin(f'CREATE DATABASE "{database}"')
            upgrade(migrations_dir(service), _pg_url(database))
            _templates[backend, service] = database
        else:
            _template_dir = _template_dir or Path(tempfile.mkdtemp(prefix="tas-test-templates-"))
            path = _template_dir / f"{service}.db"
            upgrade(migrations_dir(service), sqlite_url(path))
            with sqlite3.connect(path) as conn:  # one self-contained file: WAL folded in
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
            _templates[backend, service] = str(path)
        return _templates[backend, service]


def _migrate_from_template(service: str, url: str) -> bool:
    """Make the database at `url` a copy of the service's template, if it is fresh; False if it is not."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(str(parsed.database))
        if not parsed.database or parsed.database == ":memory:" or (target.exists() and target.stat().st_size):
            return False
        template = _template(service, "sqlite")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        return True
    database = str(parsed.database)
    if database not in _pg_untouched:
        return False
    template = _template(service, "postgresql")
    _pg_admin(f'DROP DATABASE IF EXISTS "{database}"', f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
    _pg_untouched.discard(database)
    return True


def migrate_now(service: str, url: str) -> None:
    """Synchronous: the database at `url` at the service's head, from the template when it is fresh."""
    if ON_POSTGRES and make_url(url).database in {database for _, database in _pg_leased.values()}:
        return  # a database of the pool: migrated already
    if not _migrate_from_template(service, url):
        upgrade(migrations_dir(service), url)
        _pg_untouched.discard(str(make_url(url).database))


async def migrate(service: str, url: str) -> None:
    await asyncio.to_thread(migrate_now, service, url)


async def with_tables(url: str, metadata: MetaData) -> Database:
    """A `Database` at `url` with `metadata`'s tables created, for tests of tas_common's parts that need tables of
    their own rather than a service's migrations. The caller disposes of it."""
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return database


def drop_templates() -> None:
    """At the end of the session."""
    for databases in _pool.values():
        while databases:
            _pg_drop(databases.pop())
    for (backend, service), template in list(_templates.items()):
        if backend == "postgresql":
            _pg_drop(template)
        del _templates[backend, service]
    if _template_dir is not None:
        shutil.rmtree(_template_dir, ignore_errors=True)


# --- PostgreSQL: a pool of migrated databases, reset between tests ------------------------------------------
# CREATE DATABASE costs about as much as running the migrations on PostgreSQL (both ~0.3-0.9 s), so a test's
# services do not get new databases: they borrow migrated ones and give them back, reset to the template's
# content (every table emptied and the migrations' seed rows put back, sequences where the template left them).
# A database whose tables or Alembic revision no longer match the template's is dropped instead of reused.


@dataclass
class _Seed:
    tables: list[str]
    """Every table but alembic_version, parents before children (foreign keys)."""
    rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]
    sequences: list[tuple[str, int | None]]
    revision: list[str]


_pool: dict[str, list[str]] = {}
_seeds: dict[str, _Seed] = {}


def _dsn(database: str) -> str:
    return make_url(_pg_url(database)).set(drivername="postgresql").render_as_string(hide_password=False)


async def _capture(database: str) -> _Seed:
    import asyncpg

    conn = await asyncpg.connect(_dsn(database))
    try:
        names = [
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        edges = await conn.fetch(
            "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
        )
        parents = {name: {e["parent"].strip('"') for e in edges if e["child"].strip('"') == name} for name in names}
        ordered: list[str] = []
        while len(ordered) < len(names):  # parents first
            ready = [n for n in names if n not in ordered and parents[n] <= {*ordered, n}]
            ordered += ready or [n for n in names if n not in ordered]
        tables = [name for name in ordered if name != "alembic_version"]
        rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        for table in tables:
            records = await conn.fetch(f'SELECT * FROM "{table}"')
            if records:
                rows[table] = (list(records[0].keys()), [tuple(r.values()) for r in records])
        sequences = [
            (r["sequencename"], r["last_value"])
            for r in await conn.fetch("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        ]
        revision = sorted(r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version"))
        return _Seed(tables, rows, sequences, revision)
    finally:
        await conn.close()


async def _reset(database: str, seed: _Seed) -> bool:
    """Back to the template's content; False when the database no longer has the template's shape."""
    import asyncpg

    try:
        conn = await asyncpg.connect(_dsn(database))
    except asyncpg.InvalidCatalogNameError:  # dropped meanwhile
        return False
    try:
        names = {
            r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        revision = sorted(r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version"))
        if names != {*seed.tables, "alembic_version"} or revision != seed.revision:
            return False
        async with conn.transaction():  # DELETE, children first: for a few rows far cheaper than TRUNCATE's new files
            for table in reversed(seed.tables):
                await conn.execute(f'DELETE FROM "{table}"')
            for table in seed.tables:
                if table in seed.rows:
                    columns, records = seed.rows[table]
                    await conn.copy_records_to_table(table, records=records, columns=columns)
            for sequence, last_value in seed.sequences:
                if last_value is None:
                    await conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')
                else:
                    await conn.execute(f"SELECT setval('\"{sequence}\"', {int(last_value)}, true)")
        return True
    finally:
        await conn.close()


def migrated_database_url(service: str, tmp_path: Path) -> str:
    """A migrated database for this test's `service` (PostgreSQL: lent from the pool until the test ends;
    SQLite: a copy of the template). The same service in the same test gives the same database. Callable from
    inside an event loop: the work runs on a thread of its own (Alembic runs a loop of its own)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_migrated_database_url, service, tmp_path).result()


def _migrated_database_url(service: str, tmp_path: Path) -> str:
    if not ON_POSTGRES:
        url = fresh_database_url(service, tmp_path)
        migrate_now(service, url)
        return url
    key = (str(tmp_path), service)
    if key not in _pg_leased and key not in _pg_created:
        template = _template(service, "postgresql")
        if service not in _seeds:
            _seeds[service] = run_in_thread(lambda: _capture(template))
        free = _pool.setdefault(service, [])
        if free:
            database = free.pop()
        else:
            database = f"pool_{service}_{uuid.uuid4().hex[:12]}"
            _pg_admin(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        _pg_leased[key] = (service, database)
    return fresh_database_url(service, tmp_path)


def _give_back(lent: list[tuple[str, str]]) -> None:
    """Reset the test's pooled databases (all at once) and put them back; drop one whose shape changed."""
    names = ", ".join(f"'{database}'" for _, database in lent)
    # only the tests' own connections: an autovacuum worker on one of these databases belongs to the superuser, and
    # terminating it is refused ("must be a superuser to terminate superuser process")
    _pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname IN ({names}) AND usename = current_user AND pid <> pg_backend_pid()"
    )

    async def reset_all() -> list[bool]:
        return list(await asyncio.gather(*(_reset(database, _seeds[service]) for service, database in lent)))

    for (service, database), ok in zip(lent, run_in_thread(reset_all), strict=True):
        if ok:
            _pool.setdefault(service, []).append(database)
        else:
            _pg_drop(database)
