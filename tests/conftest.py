"""Shared fixtures: a real NATS per test (an account of its own on the session's nats-server), a dev token
issuer, an SMTP sink, and the three services running in-process on temporary SQLite databases (or, with
TAS_TEST_DATABASE=postgresql, on fresh PostgreSQL databases on the TAS_TEST_PG_URL server), each a copy of a
template migrated once per session (tests/databases.py). Nothing here touches the dev ports or var/."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiosmtpd.controller import Controller

from tas_common.auth import DevIssuer
from tas_dev.testing import NatsAccount, NatsAccountPool, NatsServer, bearer, free_port

# The apps started in this process keep their heap unfrozen (settings.gc_freeze): a freeze per app start would
# cost a full collection each and keep every earlier test's leftovers for the session. Services run as processes
# (bench.system.BenchSystem: the fault suite, the benchmarks) freeze theirs, as in production.
os.environ.setdefault("TAS_GC_FREEZE", "false")

from .databases import (
    ON_POSTGRES,
    drop_database,
    drop_templates,
    drop_test_databases,
    fresh_database_url,
    migrate,
    migrated_database_url,
    migrations_dir,
    sqlite_url,
)
from .settle import settled

__all__ = [  # what the other conftest files and tests import from here
    "ON_POSTGRES",
    "SERVICES",
    "System",
    "drop_database",
    "eventually",
    "fresh_database_url",
    "migrate",
    "migrations_dir",
    "service_settings",
    "settled",
    "sqlite_url",
]

SERVICES = ("referral", "caseload", "notify")
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Set up before (so torn down after) every other fixture of a test: drops its PostgreSQL databases."""
    yield
    drop_test_databases()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """One fresh, empty database (SQLite or PostgreSQL, as the run is configured)."""
    return fresh_database_url("test", tmp_path)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds (generous: on a
    loaded machine every hop is slow, and a test that passes never waits it out)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


_RECORD_NUMBERS = frozenset({"created", "msecs", "relativeCreated", "thread", "process"})
"""A log record's clock and process fields: a 6-digit code turns up among their digits by chance."""


def records_showing(records: Iterable[logging.LogRecord], secret: str) -> list[logging.LogRecord]:
    """The log records whose message or other fields show `secret` (a sign-in code) on its own. Not as digits inside
    a longer run of letters and digits (a child's UUID, a UPN), and not among a record's clock and process numbers:
    a 6-digit code turns up there by chance (CI met a child id beginning with the code)."""
    shown = re.compile(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])")
    return [
        record
        for record in records
        if shown.search(record.getMessage())
        or shown.search(str({k: v for k, v in record.__dict__.items() if k not in _RECORD_NUMBERS}))
    ]


# --- NATS: one nats-server per session, one account (own subjects and streams) per test ------------------------

Nats = NatsServer | NatsAccount


@pytest.fixture(scope="session")
def nats_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsAccountPool]:
    """The session's shared nats-server, started on first use, with a pool of accounts."""
    pool = NatsAccountPool(tmp_path_factory.mktemp("nats-shared")).start()
    yield pool
    pool.stop()


@contextmanager
def nats_for(request: pytest.FixtureRequest, workdir: Path, *, own: bool = False) -> Iterator[Nats]:
    """A NATS to oneself: an account on the session's shared server (its own subjects and JetStream streams,
    deleted afterwards), or with `own=True` or `@pytest.mark.own_nats` a nats-server of one's own, which the
    holder may stop and restart. Module-scoped fixtures use it too."""
    if not (own or _stops_nats(request)):
        pool: NatsAccountPool = request.getfixturevalue("nats_accounts")
        account = pool.lease()
        if account is not None:
            try:
                yield account
            finally:
                pool.release(account)
            return
    server = NatsServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()


