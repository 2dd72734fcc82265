"""Closed-loop HTTP/1.1 load generator, run in its own process: `python -m bench.loadgen SPEC.json OUT.json`.

N keep-alive connections, each sending its next request as soon as the previous response has been read, for a
fixed time after a warm-up. Requests are written as raw bytes on asyncio streams (far cheaper per request than
an HTTP client library, so that on a 2-core machine the generator takes as little CPU from the server as it
can). Each request has its own body: `concern_body(n)` with a distinct `n` for every request.

The spec (JSON): host, port, path, method, headers {name: value}, body ("concern" or "none"), serial_start,
connections, warmup_s, duration_s, max_requests, timeout_s. The result (JSON): requests (in the measured window),
sent (warm-up included), errors (by kind), statuses, elapsed_s, rps, latencies_ms (every measured request, in
completion order).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tas_dev.testing import concern_body


class Body:
    def __init__(self, kind: str, start: int) -> None:
        self.kind = kind
        self.next = start

    def take(self) -> bytes:
        if self.kind == "none":
            return b""
        serial = self.next
        self.next += 1
        return json.dumps(concern_body(serial), separators=(",", ":")).encode()


def request_bytes(spec: dict[str, Any], body: bytes) -> bytes:
    head = [f"{spec['method']} {spec['path']} HTTP/1.1", f"Host: {spec['host']}:{spec['port']}"]
    head += [f"{k}: {v}" for k, v in spec.get("headers", {}).items()]
    if body or spec["method"] in ("POST", "PUT", "PATCH"):
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value.strip())
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    body = Body(spec.get("body", "none"), int(spec.get("serial_start", 0)))
    connections = int(spec["connections"])
    timeout = float(spec.get("timeout_s", 10.0))
    max_requests = int(spec.get("max_requests", 10_000_000))
    start = time.perf_counter()
    measure_from = start + float(spec.get("warmup_s", 0.0))
    stop_at = measure_from + float(spec["duration_s"])
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    sent = 0

    async def worker() -> None:
        nonlocal sent
        reader = writer = None
        while time.perf_counter() < stop_at and sent < max_requests:
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(spec["host"], spec["port"]), timeout
                    )
                payload = request_bytes(spec, body.take())
                sent += 1
                t0 = time.perf_counter()
                writer.write(payload)
                status = await asyncio.wait_for(read_response(reader), timeout)  # type: ignore[arg-type]
                t1 = time.perf_counter()
            except Exception as exc:
                if time.perf_counter() >= measure_from:
                    errors[type(exc).__name__] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)
                continue
            if t0 >= measure_from and t1 <= stop_at:
                latencies.append((t1 - t0) * 1000.0)
                statuses[status] += 1
                if status >= 400:
                    errors[f"http {status}"] += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = min(time.perf_counter(), stop_at) - measure_from
    return {
        "requests": len(latencies),
        "sent": sent,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "statuses": {str(k): v for k, v in statuses.items()},
        "elapsed_s": elapsed,
        "rps": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "latencies_ms": latencies,
        "connections": connections,
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(spec))
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
