"""`tas insights rebuild`: rebuild insights' read model from a replay of the stream (insights/rebuild.py)."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
from typing import Any

from .base import CliError, Layout, find_root, safe_url
from .deadletters import _bus_settings, _connect_nats


def cmd_insights_rebuild(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("insights") is None:
        raise CliError("the insights service is not installed here")
    url = os.environ.get("TAS_DATABASE_URL") or Layout.at(args.root or find_root()).database_url("insights")
    nats_url, stream = _bus_settings(args.nats_url, args.stream)
    rebuilt = asyncio.run(rebuild(url, nats_url, stream, partial=args.partial))
    print(
        f"rebuilt insights ({safe_url(url)}) from stream {stream}: {rebuilt.events} events in "
        f"{rebuilt.seconds:.1f} s ({rebuilt.rate:.0f} events/s)"
    )
    return 0


async def rebuild(database_url: str, nats_url: str, stream: str, *, partial: bool = False) -> Any:
    from insights.rebuild import StreamIncomplete, rebuild, replay

    from tas_common.db import Database

    nc = await _connect_nats(nats_url)
    db = Database(database_url)
    try:
        return await rebuild(db, replay(nc.jetstream(), stream=stream, partial=partial))
    except StreamIncomplete as exc:
        raise CliError(f"{exc}; --partial rebuilds from what is left (figures before it are lost)") from None
    finally:
        await db.dispose()
        await nc.close()


def add_parser(commands: Any) -> None:
    insights = commands.add_parser("insights", help="insights' read model: rebuild it from the stream")
    actions = insights.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild_ = actions.add_parser(
        "rebuild",
        help="empty insights' facts and tallies and read every event again from the stream (stop insights first)",
    )
    rebuild_.add_argument("--root", help="directory holding var/ (default: $TAS_ROOT, else as `tas up` left it)")
    rebuild_.add_argument(
        "--nats-url", help="default: $TAS_NATS_URL, else the NATS the running `tas up` started, else port 4222"
    )
    rebuild_.add_argument("--stream", help="default: $TAS_STREAM_NAME, else TAS")
    rebuild_.add_argument(
        "--partial", action="store_true", help="rebuild even when the stream's oldest events have aged out"
    )
    rebuild_.set_defaults(func=cmd_insights_rebuild)
