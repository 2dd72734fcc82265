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
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from tas_common.migrations import upgrade
from tas_dev.natsserver import run_in_thread

ON_POSTGRES = os.environ.get("TAS_TEST_DATABASE", "sqlite").lower() in ("postgresql", "postgres", "pg")
_pg_created: dict[tuple[str, str], str] = {}
_pg_long_lived: dict[tuple[str, str], str] = {}
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


def fresh_database_url(name: str, tmp_path: Path, *, per_test: bool = True) -> str:
    """An empty database for this test: `<tmp_path>/<name>.db`, or on PostgreSQL a new `test_<uuid>` database
    (dropped after the test). The same name in the same test gives the same database, as a file path would.
    A module-scoped fixture passes `per_test=False` and drops it itself with `drop_database`."""
    if not ON_POSTGRES:
        return sqlite_url(tmp_path / f"{name}.db")
    key = (str(tmp_path), name)
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
    _pg_untouched.discard(str(database))
    _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def drop_test_databases() -> None:
    """Drop the per-test PostgreSQL databases (after every test)."""
    while _pg_created:
        _, database = _pg_created.popitem()
        _pg_untouched.discard(database)
        _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


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
    if not _migrate_from_template(service, url):
        upgrade(migrations_dir(service), url)
        _pg_untouched.discard(str(make_url(url).database))


async def migrate(service: str, url: str) -> None:
    await asyncio.to_thread(migrate_now, service, url)


def drop_templates() -> None:
    """At the end of the session."""
    for (backend, service), template in list(_templates.items()):
        if backend == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        del _templates[backend, service]
    if _template_dir is not None:
        shutil.rmtree(_template_dir, ignore_errors=True)
