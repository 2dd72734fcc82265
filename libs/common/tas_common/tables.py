"""Infrastructure tables that every service database holds: outbox, processed events, idempotency keys, audit.

They are defined once here; `attach_infra(metadata)` copies them into a service's metadata so that its Alembic
migrations and drift test cover them. Statements built on these Table objects run against any service database.
`table_of(Model)` gives a service's own table model as such a Table.
"""

from __future__ import annotations

from sqlalchemy import (
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

INFRA_TABLES = (outbox, processed_event, idempotency_key, audit_log)


def attach_infra(metadata: MetaData) -> None:
    for table in INFRA_TABLES:
        if table.name not in metadata.tables:
            table.to_metadata(metadata)
