"""What every `tas` command shares: the services, where a local TAS keeps its state (`<root>/var/`), and how a
command finds the instance that `tas up` started (`var/tas-up.json`) from any directory."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
SERVICES: dict[str, int] = {"referral": 8001, "caseload": 8002, "notify": 8003, "insights": 8004, "web": 8000}
"""Service name (= Python package) → default port. The ASGI factory is `<name>.main:create_app`."""
PORT_ENV: dict[str, str] = {name: f"TAS_{name.upper()}_PORT" for name in SERVICES}
DEFAULT_NATS_PORT = 4222
DEFAULT_SMTP_PORT = 8025
DEV_ISSUER = "tas-dev"
DEV_AUDIENCE = "tas"
DEFAULT_STREAM = "TAS"
ROOT_ENV = "TAS_ROOT"
"""Where the local TAS lives (the directory holding var/); otherwise found as `find_root` says."""
INSTANCE_FILE = "tas-up.json"


class CliError(Exception):
    """A failure to report to the operator in one line (no traceback)."""


@dataclass(frozen=True)
class Layout:
    """Where a local TAS keeps its state, all under `<root>/var/`."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> Layout:
        return cls(Path(root).resolve())

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def logs(self) -> Path:
        return self.var / "log"

    @property
    def mail(self) -> Path:
        return self.var / "mail"

    @property
    def nats_store(self) -> Path:
        return self.var / "nats"

    @property
    def nats_conf(self) -> Path:
        return self.var / "nats.conf"

    @property
    def key_dir(self) -> Path:
        return self.var / "dev-issuer"

    @property
    def sms_outbox(self) -> Path:
        return self.var / "sms-outbox.jsonl"

    @property
    def token_file(self) -> Path:
        return self.var / "dev-token.txt"

    @property
    def pids_file(self) -> Path:
        return self.var / "tas-up.pids"

    @property
    def instance_file(self) -> Path:
        return self.var / INSTANCE_FILE

    def database_url(self, service: str) -> str:
        return f"sqlite+aiosqlite:///{self.var / f'{service}.db'}"

    def prepare(self) -> None:
        for directory in (self.var, self.logs, self.mail, self.nats_store):
            directory.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class Instance:
    """What `tas up` wrote to `var/tas-up.json` when it started: the URLs and settings it gave the services."""

    root: Path
    urls: dict[str, str]
    key_dir: Path
    issuer: str
    audience: str
    stream: str
    pid: int | None = None

    @property
    def nats_url(self) -> str:
        return self.urls["nats"]

    def to_json(self) -> str:
        return json.dumps(
            {
                "root": str(self.root),
                "pid": self.pid,
                "urls": self.urls,
                "dev_key_dir": str(self.key_dir),
                "jwt_issuer": self.issuer,
                "jwt_audience": self.audience,
                "stream": self.stream,
            },
            indent=2,
        )

    @classmethod
    def read(cls, path: Path) -> Instance | None:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            return cls(
                root=Path(data["root"]),
                urls={str(k): str(v) for k, v in data["urls"].items()},
                key_dir=Path(data["dev_key_dir"]),
                issuer=str(data["jwt_issuer"]),
                audience=str(data["jwt_audience"]),
                stream=str(data.get("stream") or DEFAULT_STREAM),
                pid=data.get("pid"),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


def installed_checkout() -> Path | None:
    """The checkout this `tas` was installed from: the parent of the virtual environment `make bootstrap` made."""
    return Path(sys.prefix).resolve().parent if sys.prefix != sys.base_prefix else None


def find_root(environ: Mapping[str, str] | None = None, cwd: Path | None = None, checkout: Path | None = None) -> Path:
    """The directory holding the local TAS's var/: `$TAS_ROOT` when set; else the nearest directory, from the
    current one upwards, whose var/ holds `tas-up.json` (as git finds .git); else the checkout this `tas` was
    installed from, when its var/ holds one (so `.venv/bin/tas` finds its instance from any directory); else
    the current directory."""
    environ = os.environ if environ is None else environ
    if environ.get(ROOT_ENV):
        return Path(environ[ROOT_ENV]).resolve()
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "var" / INSTANCE_FILE).is_file():
            return directory
    checkout = checkout if checkout is not None else installed_checkout()
    if checkout is not None and (checkout / "var" / INSTANCE_FILE).is_file():
        return checkout
    return here


def find_instance(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None, checkout: Path | None = None
) -> Instance | None:
    return Instance.read(Layout.at(find_root(environ, cwd, checkout)).instance_file)


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def migrations_dir(service: str) -> Path:
    """The service's Alembic directory, found without importing the service package."""
    spec = importlib.util.find_spec(service)
    if spec is None or not spec.submodule_search_locations:
        raise CliError(
            f"service package {service!r} is not installed: run `make bootstrap` (or pip install -e services/{service})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "db" / "migrations"


def migrate_service(service: str, url: str) -> None:
    """Synchronous (Alembic runs its own event loop): never call from inside a running loop."""
    from ..migrations import upgrade

    upgrade(migrations_dir(service), url)


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
