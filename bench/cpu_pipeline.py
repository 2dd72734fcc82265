"""`python -m bench.cpu_pipeline [N]`: CPU seconds each process spends per concern while one MIS batch of N
concerns (default 1,000) goes through the whole pipeline, until every family email reaches the SMTP sink.
`python -m bench.cpu_pipeline --idle S`: the CPU each process spends per second over S seconds with nothing to do
(the consumers' and relays' waiting). A diagnostic for bench/NOTES.md, not one of the reported benchmarks."""

import sys
import tempfile
import time
from pathlib import Path

import psutil

from .e2e import mis_batch, wait_for_mail
from .report import Report
from .system import BenchSystem


def main() -> None:
    idle = sys.argv[1:2] == ["--idle"]
    size = float(sys.argv[2]) if idle else int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with (
        tempfile.TemporaryDirectory() as tmp,
        BenchSystem(Path(tmp), services=("referral", "caseload", "notify"), with_smtp=True) as system,
    ):
        time.sleep(2)
        procs = {n: psutil.Process(p.pid) for n, p in system.procs.items()}
        procs["nats"] = psutil.Process(system.nats.process.pid) if hasattr(system.nats, "process") else None
        procs["smtp"] = psutil.Process(system.smtp.pid)
        procs = {k: v for k, v in procs.items() if v}
        before = {n: sum(p.cpu_times()[:2]) for n, p in procs.items()}
        t0 = time.monotonic()
        if idle:
            time.sleep(size)
            after = {n: sum(p.cpu_times()[:2]) for n, p in procs.items()}
            for n in procs:
                print(
                    f"{n:10s} cpu {after[n] - before[n]:6.3f}s  = {1000 * (after[n] - before[n]) / size:.1f} ms/s idle"
                )
            return
        r = Report(quick=True)
        d = mis_batch(system, r, size=int(size), timeout=120)
        wait_for_mail(system.smtp.extra["out"], d.pop("emails"), timeout=120)
        t2 = time.monotonic()
        after = {n: sum(p.cpu_times()[:2]) for n, p in procs.items()}
        print(dict(d.items()), "mails done at %.1fs" % (t2 - t0))
        for n in procs:
            print(f"{n:10s} cpu {after[n] - before[n]:6.2f}s  = {1000 * (after[n] - before[n]) / size:.1f} ms/concern")


if __name__ == "__main__":
    main()
