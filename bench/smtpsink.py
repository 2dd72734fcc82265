"""An SMTP sink for the end-to-end benchmark: accepts every message and appends one JSON line per recipient,
`{"rcpt": ..., "t": <time.monotonic() when the DATA was accepted>}` (CLOCK_MONOTONIC is system-wide on Linux,
so the bench process can compare it with its own send times). Message content is not kept.

    python -m bench.smtpsink --port PORT --out FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any


class Recorder:
    def __init__(self, out: Path) -> None:
        self.out = open(out, "a", buffering=1)  # noqa: SIM115 - open for the sink's lifetime; line-buffered: every line is visible as soon as written

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        for rcpt in envelope.rcpt_tos:
            self.out.write(json.dumps({"rcpt": rcpt.lower(), "t": now}) + "\n")
        return "250 Message accepted for delivery"


async def serve(port: int, out: Path) -> None:
    from aiosmtpd.smtp import SMTP

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    recorder = Recorder(out)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(lambda: SMTP(recorder, enable_SMTPUTF8=True), host="127.0.0.1", port=port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


def read_received(out: Path) -> dict[str, float]:
    """Recipient -> first acceptance time."""
    received: dict[str, float] = {}
    if out.exists():
        for line in out.read_text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line being written
            received.setdefault(item["rcpt"], item["t"])
    return received


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