def _stops_nats(request: pytest.FixtureRequest) -> bool:
    """Marked `own_nats`, or (so that a test written before the shared server keeps working) a test whose own
    code calls `nats.stop()`."""
    if request.node.get_closest_marker("own_nats") is not None:
        return True
    function = getattr(request, "function", None)
    try:
        return function is not None and "nats.stop()" in inspect.getsource(function)
    except (OSError, TypeError):
        return False


@pytest.fixture
def nats(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Nats]:
    """This test's NATS (see `nats_for`): `.url` to connect; `.stop()`/`.start()` need `@pytest.mark.own_nats`."""
    with nats_for(request, tmp_path / "nats") as server:
        yield server


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
        return bearer(
            issuer,
            roles=roles,
            org_type=org_type,
            sub=sub or f"{roles[0] if roles else 'user'}-1",
            org_id=org_id or f"{org_type}-org",
            **claims,
        )

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
        family_key_dir=tmp_path / "family-issuer",
        consumer_backoff_seconds=[0.1, 0.2, 0.4],
        consumer_ack_wait_seconds=5.0,
        consumer_max_deliver=4,
        consumer_max_deliver_not_yet=6,
        outbox_poll_seconds=0.2,
    )
    values.update(overrides)
    if "database_url" not in values:  # a migrated one (on PostgreSQL lent from a pool: see tests/databases.py)
        values["database_url"] = migrated_database_url(service, tmp_path)
    return cls(**values)


@dataclass
class System:
    tmp: Path
    nats: Nats
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

    @property
    def insights(self) -> httpx.AsyncClient:
        return self.clients["insights"]

    def runtime(self, service: str) -> Any:
        return self.apps[service].state.runtime

    async def settled(self, timeout: float = 30.0) -> None:
        """Wait until nothing is in flight in the three services (tests/settle.py): what a test checks did not
        happen, after this, will not."""
        await settled([self.runtime(service) for service in self.apps], timeout=timeout)


@pytest.fixture
async def system(
    tmp_path: Path, nats: Nats, smtp: SmtpSink, issuer: DevIssuer, request: pytest.FixtureRequest
) -> AsyncIterator[System]:
    """The three services in-process against real SQLite files (copies of migrated templates), a real
    nats-server (an account of the test's own on the shared one, see `nats_for`) and a real SMTP sink.
    A test may set per-service settings overrides with `@pytest.mark.settings(notify={...})`, and run insights too
    with `@pytest.mark.insights`."""
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, dict[str, Any]] = marker.kwargs if marker else {}
    services = (*SERVICES, "insights") if request.node.get_closest_marker("insights") else SERVICES
    apps = {}
    for service in services:
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
    async with running(apps) as clients:
        system.clients.update(clients)
        for service in services:
            await asyncio.wait_for(system.runtime(service).bus_ready.wait(), timeout=10)
        yield system


@asynccontextmanager
async def running(apps: dict[str, Any]) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Start the apps' lifespans in order and give an in-process client for each; afterwards stop them all at
    once (each drains on its own: stopping them one after the other only adds up their waits)."""
    lifespans: list[Any] = []
    try:
        async with AsyncExitStack() as stack:
            clients = {}
            for service, app in apps.items():
                lifespan = app.router.lifespan_context(app)
                await lifespan.__aenter__()
                lifespans.append(lifespan)
                clients[service] = await stack.enter_async_context(
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}")
                )
            yield clients
    finally:
        outcomes = await asyncio.gather(
            *(lifespan.__aexit__(None, None, None) for lifespan in lifespans), return_exceptions=True
        )
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise failures[0]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**per_service): override settings of the `system` fixture")
    config.addinivalue_line("markers", "insights: the `system` fixture runs insights beside the three services")
    config.addinivalue_line(
        "markers", "own_nats: the test gets a nats-server of its own (it stops or restarts it), not a shared account"
    )
    config.addinivalue_line(
        "markers",
        "alone: a fault-injection test whose drain bounds assume the machine to itself; make test runs these after "
        "the parallel part, in one process",
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_templates()
