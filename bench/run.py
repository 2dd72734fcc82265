"""`python -m bench.run [--quick] [--only NAME ...] [--profile]`: run the benchmarks and write the results.

Writes bench/results/<UTC stamp>.md (the table: benchmark, figure, target, met?), <stamp>.json (all figures,
latency summaries and the machine's description) and bench/results/latency.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import e2e, insights, intake, scale, web_plan, web_practice, webhooks
from .engines import CHOICES, ENGINES
from .report import Figure, Report

BENCHMARKS = ("intake", "e2e", "scale", "mis", "webhooks", "web", "practice", "insights")
DEFAULT = ("intake", "e2e", "scale", "webhooks", "web", "practice", "insights")
"""intake (+ memory of referral) and e2e (MIS batch, end to end, memory of all three services), each on SQLite
and then on a throwaway PostgreSQL cluster (`--engine` to pick one; bench/engines.py), scale; `mis`
runs the MIS batch (1,000 concerns) alone; webhooks: a referral decision → the MIS client's receiver, at 50
decisions a second (issue 17); web: the family's plan page beside the API call it wraps, on the scale database;
practice: the practitioners' My tasks, My caseload and child pages beside the API calls they wrap, on the scale
database; insights: the rebuild rate and each answer's latency on the demo generator's plan at scale."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of each benchmark (about two minutes)")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="repeatable; default: all")
    parser.add_argument(
        "--engine",
        action="append",
        choices=tuple(CHOICES),
        help="repeatable; the engines of intake and e2e (default: sqlite, then postgresql)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile (py-spy) the intake even when it meets its targets, and every service during e2e / mis",
    )
    args = parser.parse_args(argv)
    engines = tuple(CHOICES[e] for e in args.engine) if args.engine else ENGINES
    report = Report(quick=args.quick)
    started = time.monotonic()
    failed = []
    with tempfile.TemporaryDirectory(prefix="tas-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for n, name in enumerate(args.only or DEFAULT):
            if n:
                print(f"bench: the disk settles before {name} ({settle():.0f} s)", flush=True)
            print(f"bench: {name} ...", flush=True)
            t0 = time.monotonic()
            try:
                if name == "intake":
                    intake.run(report, tmp=tmp / name, quick=args.quick, force_profile=args.profile, engines=engines)
                elif name == "e2e":
                    e2e.run(report, tmp=tmp / name, quick=args.quick, profile=args.profile, engines=engines)
                elif name == "mis":
                    e2e.run(report, tmp=tmp / name, quick=args.quick, parts=("mis",), profile=args.profile)
                elif name == "webhooks":
                    webhooks.run(report, tmp=tmp / name, quick=args.quick)
                elif name == "scale":
                    scale.run(report, tmp=tmp / name, quick=args.quick)
                elif name == "web":
                    web_plan.run(report, tmp=tmp / name, quick=args.quick)
                elif name == "practice":
                    web_practice.run(report, tmp=tmp / name, quick=args.quick)
                elif name == "insights":
                    insights.run(report, tmp=tmp / name, quick=args.quick)
            except Exception as exc:
                traceback.print_exc()
                failed.append(name)
                report.add(Figure(name, "benchmark failed", f"{type(exc).__name__}: {exc}"[:200], met=False))
            print(f"bench: {name} done in {time.monotonic() - t0:.0f} s", flush=True)
    report.details["total_seconds"] = round(time.monotonic() - started, 1)
    paths = report.write()
    print(report.markdown())
    for kind, path in paths.items():
        print(f"bench: wrote {kind} {path}")
    return 1 if failed else 0


def settle(*, most_seconds: float = 60.0, dirty_kb: int = 16_384) -> float:
    """Before the next benchmark: the previous one's writes flushed (`sync`) and the kernel's dirty pages down to
    `dirty_kb`, so that its write-back does not land in the next one's latencies (the 1M-children lookups after the
    end-to-end runs: bench/NOTES.md, issue 18 session 7). Returns the seconds waited."""
    started = time.monotonic()
    os.sync()
    while time.monotonic() - started < most_seconds and _dirty_kb() > dirty_kb:
        time.sleep(0.5)
    time.sleep(2.0)  # the processes of the previous benchmark have exited; let the load fall
    return time.monotonic() - started


def _dirty_kb() -> int:
    """Linux's Dirty + Writeback from /proc/meminfo (0 where there is none)."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return 0
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return sum(int(fields.get(k, "0 kB").split()[0]) for k in ("Dirty", "Writeback"))


if __name__ == "__main__":
    sys.exit(main())
