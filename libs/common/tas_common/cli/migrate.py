"""`tas migrate`: run the services' Alembic migrations (the one-shot job of each service in production)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .base import SERVICES, Layout, find_root, migrate_service, safe_url


def cmd_migrate(args: argparse.Namespace) -> int:
    layout = Layout.at(args.root or find_root())
    layout.var.mkdir(parents=True, exist_ok=True)
    services = [args.service] if args.service else list(SERVICES)
    for service in services:
        url = (os.environ.get("TAS_DATABASE_URL") if args.service else None) or layout.database_url(service)
        migrate_service(service, url)
        print(f"migrated {service}: {safe_url(url)}")
    return 0


def add_parser(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="run Alembic migrations for every service (or one)")
    migrate.add_argument("--root", help="directory holding var/ (default: $TAS_ROOT, else as `tas up` left it)")
    migrate.add_argument(
        "--service", choices=list(SERVICES), help="only this service; then TAS_DATABASE_URL, when set, is its database"
    )
    migrate.set_defaults(func=cmd_migrate)
