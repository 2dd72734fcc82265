"""`python -m bench.profile_scale {upn|chronology|caseload} OUT.txt`: py-spy of caseload while it answers one of the
scale benchmark's series, one request at a time for 13 s, on the cached full-size SQLite database (run
`make bench` once first: it builds bench/cache/caseload-<head>-1000000x10.db). Prints p50 / p99 and writes py-spy's
raw collapsed stacks (all threads, idle included) to OUT.txt. A diagnostic for bench/NOTES.md."""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tas_dev.testing import fictional_upn

from .report import percentile
from .scale import CACHE, LA_CODE, child_id, school_urn
from .system import BenchSystem, sqlite_url

CHILDREN = 1_000_000


def main() -> None:
    series, out = sys.argv[1], Path(sys.argv[2])
    databases = sorted(CACHE.glob(f"caseload-*-{CHILDREN}x10.db"))
    if not databases:
        sys.exit(f"no full-size scale database under {CACHE}: run `make bench` first")
    picks = [random.Random(5).randrange(CHILDREN) for _ in range(3000)]
    with tempfile.TemporaryDirectory(prefix="tas-profile-") as tmp:
        system = BenchSystem(Path(tmp), services=("caseload",), database_urls={"caseload": sqlite_url(databases[0])})
        with system:
            la = system.token("send_officer", "local_authority", la_code=LA_CODE, org_id="la-999")
            senco = system.token(
                "senco", "school", sub="profile-senco", org_id="profile-school", school_urns=[school_urn(picks[0])]
            )
            requests = {
                "upn": [(f"/v1/children?upn={fictional_upn(i, school=i // 1000 % 10000)}", la) for i in picks],
                "chronology": [(f"/v1/children/{child_id(i)}/chronology?limit=50", la) for i in picks],
                "caseload": [("/v1/caseload?limit=50", senco) for _ in picks],
            }[series]
            pyspy = Path(sys.executable).with_name("py-spy")
            with system.client("caseload") as client:
                for path, headers in requests[:100]:  # warm-up
                    client.get(path, headers=headers)
                spy = subprocess.Popen(
                    [
                        str(pyspy),
                        "record",
                        "--pid",
                        str(system.procs["caseload"].pid),
                        "--rate",
                        "500",
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                        "--duration",
                        "15",
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1.0)
                latencies, until = [], time.monotonic() + 13
                for path, headers in requests[100:]:
                    if time.monotonic() > until:
                        break
                    t0 = time.perf_counter()
                    client.get(path, headers=headers)
                    latencies.append((time.perf_counter() - t0) * 1000)
                spy.wait()
    print(
        f"{series}: {len(latencies)} requests, p50 {percentile(latencies, 50):.2f} ms, "
        f"p99 {percentile(latencies, 99):.2f} ms; py-spy stacks in {out}"
    )


if __name__ == "__main__":
    main()
