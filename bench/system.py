"""A throwaway TAS in a temporary directory: nats-server, the chosen services under uvicorn (each its own
process, its own migrated SQLite database), optionally the SMTP sink, and a dev token issuer."""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tas_common.auth import DevIssuer
from tas_common.migrations import upgrade
from tas_common.testing import NatsServer

from .procs import Proc, smtp_sink, uvicorn, wait_http

ISSUER, AUDIENCE = "tas-dev", "tas"


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

    def start(self) -> BenchSystem:
        self.issuer = DevIssuer(self.tmp / "dev-issuer").ensure()
        self.nats = NatsServer(self.tmp / "nats").start()
        if self.with_smtp:
            self.smtp = smtp_sink(self.tmp)
        for service in self.services:
            url = self.database_urls.get(service) or sqlite_url(self.tmp / f"{service}.db")
            self.database_urls[service] = url
            if url.startswith("sqlite") and not self.database_urls.get(f"{service}:premigrated"):
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
            }
            if self.smtp is not None:
                env.update(
                    {
                        "TAS_SMTP_HOST": "127.0.0.1",
                        "TAS_SMTP_PORT": str(self.smtp.port),
                        "TAS_SMS_OUTBOX_PATH": str(self.tmp / "sms-outbox.jsonl"),
                    }
                )
            self.procs[service] = uvicorn(service, f"{service}.main:create_app", workdir=self.tmp / service, env=env)
        for proc in self.procs.values():
            wait_http(proc, "/readyz", timeout=30)
        return self

    def token(self, role: str = "senco", org_type: str = "school", **claims: Any) -> dict[str, str]:
        assert self.issuer is not None
        claims.setdefault("sub", f"bench-{role}")
        claims.setdefault("org_id", f"bench-{org_type}")
        jwt = self.issuer.mint(issuer=ISSUER, audience=AUDIENCE, org_type=org_type, roles=[role], **claims)
        return {"Authorization": f"Bearer {jwt}"}

    def rss_mb(self) -> dict[str, float | None]:
        return {name: proc.rss_mb() for name, proc in self.procs.items()}

    def client(self, service: str, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.procs[service].url, timeout=timeout, trust_env=False)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        if self.smtp is not None:
            self.smtp.stop()
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
