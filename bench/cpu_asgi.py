"""`python -m bench.cpu_asgi [N] [ROUNDS] [CONCURRENCY]`: CPU milliseconds per `POST /v1/concerns` with the referral
app called in-process as an ASGI application (no uvicorn, no sockets, no load generator competing for the cores), on
a migrated SQLite file (WAL, synchronous=FULL, group commit) with a real nats-server and the outbox relay running.
`time.process_time()` covers every thread of the process (aiosqlite's too). The HTTP server's own share (uvicorn +
httptools, ~0.3 ms a request here) is not included: bench.cpu_intake measures the whole process under uvicorn.
Rounds of N requests (default 6 of 500 at 32 at once): other processes on a shared machine only ever add to a
round's CPU time, so the minimum is the figure to compare. A diagnostic for bench/NOTES.md."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tas_common.auth import DevIssuer
from tas_common.migrations import upgrade
from tas_dev.testing import NatsServer, concern_body

from .system import AUDIENCE, ISSUER, migrations_dir, sqlite_url


async def call(app: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/concerns",
        "raw_path": b"/v1/concerns",
        "root_path": "",
        "query_string": b"",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(
    tmp: Path, n: int, concurrency: int, rounds: int, *, issuer: DevIssuer, nats: NatsServer, url: str
) -> None:
    from referral.config import ReferralSettings
    from referral.main import create_app

    settings = ReferralSettings(
        env="dev",
        database_url=url,
        nats_url=nats.url,
        dev_key_dir=tmp / "dev-issuer",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        outbox_poll_seconds=0.5,
    )
    app = create_app(settings)
    token = issuer.mint(
        issuer=ISSUER,
        audience=AUDIENCE,
        sub="bench-senco",
        org_id="school-100000",
        org_type="school",
        roles=["senco"],
        school_urns=["100000"],
    )
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
    ]
    warm = 200
    bodies = [json.dumps(concern_body(i), separators=(",", ":")).encode() for i in range(n * rounds + warm)]
    async with app.router.lifespan_context(app):

        async def batch(items: list[bytes]) -> list[int]:
            queue = list(reversed(items))
            statuses: list[int] = []

            async def worker() -> None:
                while queue:
                    statuses.append(await call(app, headers, queue.pop()))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return statuses

        await batch(bodies[-warm:])  # warm-up
        per_request = []
        for r in range(rounds):
            await asyncio.sleep(0.5)  # the relay publishes the previous round's events
            cpu = time.process_time()
            statuses = await batch(bodies[r * n : (r + 1) * n])
            await asyncio.sleep(0.5)  # and this round's, counted in it
            per_request.append(1000 * (time.process_time() - cpu) / n)
            bad = [s for s in statuses if s != 201]
            assert not bad, f"{len(bad)} requests not 201"
    print(
        f"cpu_asgi: {rounds} rounds of {n} requests at concurrency {concurrency}: CPU ms/request min "
        f"{min(per_request):.2f}, median {statistics.median(per_request):.2f} "
        f"({', '.join(f'{x:.2f}' for x in per_request)}; relay included)"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="tas-cpu-asgi-") as tmp_name:
        tmp = Path(tmp_name)
        issuer = DevIssuer(tmp / "dev-issuer").ensure()
        url = sqlite_url(tmp / "referral.db")
        upgrade(migrations_dir("referral"), url)
        nats = NatsServer(tmp / "nats").start()
        try:
            asyncio.run(run(tmp, n, concurrency, rounds, issuer=issuer, nats=nats, url=url))
        finally:
            nats.stop()


if __name__ == "__main__":
    main()
