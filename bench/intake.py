"""Benchmark 1 (intake) and 5 (memory at rest and under the intake load), on SQLite and then on PostgreSQL.

`POST /v1/concerns` on the real referral app (uvicorn, its own process; real nats-server; SQLite with
synchronous=FULL, or a throwaway durable PostgreSQL cluster: bench/engines.py), loaded from another process at 32
connections; then the same load on the three baselines of bench/baselines.py under the same uvicorn settings and
on the same engine (bare, naive, and the floor: bare + the same rows written with the raw driver in one
transaction). Figures are labelled with the engine ("intake (PostgreSQL)") and ratios are within one engine.
When a target is missed (or with --profile), the floor runs again with the body validated as referral's
(`floor_validated_app`: what validation alone leaves of each target's budget), and a second, shorter run is sampled
with py-spy to show where the time goes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engines import (
    ENGINES,
    POSTGRESQL,
    SQLITE,
    cpu_seconds,
    cpu_used,
    create_database,
    driver_dsn,
    label,
    postgres,
    scalar,
)
from .procs import Proc, uvicorn
from .profiling import profile
from .report import RESULTS, Figure, Report, at_least, at_most, summary
from .system import BenchSystem, migrations_dir, sqlite_url

if TYPE_CHECKING:
    from chaos.cluster import Postgres

CONNECTIONS = 32
P99_MS, VS_NAIVE, VS_BARE_PCT = 50, 3.0, 15.0
"""Issue 18's targets for the intake: p99 < 50 ms, ≥ 3× the naive service, ≥ 15% of the bare endpoint."""


class RssSampler:
    """Peak resident memory of some processes, sampled every 0.2 s on a thread while a load runs."""

    def __init__(self, procs: dict[str, Proc]) -> None:
        self.procs = procs
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, proc in self.procs.items():
                rss = proc.rss_mb()
                if rss is not None:
                    self.peak[name] = max(self.peak.get(name, 0.0), rss)
            self._stop.wait(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def load(
    target: Proc,
    *,
    tmp: Path,
    name: str,
    headers: dict[str, str],
    duration: float,
    warmup: float,
    serial_start: int,
    connections: int = CONNECTIONS,
) -> dict[str, Any]:
    """Run bench.loadgen against `target` in its own process; bounded by duration + warm-up + 60 s."""
    spec = {
        "host": "127.0.0.1",
        "port": target.port,
        "path": "/v1/concerns",
        "method": "POST",
        "headers": headers,
        "body": "concern",
        "serial_start": serial_start,
        "connections": connections,
        "warmup_s": warmup,
        "duration_s": duration,
        "timeout_s": 10.0,
    }
    spec_path, out_path = tmp / f"load-{name}.json", tmp / f"load-{name}-result.json"
    spec_path.write_text(json.dumps(spec))
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
        check=True,
        timeout=duration + warmup + 60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out_path.read_text())


def load_with_cpu(target: Proc, pg: Postgres | None, **spec: Any) -> dict[str, Any]:
    """`load`, and the CPU time `target` (and with `pg` the PostgreSQL server) spent per request sent over it."""
    before = cpu_seconds({target.name: target.pid}, pg)
    result = load(target, **spec)
    used = cpu_used(before, cpu_seconds({target.name: target.pid}, pg))
    sent = result.pop("sent", None) or result["requests"]
    result["cpu_ms_per_request"] = {k: 1000 * v / max(1, sent) for k, v in used.items()}
    return result


def p99_note(*, run: dict[str, Any], validated: dict[str, Any] | None) -> str:
    """What the p99 target asks at the intake's closed loop: each of the CONNECTIONS sends its next request when the
    last is answered, so the mean latency is CONNECTIONS ÷ throughput (Little's law), and a p99 below the target, at
    the tail this run had (its p99 ÷ its mean), needs at least CONNECTIONS × tail ÷ target requests a second — and so
    at most 1 ÷ that of referral's CPU a request in its one process. With `validated` (the floor whose body FastAPI
    validates), what that baseline reached in the same run, and whether it is over the target itself."""
    rps, mean, p99 = run.get("rps"), run.get("mean"), run.get("p99")
    if not rps or not mean or p99 is None:
        return ""
    tail = p99 / mean
    needed = CONNECTIONS * tail / (P99_MS / 1000)
    parts = [
        f"{CONNECTIONS} connections in a closed loop: mean {mean:.1f} ms ({CONNECTIONS} ÷ {rps:,.0f} req/s = "
        f"{1000 * CONNECTIONS / rps:.1f}), p99 {tail:.2f}× the mean",
        f"at that tail p99 < {P99_MS} ms needs ≥ {needed:,.0f} req/s, ≤ {1000 / needed:.2f} ms of referral's CPU a "
        "request in its one process",
    ]
    own = run.get("cpu_ms_per_request", {}).get("referral")
    if own is not None:
        parts.append(f"it spent {own:.2f}")
    if validated is not None:
        over = not at_most(validated["p99"], P99_MS)
        parts.append(
            f"the floor with the body validated as referral's: p99 {validated['p99'] or 0:.1f} ms at "
            f"{validated['rps']:,.0f} req/s"
            + (
                ", over the target itself: FastAPI's validation of the body and these rows written raw already miss it"
                if over
                else ""
            )
        )
    return "; ".join(parts)


