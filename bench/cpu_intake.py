"""`python -m bench.cpu_intake [SECONDS] [CONNECTIONS] [PROFILE.txt]`: CPU milliseconds the referral process spends
per `POST /v1/concerns` under the intake's closed-loop load (default 6 s at 32 connections, after a 1-s warm-up).
CPU time per request is far less noisy than latency on a shared machine: a diagnostic for bench/NOTES.md, not one
of the reported benchmarks. Prints one line per run; run it twice. With PROFILE.txt, the measured load is also
sampled with `py-spy record --gil` (collapsed stacks; SQLAlchemy's greenlet-side work shows as separate roots)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from .intake import load
from .system import BenchSystem


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
    connections = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    profile_path = Path(sys.argv[3]).resolve() if len(sys.argv) > 3 else None
    with tempfile.TemporaryDirectory(prefix="tas-cpu-intake-") as tmp_name:
        tmp = Path(tmp_name)
        with BenchSystem(tmp / "intake", services=("referral",)) as system:
            headers = system.senco()
            referral = system.procs["referral"]
            process = psutil.Process(referral.pid)
            load(
                referral,
                tmp=tmp,
                name="warm",
                headers=headers,
                duration=1.0,
                warmup=0.0,
                serial_start=9_000_000,
                connections=connections,
            )
            time.sleep(1.0)  # the relay drains the warm-up's events
            before, stored_before = sum(process.cpu_times()[:2]), concern_count(system)
            spy = (
                None
                if profile_path is None
                else subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--pid",
                        str(referral.pid),
                        "--gil",
                        "--rate",
                        "250",
                        "--duration",
                        str(int(seconds)),
                        "--format",
                        "raw",
                        "--output",
                        str(profile_path),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            result = load(
                referral,
                tmp=tmp,
                name="cpu",
                headers=headers,
                duration=seconds,
                warmup=0.0,
                serial_start=0,
                connections=connections,
            )
            time.sleep(1.5)  # count the relay's publishing of these requests' events too
            used = sum(process.cpu_times()[:2]) - before
            if spy is not None:
                spy.wait(timeout=60)
            # Requests in flight when the window closes complete too: count the concerns stored, not responses.
            stored = concern_count(system) - stored_before
            print(
                f"cpu_intake: {stored} concerns stored, {result['rps']:.0f} req/s, errors {result['error_count']}, "
                f"referral CPU {used:.2f} s = {1000 * used / stored:.2f} ms/request"
            )


def concern_count(system: BenchSystem) -> int:
    path = system.database_urls["referral"].split("///", 1)[1]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM concern").fetchone()[0])


if __name__ == "__main__":
    main()
