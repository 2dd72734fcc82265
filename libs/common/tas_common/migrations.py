"""Alembic glue shared by the services' migration environments, `tas migrate` and the drift test.

Revisions are named `YYYY-MM-DD_NNNN_slug` (pass `--rev-id NNNN`), constraints follow db.NAMING_CONVENTION, and
SQLite runs in batch mode so that ALTERs work there as on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command, context, op
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from .tables import CREATE_AUDIT_HEAD_LOCKED, DROP_AUDIT_HEAD_LOCKED

FILE_TEMPLATE = "%%(year)d-%%(month).2d-%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(script_location: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    return cfg


def upgrade(script_location: Path, url: str, revision: str = "head") -> None:
    """Synchronous: run it from a thread when an event loop is already running."""
    command.upgrade(alembic_config(script_location, url), revision)


def downgrade(script_location: Path, url: str, revision: str) -> None:
    command.downgrade(alembic_config(script_location, url), revision)


def heads(script_location: Path) -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(script_location, "sqlite://")).get_heads())


def _configure(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    async with engine.connect() as connection:
        await connection.run_sync(_configure, metadata)
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """Body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no sqlalchemy.url in the configuration")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(url, metadata))


def drift(url: str, metadata: MetaData) -> list[Any]:
    """Differences between a migrated database and the models: empty when they agree."""

    async def compare() -> list[Any]:
        engine = create_async_engine(url, poolclass=pool.NullPool, hide_parameters=True)
        async with engine.connect() as connection:
            diff: list[Any] = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
        await engine.dispose()
        return diff

    return asyncio.run(compare())


def create_audit_head_locked() -> None:
    """In a service's migration: on PostgreSQL, the function `tas_audit_head_locked()` that takes the audit chain's
    advisory lock and then reads the chain's head in a query of its own (a snapshot taken after the lock), so that an
    audited unit of work appends its row in one round trip (tas_common.audit, tas_common.tables). Nothing on SQLite,
    whose write lock already orders the appends."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_AUDIT_HEAD_LOCKED)


def drop_audit_head_locked() -> None:
    """The downgrade of `create_audit_head_locked`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_AUDIT_HEAD_LOCKED)
