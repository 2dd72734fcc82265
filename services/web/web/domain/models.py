"""The web service's only table: server-side sessions (short-lived; no domain data)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text

from tas_common.db import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

web_session = Table(
    "web_session",
    metadata,
    Column("id_hash", String(64), primary_key=True, comment="SHA-256 of the cookie value (the value is never stored)"),
    Column("csrf", String(64), nullable=False),
    Column("data", Text, nullable=False, server_default="{}", comment="JSON: the family token, its child ids, ..."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)
Index("ix_web_session_last_seen_at", web_session.c.last_seen_at)
