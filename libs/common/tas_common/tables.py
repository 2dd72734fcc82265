"""Infrastructure tables that every service database holds: outbox, processed events, idempotency keys, audit.

They are defined once here; `attach_infra(metadata)` copies them into a service's metadata so that its Alembic
migrations and drift test cover them. Statements built on these Table objects run against any service database.
`table_of(Model)` gives a service's own table model as such a Table.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
    inspect,
    text,
)
from sqlmodel import SQLModel

from .db import NAMING_CONVENTION


def table_of(model: type[SQLModel]) -> Table:
    """The Core `Table` of a table model, for statements built on its columns (`table.c.x`), typed: SQLModel sets
    `Model.__table__` when the class is created but does not declare it."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


infra_metadata = MetaData(naming_convention=NAMING_CONVENTION)

outbox = Table(
    "outbox",
    infra_metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("subject", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", Text, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", String(500), nullable=True),
)
Index("ix_outbox_unsent", outbox.c.seq, sqlite_where=text("sent_at IS NULL"), postgresql_where=text("sent_at IS NULL"))

processed_event = Table(
    "processed_event",
    infra_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)

idempotency_key = Table(
    "idempotency_key",
    infra_metadata,
    Column("principal", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("route", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    infra_metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_org", String(200), nullable=False),
    Column("actor_org_type", String(40), nullable=False),
    Column("action", String(60), nullable=False),
    Column("resource_type", String(60), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("child_id", String(36), nullable=True, index=True),
    Column("reason", String(500), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

AUDIT_CHAIN_LOCK_KEY = 727401
"""PostgreSQL: the advisory lock (transaction-scoped) that lets one audit chain head be appended to at a time."""
CREATE_AUDIT_HEAD_LOCKED = f"""\
CREATE OR REPLACE FUNCTION tas_audit_head_locked() RETURNS text LANGUAGE sql VOLATILE AS $$
SELECT pg_advisory_xact_lock({AUDIT_CHAIN_LOCK_KEY});
SELECT hash::text FROM audit_log ORDER BY seq DESC LIMIT 1
$$"""
"""PostgreSQL: takes the audit chain's lock, then reads the chain's head (NULL: empty) in a query of its own. A
VOLATILE SQL function takes a fresh snapshot for each of its queries (READ COMMITTED), so the head it reads is the
one every earlier holder of the lock committed, even when it is called inside a larger statement whose own snapshot
predates the lock: one round trip does what `SELECT pg_advisory_xact_lock(…)` then a read of the head did in two
(tas_common.audit). Each service's migrations create it; `create_all` does too (tests), after `audit_log`."""
DROP_AUDIT_HEAD_LOCKED = "DROP FUNCTION IF EXISTS tas_audit_head_locked()"


def _with_head_locked(table: Table) -> Table:
    """`create_all`/`drop_all` of `table` (an `audit_log`) create/drop `tas_audit_head_locked()` on PostgreSQL."""
    for when, sql in (("after_create", CREATE_AUDIT_HEAD_LOCKED), ("before_drop", DROP_AUDIT_HEAD_LOCKED)):
        event.listen(table, when, DDL(sql).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]
    return table


_with_head_locked(audit_log)
INFRA_TABLES = (outbox, processed_event, idempotency_key, audit_log)


def attach_infra(metadata: MetaData) -> None:
    for table in INFRA_TABLES:
        if table.name not in metadata.tables:
            copy = table.to_metadata(metadata)  # a copy has none of the table's event listeners
            if table is audit_log:
                _with_head_locked(copy)
