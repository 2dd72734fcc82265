"""Shared fixtures: a real nats-server per test, a dev token issuer, an SMTP sink, and the three services
running in-process on temporary SQLite databases (or, with TAS_TEST_DATABASE=postgresql, on fresh PostgreSQL
databases on the TAS_TEST_PG_URL server). Nothing here touches the dev ports or var/."""

from __future__ import annotations

import asyncio
import importlib
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiosmtpd.controller import Controller

from tas_common.auth import DevIssuer
from tas_common.migrations import upgrade
from tas_dev.testing import NatsServer, free_port

SERVICES = ("referral", "caseload", "notify")
T = TypeVar("T")


def migrations_dir(service: str) -> Path:
    return Path(importlib.import_module(service).__file__).parent / "db" / "migrations"  # type: ignore[arg-type]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


# --- the database under test: SQLite by default, PostgreSQL with TAS_TEST_DATABASE=postgresql ------------------

ON_POSTGRES = os.environ.get("TAS_TEST_DATABASE", "sqlite").lower() in ("postgresql", "postgres", "pg")
_pg_created: dict[tuple[str, str], str] = {}
_pg_long_lived: dict[tuple[str, str], str] = {}


def _pg_admin(statement: str) -> None:
    """Run one statement on the server's maintenance database (from a thread: callers may be inside a loop)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = os.environ.get("TAS_TEST_PG_URL")
    if not url:
        raise RuntimeError("TAS_TEST_DATABASE=postgresql needs TAS_TEST_PG_URL (see .ci/with-postgres.sh)")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    failure: list[BaseException] = []

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def fresh_database_url(name: str, tmp_path: Path, *, per_test: bool = True) -> str:
    """An empty database for this test: `<tmp_path>/<name>.db`, or on PostgreSQL a new `test_<uuid>` database
    (dropped after the test). The same name in the same test gives the same database, as a file path would.
    A module-scoped fixture passes `per_test=False` and drops it itself with `drop_database`."""
    if not ON_POSTGRES:
        return sqlite_url(tmp_path / f"{name}.db")
    from sqlalchemy.engine import make_url

    key = (str(tmp_path), name)
    created = _pg_created if per_test else _pg_long_lived
    if key not in created:
        database = f"test_{uuid.uuid4().hex}"
        _pg_admin(f'CREATE DATABASE "{database}"')
        created[key] = database
    url = make_url(os.environ["TAS_TEST_PG_URL"]).set(database=created[key])
    return url.render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made with `per_test=False` (SQLite files go with their temporary directory)."""
    if not ON_POSTGRES:
        return
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    for key, name in list(_pg_long_lived.items()):
        if name == database:
            del _pg_long_lived[key]
    _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Set up before (so torn down after) every other fixture of a test: drops its PostgreSQL databases."""
    yield
    while _pg_created:
        _, database = _pg_created.popitem()
        _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """One fresh, empty database (SQLite or PostgreSQL, as the run is configured)."""
    return fresh_database_url("test", tmp_path)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """For tests of the `tas` command: none of the caller's TAS_* settings (but the test run's own TAS_TEST_*),
    and tmp_path as the current directory."""
    for name in [n for n in os.environ if n.startswith("TAS_") and not n.startswith("TAS_TEST_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path / "dev-issuer").ensure()


@pytest.fixture
def token(issuer: DevIssuer) -> Callable[..., dict[str, str]]:
    """`token(role="senco", org_type="school", school_urns=["100000"])` → Authorization headers."""

    def make(
        role: str | list[str] = "senco",
        org_type: str = "school",
        org_id: str | None = None,
        sub: str | None = None,
        **claims: Any,
    ) -> dict[str, str]:
        roles = [role] if isinstance(role, str) else role
        jwt = issuer.mint(
            issuer="tas-dev",
            audience="tas",
            sub=sub or f"{roles[0] if roles else 'user'}-1",
            org_id=org_id or f"{org_type}-org",
            org_type=org_type,
            roles=roles,
            **claims,
        )
        return {"Authorization": f"Bearer {jwt}"}

    return make


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[Message]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    handler = _Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpSink("127.0.0.1", port, handler.messages)
    controller.stop()


def service_settings(service: str, tmp_path: Path, nats_url: str, **overrides: Any) -> Any:
    config = importlib.import_module(f"{service}.config")
    cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    values: dict[str, Any] = dict(
        env="test",
        nats_url=nats_url,
        dev_key_dir=tmp_path / "dev-issuer",
        consumer_backoff_seconds=[0.1, 0.2, 0.4],
        consumer_ack_wait_seconds=5.0,
        consumer_max_deliver=4,
        outbox_poll_seconds=0.2,
    )
    values.update(overrides)
    if "database_url" not in values:
        values["database_url"] = fresh_database_url(service, tmp_path)
    return cls(**values)


@dataclass
class System:
    tmp: Path
    nats: NatsServer
    smtp: SmtpSink
    apps: dict[str, Any]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def referral(self) -> httpx.AsyncClient:
        return self.clients["referral"]

    @property
    def caseload(self) -> httpx.AsyncClient:
        return self.clients["caseload"]

    @property
    def notify(self) -> httpx.AsyncClient:
        return self.clients["notify"]

    def runtime(self, service: str) -> Any:
        return self.apps[service].state.runtime


async def migrate(service: str, url: str) -> None:
    await asyncio.to_thread(upgrade, migrations_dir(service), url)


@pytest.fixture
async def system(
    tmp_path: Path, nats: NatsServer, smtp: SmtpSink, issuer: DevIssuer, request: pytest.FixtureRequest
) -> AsyncIterator[System]:
    """The three services in-process against real SQLite files, a real nats-server and a real SMTP sink.
    A test may set per-service settings overrides with `@pytest.mark.settings(notify={...})`."""
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, dict[str, Any]] = marker.kwargs if marker else {}
    apps = {}
    for service in SERVICES:
        extra = dict(overrides.get(service, {}))
        if service == "notify":
            # no SMS quiet hours with the wall clock (a test run at night would wait until 08:00); quiet hours
            # are tested with fixed clocks in tests/notify
            extra = {
                "smtp_host": smtp.host,
                "smtp_port": smtp.port,
                "quiet_hours_start": 0,
                "quiet_hours_end": 0,
                "sms_outbox_path": tmp_path / "sms-outbox.jsonl",
                **extra,
            }
        settings = service_settings(service, tmp_path, nats.url, **extra)
        await migrate(service, settings.database_url)
        apps[service] = importlib.import_module(f"{service}.main").create_app(settings)
    system = System(tmp=tmp_path, nats=nats, smtp=smtp, apps=apps)
    async with AsyncExitStack() as stack:
        for service, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            system.clients[service] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}")
            )
        for service in SERVICES:
            await asyncio.wait_for(system.runtime(service).bus_ready.wait(), timeout=10)
        yield system


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**per_service): override settings of the `system` fixture")