def cpu_note(cpu: dict[str, float]) -> str:
    parts = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
    return f"CPU {sum(cpu.values()):.1f} ms a request" + (f" ({parts})" if len(cpu) > 1 else "")


def budget_note(
    *,
    needed_rps: float,
    cpu: dict[str, float],
    floor: dict[str, Any],
    floor_share: str,
    floor_misses: bool,
    raw_storage: float | None = None,
    validated: dict[str, Any] | None = None,
    validated_share: str = "",
    validated_misses: bool = False,
) -> str:
    """What a throughput target asks of the service: the requests a second it needs, and so the CPU a request its
    one process may spend at most (one uvicorn worker: one core), against what it spent and what the floor
    baseline's own process spent (the same rows written with the raw driver, nothing validated, audited or
    published). When the floor's CPU is above that budget, no service writing these rows in one process reaches
    the target on this machine; `floor_misses`: the floor's own throughput is below the target. Nothing when the
    baseline the target is measured against served nothing (its errors are in its own row). `raw_storage`: referral's
    CPU a request with the floor's writes in place of its storage (bench/raw_storage.py); above the budget, what is
    left of the miss is not in the storage. `validated`: the run of the floor whose body FastAPI validates into
    referral's model (bench.baselines.floor_validated_app), what it reached (`validated_share`) and whether that is
    below the target (`validated_misses`). When it is, FastAPI's validation of the body (which the issue keeps) and
    the same rows written raw already miss the target: no service of this stack that does more reaches it."""
    if not needed_rps:
        return ""
    budget = 1000 / needed_rps
    own = cpu.get("referral")
    floor_own = floor["cpu_ms_per_request"].get("baseline-floor")
    parts = [f"needs {needed_rps:,.0f} req/s", f"≤ {budget:.2f} ms of referral's CPU a request in its one process"]
    if own is not None:
        parts.append(f"it spent {own:.2f}")
    if floor_own is not None:
        parts.append(f"the floor baseline's own process {floor_own:.2f}")
        if floor_own > budget:
            parts.append("above the budget: out of reach of any one process writing these rows")
    if validated is not None:
        validated_own = validated["cpu_ms_per_request"].get("baseline-floor-validated")
        if validated_own is not None:
            parts.append(
                f"the floor with the body validated as referral's {validated_own:.2f}"
                + (
                    ": above the budget, out of reach of any one FastAPI process that validates the body as the "
                    "issue keeps and writes these rows"
                    if validated_own > budget
                    else ""
                )
            )
    if raw_storage is not None:
        parts.append(
            f"with the floor's writes in place of its storage referral spent {raw_storage:.2f}"
            + (": above the budget, so what is left is not the storage" if raw_storage > budget else "")
        )
    parts.append(f"the floor baseline reached {floor_share}" + (", below the target itself" if floor_misses else ""))
    if validated is not None and validated_share:
        parts.append(
            f"the floor with the body validated as referral's reached {validated_share}"
            + (", below the target itself" if validated_misses else "")
        )
    return "; ".join(parts)


def with_raw_storage(tmp: Path, *, duration: float, warmup: float) -> dict[str, Any]:
    """The intake's load on referral with the floor's writes in place of its storage (bench/raw_storage.py), a system
    of its own: its throughput and its CPU a request."""
    with BenchSystem(
        tmp / "raw-storage", services=("referral",), apps={"referral": "bench.raw_storage:create_app"}
    ) as system:
        return load_with_cpu(
            system.procs["referral"],
            None,
            tmp=tmp,
            name="raw-storage",
            headers=system.senco(),
            duration=duration,
            warmup=warmup,
            serial_start=2_000_000,
        )


