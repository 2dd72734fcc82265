"""Fixtures for notify's tests: a migrated notify database, settings, and the fake SMS providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from notify.config import NotifySettings
from tas_common.db import Database

from ..conftest import fresh_database_url, migrate, service_settings, sqlite_url
from .fakes import FakeGovukNotify, FakeTwilio


@pytest.fixture
def make_settings(tmp_path: Path):
    def make(**overrides: Any) -> NotifySettings:
        return service_settings(
            "notify", tmp_path, "nats://127.0.0.1:1", **{"sms_outbox_path": tmp_path / "sms-outbox.jsonl", **overrides}
        )

    return make


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = sqlite_url(tmp_path / "notify-unit.db")
    await migrate("notify", url)
    database = Database(url)
    yield database
    await database.dispose()


@pytest.fixture
async def engine_db(tmp_path: Path) -> AsyncIterator[Database]:
    """`db` on the engine under test: PostgreSQL under .ci/with-postgres.sh (the driver statements differ)."""
    url = fresh_database_url("notify", tmp_path)
    await migrate("notify", url)
    database = Database(url)
    yield database
    await database.dispose()


@pytest.fixture
async def fake_notify() -> AsyncIterator[FakeGovukNotify]:
    server = await FakeGovukNotify().start()
    yield server
    await server.stop()


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    server = await FakeTwilio().start()
    yield server
    await server.stop()
