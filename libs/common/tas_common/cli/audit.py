"""`tas audit-verify`: check a service's audit hash chain and name the edited or missing rows."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from .base import SERVICES, CliError, Layout, find_root, safe_url


def cmd_audit_verify(args: argparse.Namespace) -> int:
    url = (
        args.database_url
        or os.environ.get("TAS_DATABASE_URL")
        or Layout.at(args.root or find_root()).database_url(args.service)
    )
    _require_sqlite_file(url)
    rows, breaks = asyncio.run(verify_audit(url))
    if not breaks:
        print(f"audit chain intact ({rows} rows)")
        return 0
    print(f"audit chain BROKEN in {safe_url(url)}: {len(breaks)} problem(s) in {rows} rows")
    for item in breaks:
        print(f"  seq {item.seq}: {item.problem}")
    return 1


def _require_sqlite_file(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).exists():
        raise CliError(f"no database at {parsed.database}: run `tas migrate` or `tas up` first")


async def verify_audit(url: str) -> tuple[int, list[Any]]:
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from ..audit import verify_chain
    from ..db import Database
    from ..tables import audit_log

    db = Database(url)
    try:
        async with db.reader() as session:
            rows = (await session.execute(select(func.count()).select_from(audit_log))).scalar_one()
            breaks = await verify_chain(session)
    except (OperationalError, ProgrammingError) as exc:
        raise CliError(
            f"cannot read the audit log in {safe_url(url)} ({type(exc).__name__}); is the database migrated?"
        ) from exc
    finally:
        await db.dispose()
    return int(rows), breaks


def add_parser(commands: Any) -> None:
    audit = commands.add_parser("audit-verify", help="check a service's audit hash chain")
    audit.add_argument("--service", required=True, choices=list(SERVICES))
    audit.add_argument("--database-url", help="default: $TAS_DATABASE_URL, else var/<service>.db under --root")
    audit.add_argument("--root", help="directory holding var/ (default: $TAS_ROOT, else as `tas up` left it)")
    audit.set_defaults(func=cmd_audit_verify)