def outbox_backlog(url: str) -> int | None:
    """Outbox rows not yet published, in the database at the service's URL (SQLite or PostgreSQL)."""
    count = scalar(url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    return None if count is None else int(count)


def wait_drained(url: str, timeout: float) -> float | None:
    """Seconds until the outbox relay has published everything, or None if it has not within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if outbox_backlog(url) == 0:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def baseline(
    name: str,
    pg: Postgres | None,
    *,
    tmp: Path,
    env: dict[str, str],
    headers: dict[str, str],
    serial_start: int = 1_000_000,
    **timing: float,
) -> dict[str, Any]:
    """The intake's load (`duration`, `warmup`) on the baseline `bench.baselines:<name>_app` in a uvicorn process of
    its own, stopped after; its pupils' serials from `serial_start` (two baselines that share a database do not
    raise concerns about the same pupils)."""
    proc = uvicorn(
        f"baseline-{name.replace('_', '-')}", f"bench.baselines:{name}_app", workdir=tmp / f"baseline-{name}", env=env
    )
    try:
        return load_with_cpu(proc, pg, tmp=tmp, name=name, headers=headers, serial_start=serial_start, **timing)
    finally:
        proc.stop()


def run(
    report: Report, *, tmp: Path, quick: bool, force_profile: bool = False, engines: tuple[str, ...] = ENGINES
) -> None:
    """The intake and its three baselines on each engine in turn (SQLite first), each engine's ratios against
    its own baselines."""
    if SQLITE in engines:
        run_on(report, tmp=tmp / "sqlite", quick=quick, force_profile=force_profile)
    if POSTGRESQL in engines:
        with postgres(report) as cluster:
            if cluster is None:
                report.add(Figure(label("intake", POSTGRESQL), "all figures", "not run (no PostgreSQL)"))
                return
            run_on(report, tmp=tmp / "postgresql", quick=quick, force_profile=force_profile, pg=cluster)


def run_on(report: Report, *, tmp: Path, quick: bool, force_profile: bool, pg: Postgres | None = None) -> None:
    """On SQLite files, or on `pg`'s databases (referral's own, and one each for the naive and floor baselines)."""
    engine = SQLITE if pg is None else POSTGRESQL
    duration, warmup = (4.0, 1.0) if quick else (25.0, 3.0)
    bench = label("intake", engine)
    details: dict[str, Any] = {"connections": CONNECTIONS, "duration_s": duration, "warmup_s": warmup}
    results: dict[str, dict[str, Any]] = {}
    tmp.mkdir(parents=True, exist_ok=True)
    from tas_common.migrations import upgrade

    if pg is None:
        urls: dict[str, str] = {}
        upgrade(migrations_dir("referral"), sqlite_url(tmp / "floor.db"))
        baseline_env = {"BENCH_NAIVE_DB": str(tmp / "naive.db"), "BENCH_FLOOR_DB": str(tmp / "floor.db")}
    else:
        urls = {"referral": pg.url("referral")}
        floor_url = create_database(pg, "bench_floor", owner="referral")
        upgrade(migrations_dir("referral"), floor_url)
        naive_url = create_database(pg, "bench_naive").replace("+asyncpg", "+psycopg")
        baseline_env = {"BENCH_NAIVE_URL": naive_url, "BENCH_FLOOR_PG": driver_dsn(floor_url)}
        details["postgresql"] = "throwaway cluster, durable defaults (fsync, synchronous_commit on)"
    with BenchSystem(tmp / "intake", services=("referral",), database_urls=urls) as system:
        headers = system.senco()
        referral = system.procs["referral"]
        time.sleep(1.0)
        rest = referral.rss_mb()
        for name in ("bare", "naive", "floor"):
            results[name] = baseline(
                name, pg, tmp=tmp, env=baseline_env, headers=headers, duration=duration, warmup=warmup
            )
        with RssSampler({"referral": referral}) as sampler:
            results["intake"] = load_with_cpu(
                referral,
                pg,
                tmp=tmp,
                name="intake",
                headers=headers,
                duration=duration,
                warmup=warmup,
                serial_start=0,
            )
        referral_url = system.database_urls["referral"]
        details["outbox_backlog_after_load"] = outbox_backlog(referral_url)
        details["outbox_drain_s"] = wait_drained(referral_url, timeout=30 if quick else 120)
        peak = sampler.peak.get("referral")
        for k, v in results.items():
            series = f"intake (POST /v1/concerns, {engine})" if k == "intake" else f"baseline: {k} ({engine})"
            report.latencies[series] = v["latencies_ms"]
        stats = {
            k: summary(v.pop("latencies_ms"))
            | {kk: v[kk] for kk in ("rps", "requests", "error_count", "errors", "statuses", "cpu_ms_per_request")}
            for k, v in results.items()
        }
        details["runs"] = stats
        i, bare, naive, floor = stats["intake"], stats["bare"], stats["naive"], stats["floor"]
        cpu = i["cpu_ms_per_request"]
        vs_naive = i["rps"] / naive["rps"] if naive["rps"] else None
        vs_bare = i["rps"] / bare["rps"] if bare["rps"] else None
        vs_floor = i["rps"] / floor["rps"] if floor["rps"] else None
        pct_bare = None if vs_bare is None else vs_bare * 100
        floor_vs_naive = floor["rps"] / naive["rps"] if naive["rps"] else None
        floor_pct_bare = 100 * floor["rps"] / bare["rps"] if bare["rps"] else None
        replaced: dict[str, Any] | None = None
        if pg is None and (force_profile or not at_least(vs_naive, VS_NAIVE)):
            replaced = with_raw_storage(tmp, duration=duration, warmup=warmup)
            details["raw_storage"] = {k: replaced[k] for k in ("rps", "requests", "error_count", "cpu_ms_per_request")}
        raw_cpu = None if replaced is None or replaced["error_count"] else replaced["cpu_ms_per_request"]["referral"]
        missed = not (
            at_most(i["p99"], P99_MS)
            and i["error_count"] == 0
            and at_least(vs_naive, VS_NAIVE)
            and at_least(pct_bare, VS_BARE_PCT)
        )
        validated: dict[str, Any] | None = None
        if missed or force_profile:
            validated_run = baseline(
                "floor_validated",
                pg,
                tmp=tmp,
                env=baseline_env,
                headers=headers,
                serial_start=3_000_000,
                duration=duration,
                warmup=warmup,
            )
            validated = summary(validated_run.pop("latencies_ms")) | {
                k: validated_run[k]
                for k in ("rps", "requests", "error_count", "errors", "statuses", "cpu_ms_per_request")
            }
            details["floor_validated"] = validated
            if validated["error_count"]:
                validated = None  # its own row shows the errors; no note leans on it
        validated_vs_naive = validated["rps"] / naive["rps"] if validated and naive["rps"] else None
        validated_pct_bare = 100 * validated["rps"] / bare["rps"] if validated and bare["rps"] else None
        report.add(
            Figure(bench, "throughput", i["rps"], "req/s", note=f"{CONNECTIONS} connections, {duration:.0f} s"),
            Figure(bench, "p50 latency", i["p50"], "ms"),
            Figure(
                bench,
                "p99 latency",
                i["p99"],
                "ms",
                f"< {P99_MS} ms",
                at_most(i["p99"], P99_MS),
                note="" if at_most(i["p99"], P99_MS) else p99_note(run=i, validated=validated),
            ),
            Figure(bench, "errors", i["error_count"], "", "0", i["error_count"] == 0),
            Figure(
                bench,
                "CPU per request",
                sum(cpu.values()),
                "ms",
                note=", ".join(f"{k} {v:.1f}" for k, v in cpu.items()) + "; every request sent, warm-up included",
            ),
            Figure(
                bench,
                "intake / naive baseline",
                vs_naive,
                "×",
                f"≥ {VS_NAIVE:.0f}×",
                at_least(vs_naive, VS_NAIVE),
                note=budget_note(
                    needed_rps=VS_NAIVE * naive["rps"],
                    cpu=cpu,
                    floor=floor,
                    floor_share=f"{floor_vs_naive or 0:.2f}× naive",
                    floor_misses=not at_least(floor_vs_naive, VS_NAIVE),
                    raw_storage=raw_cpu,
                    validated=validated,
                    validated_share="" if validated_vs_naive is None else f"{validated_vs_naive:.2f}× naive",
                    validated_misses=not at_least(validated_vs_naive, VS_NAIVE),
                ),
            ),
            Figure(
                bench,
                "intake / bare baseline",
                pct_bare,
                "%",
                f"≥ {VS_BARE_PCT:.0f}%",
                at_least(pct_bare, VS_BARE_PCT),
                note=budget_note(
                    needed_rps=VS_BARE_PCT / 100 * bare["rps"],
                    cpu=cpu,
                    floor=floor,
                    floor_share=f"{floor_pct_bare or 0:.1f}% of bare",
                    floor_misses=not at_least(floor_pct_bare, VS_BARE_PCT),
                    validated=validated,
                    validated_share="" if validated_pct_bare is None else f"{validated_pct_bare:.1f}% of bare",
                    validated_misses=not at_least(validated_pct_bare, VS_BARE_PCT),
                ),
            ),
            Figure(
                bench,
                "intake / floor baseline",
                None if vs_floor is None else vs_floor * 100,
                "%",
                note="the floor: bare + the same rows written with the raw driver, one transaction a request",
            ),
            Figure(
                bench,
                "baseline bare: throughput",
                bare["rps"],
                "req/s",
                note=f"p50 {bare['p50'] or 0:.1f} ms, p99 {bare['p99'] or 0:.1f} ms, errors {bare['error_count']}, "
                + cpu_note(bare["cpu_ms_per_request"]),
            ),
            Figure(
                bench,
                "baseline naive: throughput",
                naive["rps"],
                "req/s",
                note=f"p50 {naive['p50'] or 0:.1f} ms, p99 {naive['p99'] or 0:.1f} ms, errors {naive['error_count']}, "
                + cpu_note(naive["cpu_ms_per_request"]),
            ),
            Figure(
                bench,
                "baseline floor: throughput",
                floor["rps"],
                "req/s",
                note=f"p50 {floor['p50'] or 0:.1f} ms, p99 {floor['p99'] or 0:.1f} ms, errors {floor['error_count']}, "
                + cpu_note(floor["cpu_ms_per_request"]),
            ),
            Figure(
                bench,
                "outbox backlog when the load stopped",
                details["outbox_backlog_after_load"],
                "events",
                note="drained in "
                + (
                    f"{details['outbox_drain_s']:.1f} s"
                    if details["outbox_drain_s"] is not None
                    else "(not within the wait)"
                ),
            ),
            Figure(label("memory", engine), "referral RSS at rest", rest, "MB", "< 150 MB", at_most(rest, 150)),
            Figure(
                label("memory", engine),
                "referral RSS under the intake load (peak)",
                peak,
                "MB",
                "< 300 MB",
                at_most(peak, 300),
            ),
        )
        if "floor_validated" in details:
            shown = details["floor_validated"]
            report.add(
                Figure(
                    bench,
                    "baseline floor, body validated as referral's: throughput",
                    shown["rps"],
                    "req/s",
                    note="a diagnostic of the targets (bench/baselines.py floor_validated_app): the floor whose route "
                    "takes referral's ConcernCreate, validated by FastAPI; "
                    f"p50 {shown['p50'] or 0:.1f} ms, p99 {shown['p99'] or 0:.1f} ms, errors {shown['error_count']}, "
                    + cpu_note(shown["cpu_ms_per_request"]),
                )
            )
        if replaced is not None:
            report.add(
                Figure(
                    bench,
                    "CPU per request, referral with the floor's writes in place of its storage",
                    raw_cpu,
                    "ms",
                    note=f"a diagnostic of the {VS_NAIVE:.0f}× target (bench/raw_storage.py): uvicorn, middleware, "
                    "principal, validation and relay as shipped, one fsync a request as the floor; "
                    f"{replaced['rps']:,.0f} req/s, errors {replaced['error_count']}",
                )
            )
        if missed or force_profile:
            seconds = 3.0 if quick else 12.0
            raw = RESULTS / f"{report.stamp}-intake-{engine.lower()}-profile.txt"
            RESULTS.mkdir(parents=True, exist_ok=True)
            holder: dict[str, Any] = {}
            thread = threading.Thread(
                target=lambda: holder.update(
                    load(
                        referral,
                        tmp=tmp,
                        name="intake-profiled",
                        headers=headers,
                        duration=seconds + 2,
                        warmup=0.5,
                        serial_start=5_000_000,
                    )
                )
            )
            thread.start()
            time.sleep(1.0)
            prof = profile(referral.pid, seconds, raw)
            thread.join(timeout=seconds + 120)
            if prof is not None:
                prof["stacks"] = str(raw.relative_to(RESULTS.parent.parent)) if raw.exists() else ""
                details["profile"] = prof
    report.details[bench] = details
