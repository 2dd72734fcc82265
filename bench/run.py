"""`python -m bench.run [--quick] [--only NAME ...] [--profile]`: run the benchmarks and write the results.

Writes bench/results/<UTC stamp>.md (the table: benchmark, figure, target, met?), <stamp>.json (all figures,
latency summaries and the machine's description) and bench/results/latency.png.
"""

from __future__ import annotations

import argparse
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
        for name in args.only or DEFAULT:
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


if __name__ == "__main__":
    sys.exit(main())
