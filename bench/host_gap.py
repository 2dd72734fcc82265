"""`python -m bench.host_gap`: what this machine charges for work done after a pause, with no part of the pipeline
running. The same small piece of work — a concern's body validated into referral's `ConcernCreate`, a request to
the bare FastAPI endpoint called in process (bench/baselines.py), a row inserted into an in-memory SQLite database
and committed — is timed by its thread's CPU time back to back, then once every 1/150 s and once every 1/50 s with
the event loop (uvloop, as the services run) asleep in between: the gaps each service sees at the end-to-end
benchmark's two rates.

On a machine whose cores keep the work's code and data in their caches from one piece to the next, the three
figures are close. On a shared virtual machine, other tenants' work between two pieces evicts them, and the same
instructions take longer: that part of the pipeline's CPU a concern at the slower rate is the host's, not TAS's.
`python -m bench.host_gap [RATE …]` (default 150 50) prints JSON: the median milliseconds of a piece back to back
(under "0") and at each rate's gap, e.g. {"0": 0.12, "150": 0.46, "50": 0.80}."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from tas_dev.testing import concern_body

from .baselines import bare_app
from .cpu_asgi import call
from .procs import REPO

RATES = (150.0, 50.0)
"""The end-to-end benchmark's rates: a piece every 1/150 s, then every 1/50 s."""
PIECES_SECONDS = 3.0
"""Each gap's pieces take about this long in all (back to back: at least 400 pieces)."""
HEADERS = [(b"host", b"bench"), (b"content-type", b"application/json")]


async def measure(rates: Sequence[float] = RATES, seconds: float = PIECES_SECONDS) -> dict[float, float]:
    """The median CPU milliseconds (this thread's) of one piece of work back to back (rate 0) and at each rate,
    after a warm-up."""
    from referral.domain.concern_schemas import ConcernCreate

    app = bare_app()
    bodies = [json.dumps(concern_body(n)).encode() for n in range(400)]
    database = sqlite3.connect(":memory:")
    database.execute("CREATE TABLE concern (id INTEGER PRIMARY KEY, body TEXT)")

    async def piece(n: int) -> float:
        started = time.thread_time()
        body = bodies[n % len(bodies)]
        concern = ConcernCreate.model_validate_json(body)
        await call(app, HEADERS, body)
        database.execute("INSERT INTO concern (body) VALUES (?)", (concern.model_dump_json(),))
        database.commit()
        return time.thread_time() - started

    for n in range(200):
        await piece(n)
    medians = {}
    for rate in (0.0, *rates):
        count = max(20, int(seconds * rate)) if rate else 400
        times = []
        for n in range(count):
            if rate:
                await asyncio.sleep(1 / rate)
            times.append(await piece(n))
        medians[rate] = 1000 * statistics.median(times)
    database.close()
    return medians


def run_apart(rates: Sequence[float] = RATES) -> dict[float, float]:
    """`measure` in a process of its own (nothing else of the benchmark's in it)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.host_gap", *(f"{rate:g}" for rate in rates)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60 + 2 * PIECES_SECONDS * len(rates),
    )
    return {float(rate): ms for rate, ms in json.loads(done.stdout).items()}


def main() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rates = [float(arg) for arg in sys.argv[1:]] or RATES
    print(json.dumps({f"{rate:g}": round(ms, 4) for rate, ms in asyncio.run(measure(rates)).items()}))


if __name__ == "__main__":
    main()
