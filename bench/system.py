"""A throwaway TAS in a temporary directory: nats-server, the chosen services under uvicorn (each its own
process, its own migrated database: a SQLite file by default, or the URL given in `database_urls`, e.g. a
PostgreSQL database of bench/engines.py's cluster), optionally the SMTP sink, and a dev token issuer. Any of them can be
killed with SIGKILL and restarted on the same port and state (the chaos suite, chaos/, does that)."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tas_common.auth import DevIssuer
from tas_common.migrations import upgrade
from tas_dev.testing import DEV_AUDIENCE as AUDIENCE
from tas_dev.testing import DEV_ISSUER as ISSUER
from tas_dev.testing import NatsServer, bearer

from .procs import Proc, smtp_sink, stop_all, uvicorn, wait_http


def migrations_dir(service: str) -> Path:
    spec = importlib.util.find_spec(service)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "db" / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@dataclass
class BenchSystem:
    tmp: Path
    services: tuple[str, ...]
    with_smtp: bool = False
    database_urls: dict[str, str] = field(default_factory=dict)
    nats: NatsServer | None = None
    smtp: Proc | None = None
    procs: dict[str, Proc] = field(default_factory=dict)
    issuer: DevIssuer | None = None
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment for every service (e.g. shorter consumer timeouts), over the defaults below."""
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Given: extra environment for one service, over `env`. After `start`: each service's whole environment."""
    apps: dict[str, str] = field(default_factory=dict)
    """A service's app factory ("module:function") in place of `<service>.main:create_app`: a diagnostic variant of
    the service (bench/raw_storage.py)."""

    def app(self, service: str) -> str:
        return self.apps.get(service, f"{service}.main:create_app")

    def start(self) -> BenchSystem:
        self.issuer = DevIssuer(self.tmp / "dev-issuer").ensure()
        self.nats = NatsServer(self.tmp / "nats").start()
        if self.with_smtp:
            self.smtp = smtp_sink(self.tmp)
        for service in self.services:
            url = self.database_urls.get(service) or sqlite_url(self.tmp / f"{service}.db")
            self.database_urls[service] = url
            if not self.database_urls.get(f"{service}:premigrated"):  # SQLite file or PostgreSQL database
                upgrade(migrations_dir(service), url)
            env = {
                "TAS_ENV": "dev",
                "TAS_SERVICE_NAME": service,
                "TAS_DATABASE_URL": url,
                "TAS_NATS_URL": self.nats.url,
                "TAS_DEV_KEY_DIR": str(self.tmp / "dev-issuer"),
                "TAS_JWT_ISSUER": ISSUER,
                "TAS_JWT_AUDIENCE": AUDIENCE,
                "TAS_OUTBOX_POLL_SECONDS": "0.5",
                "TAS_GC_FREEZE": "true",  # the production default, whatever the test suite's environment says
            }
            if self.smtp is not None:
                env.update(
                    {
                        "TAS_SMTP_HOST": "127.0.0.1",
                        "TAS_SMTP_PORT": str(self.smtp.port),
                        "TAS_SMS_OUTBOX_PATH": str(self.tmp / "sms-outbox.jsonl"),
                    }
                )
            self.service_env[service] = env | self.env | self.service_env.get(service, {})
            self.procs[service] = uvicorn(
                service,
                self.app(service),
                workdir=self.tmp / service,
                env=self.service_env[service],
                wait=False,
            )
        for proc in self.procs.values():  # started together, waited for together
            wait_http(proc, "/readyz", timeout=60)
        return self

    @property
    def sms_outbox(self) -> Path:
        return self.tmp / "sms-outbox.jsonl"

    def kill(self, name: str) -> None:
        """SIGKILL a service (by name), "smtp" or "nats": no handler runs, nothing is drained."""
        if name == "nats":
            assert self.nats is not None and self.nats.process is not None
            self.nats.process.kill()
            self.nats.process.wait(timeout=10)
        elif name == "smtp":
            assert self.smtp is not None
            self.smtp.kill()
        else:
            self.procs[name].kill()

    def restart(self, name: str, *, wait: bool = True) -> None:
        """Start a killed (or stopped) part again on the port and with the state it had."""
        if name == "nats":
            assert self.nats is not None
            self.nats.start()
        elif name == "smtp":
            assert self.smtp is not None
            self.smtp = smtp_sink(self.tmp, port=self.smtp.port)
        else:
            old = self.procs[name]
            self.procs[name] = uvicorn(
                name,
                self.app(name),
                workdir=self.tmp / name,
                env=self.service_env[name],
                port=old.port,
                ready_path="/readyz",
                wait=wait,
            )

    def token(self, role: str = "senco", org_type: str = "school", **claims: Any) -> dict[str, str]:
        assert self.issuer is not None
        claims.setdefault("sub", f"bench-{role}")
        claims.setdefault("org_id", f"bench-{org_type}")
        return bearer(self.issuer, roles=[role], org_type=org_type, **claims)

    def senco(self) -> dict[str, str]:
        """The headers of the SENCO of school 100000, who raises the benchmarks' concerns (`concern_body`'s school)."""
        return self.token("senco", "school", school_urns=["100000"], org_id="school-100000")

    def rss_mb(self) -> dict[str, float | None]:
        return {name: proc.rss_mb() for name, proc in self.procs.items()}

    def client(self, service: str, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.procs[service].url, timeout=timeout, trust_env=False)

    def stop(self) -> None:
        """Every process started is stopped, even when stopping one of them fails."""
        try:
            stop_all(list(self.procs.values()))
        finally:
            try:
                if self.smtp is not None:
                    self.smtp.stop()
            finally:
                if self.nats is not None:
                    self.nats.stop()

    def __enter__(self) -> BenchSystem:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def idle(seconds: float) -> None:
    time.sleep(seconds)
