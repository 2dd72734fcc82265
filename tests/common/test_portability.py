"""Models that work on SQLite must work on PostgreSQL too: asyncpg refuses an aware datetime (utcnow()) in a
`timestamp without time zone` column, which SQLite would have stored without complaint."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import DateTime

SERVICES = ("referral", "caseload", "notify", "insights")


@pytest.mark.parametrize("service", SERVICES)
def test_every_datetime_column_is_timezone_aware(service):
    metadata = importlib.import_module(f"{service}.domain.models").metadata
    naive = [
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime) and not column.type.timezone
    ]
    assert naive == [], "declare these as sa_column=Column(DateTime(timezone=True), ...)"
