"""`tas`: the command line of a TAS installation.

    tas up            nats-server, migrations, the SMTP sink, the API services and the web pages (dev tooling:
                      the tas-dev package)
    tas demo-data     a year of fictional activity for LA 999 through the running services (dev tooling)
    tas token         mint a dev token from the local dev issuer
    tas migrate       run the services' Alembic migrations
    tas deadletters   list the events that consumers gave up on (--replay SEQ republishes one)
    tas audit-verify  check a service's audit hash chain
    tas insights rebuild  rebuild insights' read model from a replay of the stream

`migrate`, `deadletters`, `audit-verify` and `insights` are operator commands and ship in the production image;
`tas up` and `tas demo-data` are dev tooling and live in `tas_dev` (libs/dev), which production images do not
install. The commands find what `tas up` started from any directory (`var/tas-up.json`, see `base.find_root`).
Heavy imports stay inside the commands so that `tas token` starts quickly; nothing here does I/O at import time.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

from . import audit, deadletters, insights, migrate, token
from .audit import cmd_audit_verify
from .base import PORT_ENV, SERVICES, CliError, Layout
from .deadletters import cmd_deadletters
from .migrate import cmd_migrate
from .token import cmd_token

__all__ = [
    "PORT_ENV",
    "SERVICES",
    "CliError",
    "Layout",
    "build_parser",
    "cmd_audit_verify",
    "cmd_deadletters",
    "cmd_migrate",
    "cmd_token",
    "main",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tas", description="Team Around the School: local development commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_up(commands)
    _add_demo_data(commands)
    token.add_parser(commands)
    migrate.add_parser(commands)
    deadletters.add_parser(commands)
    audit.add_parser(commands)
    insights.add_parser(commands)
    return parser


def _add_up(commands: Any) -> None:
    """`tas up` comes from tas_dev when it is installed (make bootstrap); otherwise the command says so."""
    if importlib.util.find_spec("tas_dev") is not None:
        from tas_dev.up import add_parser

        add_parser(commands)
        return
    up = commands.add_parser("up", help="(needs the tas-dev package) run the whole system locally")
    up.set_defaults(func=_up_not_installed)


def _add_demo_data(commands: Any) -> None:
    if importlib.util.find_spec("tas_dev") is not None:
        from tas_dev.demo_drive import add_parser

        add_parser(commands)


def _up_not_installed(_args: argparse.Namespace) -> int:
    raise CliError("`tas up` is dev tooling: install the tas-dev package (`make bootstrap` does, from libs/dev)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"tas {args.command}: {exc}", file=sys.stderr)
        return 1
