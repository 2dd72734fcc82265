"""Models and migrations agree (docs/architecture.md §7.8), migrations are reversible, and the drift check can fail — on
SQLite, and on PostgreSQL when the run is configured for it (TAS_TEST_DATABASE=postgresql)."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String

from tas_common.migrations import downgrade, drift, upgrade

SERVICES = ("referral", "caseload", "notify", "insights", "web")


def location(service: str) -> Path:
    return Path(importlib.import_module(service).__file__).parent / "db" / "migrations"


@pytest.mark.parametrize("service", SERVICES)
async def test_models_and_migrations_do_not_drift(service, database_url):
    url = database_url
    await asyncio.to_thread(upgrade, location(service), url)
    metadata = importlib.import_module(f"{service}.domain.models").metadata
    assert await asyncio.to_thread(drift, url, metadata) == []


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_downgrade_to_nothing_and_upgrade_again(service, database_url):
    url = database_url
    await asyncio.to_thread(upgrade, location(service), url)
    await asyncio.to_thread(downgrade, location(service), url, "base")
    await asyncio.to_thread(upgrade, location(service), url)


async def test_the_drift_check_reports_a_model_change_without_a_migration(database_url):
    url = database_url
    await asyncio.to_thread(upgrade, location("referral"), url)
    models = importlib.import_module("referral.domain.models").metadata
    changed = MetaData(naming_convention=models.naming_convention)
    for table in models.tables.values():
        table.to_metadata(changed)
    changed.tables["concern"].append_column(Column("new_column_without_migration", String(10)))
    diffs = await asyncio.to_thread(drift, url, changed)
    assert any("new_column_without_migration" in str(d) for d in diffs)
