"""An SMTP sink for the end-to-end benchmark: accepts every message and appends one JSON line per recipient,
`{"rcpt": ..., "mid": <Message-ID>, "t": <time.monotonic() when the DATA was accepted>}` (CLOCK_MONOTONIC is
system-wide on Linux, so the bench process can compare it with its own send times). Message content is not kept.
Each line is written before the sink answers 250, so a sink killed after that line loses nothing it acknowledged
(the chaos suite, chaos/, counts messages per recipient from these lines).

    python -m bench.smtpsink --port PORT --out FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def message_id(content: bytes | str | None) -> str | None:
    """The Message-ID header of a raw message (searched in the header block only)."""
    raw = content.encode() if isinstance(content, str) else content or b""
    found = MESSAGE_ID.search(raw.split(b"\r\n\r\n", 1)[0])
    return found.group(1).decode("ascii", "replace") if found else None


class Recorder:
    def __init__(self, out: Path) -> None:
        self.out = open(out, "a", buffering=1)  # noqa: SIM115 - open for the sink's lifetime; line-buffered: every line is visible as soon as written

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        mid = message_id(envelope.original_content or envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.out.write(json.dumps({"rcpt": rcpt.lower(), "mid": mid, "t": now}) + "\n")
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


def read_lines(out: Path) -> list[dict[str, Any]]:
    """Every line the sink wrote (one per recipient of each accepted message), oldest first."""
    items: list[dict[str, Any]] = []
    if out.exists():
        for line in out.read_text().splitlines():
            try:
                items.append(json.loads(line))
            except ValueError:
                continue  # a line being written
    return items


class Received:
    """Recipient -> first acceptance time, read from the sink's file incrementally: each `update` parses only the
    whole lines added since the last one (a waiting benchmark polls it often, beside thousands of lines)."""

    def __init__(self, out: Path) -> None:
        self.out, self.offset = out, 0
        self.first: dict[str, float] = {}

    def update(self) -> dict[str, float]:
        if not self.out.exists():
            return self.first
        with self.out.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        whole = data.rfind(b"\n") + 1  # a line still being written waits for the next update
        for line in data[:whole].splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            self.first.setdefault(item["rcpt"], item["t"])
        self.offset += whole
        return self.first


def read_received(out: Path) -> dict[str, float]:
    """Recipient -> first acceptance time."""
    received: dict[str, float] = {}
    for item in read_lines(out):
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
