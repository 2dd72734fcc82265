"""Benchmarks 2 (MIS batch), 3 (end to end) and 5 (memory of caseload and notify), on one throwaway system:
nats-server, referral, caseload and notify under uvicorn and the SMTP sink, each its own process.

- MIS batch: one `POST /v1/mis/concerns` with 1,000 concerns (`{"items": [...]}`, an `org_type=mis` token with
  role `mis_client`): time to 2xx, then time until every child exists in caseload (read from caseload's
  database). Reported as not available when referral does not serve the route yet.
- End to end: concerns posted open-loop at a steady rate (sends are scheduled on a clock, never wait for
  responses); for each, the time from the POST to the family email being accepted by the SMTP sink, matched
  by recipient (`parent<n>@example.org` in `concern_body(n)`). It starts once the MIS batch's work has drained
  (every outbox published, every consumer caught up, from the services' /metrics): a steady state, not the tail
  of the batch. Two rates one after the other (RATES: 50/s, then 150/s with issue 18's p99 < 250 ms), each
  with the CPU time every process of the pipeline (referral, caseload, notify, nats-server, SMTP sink) spent per
  concern over the run (issue 18: ≤ 10 ms, so that two cores carry 150/s), and each service's event loop's share
  of its own. When 50/s misses the CPU target, 50/s again on a fresh system whose caseload and notify consumers
  linger 100 ms after every fetch (`what_the_cpu_target_costs`): what sharing each hop's fixed cost a message
  would cost in latency, reported as a variant without targets; and what this host charges for the pause between
  two concerns at each rate, with none of the pipeline running (bench/host_gap.py).


Both on SQLite and then, the end-to-end rates only, with all three services on a throwaway PostgreSQL cluster
(bench/engines.py; a database per service, durable defaults), its server processes' CPU counted in the pipeline's
(its backends do the work SQLite does inside the services). Figures are labelled with the engine."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tas_common.identifiers import nhs_check_digit
from tas_dev.testing import concern_body

from . import host_gap
from .engines import ENGINES, POSTGRESQL, SQLITE, cpu_seconds, cpu_used, label, postgres
from .intake import RssSampler
from .loadgen import read_response, request_bytes
from .profiling import Profiler
from .report import Figure, Report, at_most, summary
from .smtpsink import Received
from .system import BenchSystem

if TYPE_CHECKING:
    from chaos.cluster import Postgres


def distinct_serials(start: int, count: int) -> list[int]:
    """Serials whose fictional children differ in UPN *and* NHS number (`fictional_nhs_number` moves on to the
    next seed when a seed has no valid check digit, so neighbouring serials can share one; caseload would then
    rightly match them as the same child)."""
    serials: list[int] = []
    n = start
    while len(serials) < count:
        if nhs_check_digit(f"999{n % 1_000_000:06d}") is not None:
            serials.append(n)
        n += 1
    assert serials[-1] - serials[0] < 1_000_000
    return serials


def email_of(serial: int) -> str:
    return f"parent{serial}@example.org"


def children_present(db_path: Path, upns: list[str]) -> int:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS want(upn TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM want")
            conn.executemany("INSERT OR IGNORE INTO want VALUES (?)", [(u,) for u in upns])
            return int(conn.execute("SELECT count(*) FROM child JOIN want USING (upn)").fetchone()[0])
    except sqlite3.Error:
        return 0


def mis_batch(system: BenchSystem, report: Report, *, size: int, timeout: float) -> dict[str, Any]:
    bench = label("MIS batch", SQLITE)  # run on SQLite only (children_present reads caseload's SQLite file)
    serials = distinct_serials(100_000, size)
    items = [concern_body(n) | {"mis_record_id": f"bench-{n}"} for n in serials]
    upns = [item["child"]["upn"] for item in items]
    headers = system.token("mis_client", "mis", school_urns=["100000"], org_id="mis-bench", sub="mis-bench")
    caseload_db = Path(system.database_urls["caseload"].split("///", 1)[1])
    with system.client("referral", timeout=120) as client:
        t0 = time.monotonic()
        response = client.post("/v1/mis/concerns", json={"items": items}, headers=headers)
        to_2xx = time.monotonic() - t0
    if response.status_code in (404, 405):
        report.add(
            Figure(
                bench,
                f"{size:,} concerns in one request",
                "not available",
                met=None,
                note=f"POST /v1/mis/concerns answered {response.status_code}: not built in this tree",
            )
        )
        return {"available": False, "status": response.status_code}
    if response.status_code >= 300:
        report.add(
            Figure(
                bench,
                f"{size:,} concerns in one request",
                f"HTTP {response.status_code}",
                met=False,
                note=response.text[:150].replace("|", "/"),
            )
        )
        return {"available": True, "status": response.status_code, "body": response.text[:2000]}
    present = 0
    all_in_caseload: float | None = None
    while time.monotonic() - t0 < timeout:
        present = children_present(caseload_db, upns)
        if present >= size:
            all_in_caseload = time.monotonic() - t0
            break
        time.sleep(0.05)
    report.add(
        Figure(bench, f"time to 2xx for {size:,} concerns", to_2xx * 1000, "ms", "< 1 s", at_most(to_2xx, 1.0)),
        Figure(
            bench,
            f"time until all {size:,} children are in caseload",
            None if all_in_caseload is None else all_in_caseload * 1000,
            "ms",
            "< 5 s",
            at_most(all_in_caseload, 5.0),
            note="" if all_in_caseload is not None else f"only {present} within {timeout:.0f} s",
        ),
    )
    return {
        "available": True,
        "status": response.status_code,
        "to_2xx_s": to_2xx,
        "all_in_caseload_s": all_in_caseload,
        "present": present,
        "emails": [email_of(n) for n in serials],
    }


CONNECTIONS = 200
"""At most this many POSTs open at once (connections to referral)."""


async def open_loop(url: str, headers: dict[str, str], serials: list[int], rate: float) -> dict[int, Any]:
    """POST concern_body(n) for each serial at `rate` per second on a fixed schedule; returns serial ->
    (monotonic send time, status or error name).

    The requests are written as raw HTTP/1.1 bytes on kept-alive asyncio streams (bench.loadgen's), not with an
    HTTP client library: httpx cost ~4.5 ms of the bench process's CPU a request, 0.7 of a core at 150/s, taken
    from the two cores the pipeline it measures runs on (bench/NOTES.md, session 8)."""
    sent: dict[int, Any] = {}
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    spec = {"method": "POST", "path": "/v1/concerns", "host": host, "port": port, "headers": headers}
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    # At most CONNECTIONS requests are open at once; one due while all are busy waits here, its wait counted.
    gate = asyncio.Semaphore(CONNECTIONS)

    async def exchange(payload: bytes) -> int:
        """Send on a kept connection, or a new one. A kept connection the server closed while it was idle (its
        keep-alive timeout) fails before any answer: that request never reached the service, so it is sent once
        more on a new connection, as an HTTP client library does."""
        while idle:
            reader, writer = idle.pop()
            if reader.at_eof():
                writer.close()
                continue
            try:
                writer.write(payload)
                status = await read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                writer.close()
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise  # part of an answer came: the request was handled
                continue
            except BaseException:
                writer.close()
                raise
            idle.append((reader, writer))
            return status
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(payload)
            status = await read_response(reader)
        except BaseException:
            writer.close()
            raise
        idle.append((reader, writer))
        return status

    async def post(serial: int, payload: bytes) -> None:
        t = time.monotonic()  # the scheduled send: time waiting at the gate counts in the latency
        sent[serial] = (t, "no answer")  # until it has one: a request still open at the deadline counts so
        try:
            async with asyncio.timeout(30.0), gate:
                sent[serial] = (t, await exchange(payload))
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            sent[serial] = (t, type(exc).__name__)

    payloads = {n: request_bytes(spec, json.dumps(concern_body(n), separators=(",", ":")).encode()) for n in serials}
    tasks = []
    start = time.monotonic() + 0.2
    for i, serial in enumerate(serials):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(serial, payloads[serial])))
    _, pending = await asyncio.wait(tasks, timeout=60)  # each POST gives up after 30 s of its own
    for task in pending:
        task.cancel()
    for _, writer in idle:
        writer.close()
    return sent


def wait_for_mail(out: Path, emails: list[str], timeout: float, stall: float = 30.0) -> dict[str, float]:
    """Until every email has arrived, or nothing new has arrived for `stall` seconds, or `timeout` has passed:
    a slow pipeline is measured as slow, and only what stops arriving is counted as lost."""
    deadline = time.monotonic() + timeout
    seen, last_progress = -1, time.monotonic()
    mail = Received(out)
    while True:
        received = mail.update()
        if all(e in received for e in emails):
            return received
        now = time.monotonic()
        if len(received) > seen:
            seen, last_progress = len(received), now
        if now > deadline or now - last_progress > stall:
            return received
        time.sleep(0.1)


def backlog(system: BenchSystem) -> int:
    """Outbox rows not yet published plus messages not yet handled, summed over the services (their /metrics)."""
    total = 0
    for service in system.procs:
        with system.client(service, timeout=10) as client:
            for line in client.get("/metrics").text.splitlines():
                if line.startswith(("tas_outbox_pending{", "tas_consumer_pending{")):
                    total += int(float(line.rsplit(" ", 1)[1]))
    return total


def wait_until_idle(system: BenchSystem, timeout: float) -> float:
    """Until every outbox is published and every consumer has handled everything (twice in a row), so that the
    steady-rate run does not start on an earlier benchmark's backlog; returns the seconds waited."""
    t0 = time.monotonic()
    quiet = 0
    while quiet < 2 and time.monotonic() - t0 < timeout:
        quiet = quiet + 1 if backlog(system) == 0 else 0
        time.sleep(0.5)
    return time.monotonic() - t0


RATES: dict[float, tuple[float | None, float]] = {50.0: (100.0, 500.0), 150.0: (None, 250.0)}
"""Concerns per second -> (p50, p99) targets in ms (None: no target)."""
CPU_PER_CONCERN_MS = 10.0
SLOW_RATE = 50.0
LINGERING_SECONDS = 0.1
"""When the pipeline misses its CPU target at SLOW_RATE, the rate is run again with caseload's and notify's
consumers lingering this long after every fetch (`what_the_cpu_target_costs`)."""
LINGER_SETTINGS = ("TAS_CONSUMER_LINGER_SECONDS", "TAS_CONSUMER_LINGER_LONGEST_SECONDS")
SERVICES = ("referral", "caseload", "notify")
"""The pipeline's services, each its own process."""


def pipeline_cpu(system: BenchSystem, pg: Postgres | None = None) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process of the pipeline, PostgreSQL's server processes
    with `pg` (bench/engines.py `cpu_seconds`)."""
    pids = {name: proc.pid for name, proc in system.procs.items()}
    if system.smtp is not None:
        pids["smtp sink"] = system.smtp.pid
    nats = getattr(system.nats, "process", None)
    if nats is not None:
        pids["nats-server"] = nats.pid
    return cpu_seconds(pids, pg)


def event_loop_cpu(system: BenchSystem) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each service's main thread: its event loop, where the requests,
    the handlers, the relay and SQLAlchemy run (SQLite's statements and commits run on aiosqlite's threads). Read
    from Linux's /proc/<pid>/task/<pid>/stat (utime and stime, the 14th and 15th fields, in clock ticks): psutil is
    bench.lock's, and the tests import bench from make test's environment."""
    used = {}
    for name, proc in system.procs.items():
        try:
            stat = Path(f"/proc/{proc.pid}/task/{proc.pid}/stat").read_text()
        except OSError:  # the process has ended
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces: field 3 onwards
        used[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def end_to_end(
    system: BenchSystem,
    report: Report,
    *,
    rate: float,
    seconds: float,
    serial_start: int = 300_000,
    engine: str = SQLITE,
    pg: Postgres | None = None,
    variant: str = "",
) -> dict[str, Any]:
    """`variant`: the run is a variation of the configuration, not the system as shipped (its name goes in the
    benchmark's label); its latency and CPU figures carry no target."""
    bench = label(f"end to end {rate:.0f}/s" + (f", {variant}" if variant else ""), engine)
    p50_target, p99_target = (None, None) if variant else RATES.get(rate, (None, None))
    cpu_target = None if variant else CPU_PER_CONCERN_MS
    serials = distinct_serials(serial_start, int(rate * seconds))
    headers = system.senco()
    loops_before = event_loop_cpu(system)
    cpu_before = pipeline_cpu(system, pg)
    generator_before = os.times()
    sent = asyncio.run(open_loop(system.procs["referral"].url, headers, serials, rate))
    generator_after = os.times()
    generator_ms = (
        1000
        * sum(getattr(generator_after, f) - getattr(generator_before, f) for f in ("user", "system"))
        / max(1, len(serials))
    )
    accepted = [n for n, (_, status) in sent.items() if status == 201]
    assert system.smtp is not None
    received = wait_for_mail(system.smtp.extra["out"], [email_of(n) for n in accepted], timeout=300)
    cpu_after = pipeline_cpu(system, pg)
    loops_after = event_loop_cpu(system)
    cpu_ms = {k: 1000 * v / max(1, len(serials)) for k, v in cpu_used(cpu_before, cpu_after).items()}
    loop_ms = {
        k: 1000 * (loops_after[k] - v) / max(1, len(serials)) for k, v in loops_before.items() if k in loops_after
    }
    cpu_total = sum(cpu_ms.values())
    latencies = [(received[email_of(n)] - sent[n][0]) * 1000 for n in accepted if email_of(n) in received]
    lost = len(serials) - len(latencies)
    report.latencies[f"end to end {rate:.0f}/s{f', {variant}' if variant else ''} (POST → SMTP, {engine})"] = latencies
    s = summary(latencies)
    report.add(
        Figure(bench, "concerns posted", len(serials), note=f"{rate:.0f}/s for {seconds:.0f} s, open loop"),
        Figure(
            bench,
            "p50 POST → email accepted",
            s["p50"],
            "ms",
            f"< {p50_target:.0f} ms" if p50_target else "",
            at_most(s["p50"], p50_target) if p50_target else None,
        ),
        Figure(
            bench,
            "p99 POST → email accepted",
            s["p99"],
            "ms",
            f"< {p99_target:.0f} ms" if p99_target else "",
            at_most(s["p99"], p99_target) if p99_target else None,
        ),
        Figure(bench, "max POST → email accepted", s["max"], "ms"),
        Figure(
            bench,
            "load generator's CPU a request",
            generator_ms,
            "ms",
            note="the benchmark's own process, on the same two cores (not in the pipeline's figure)",
        ),
        Figure(
            bench,
            "CPU per concern, whole pipeline",
            cpu_total,
            "ms",
            f"≤ {cpu_target:.0f} ms" if cpu_target else "",
            cpu_total <= cpu_target if cpu_target else None,
            note=", ".join(
                f"{k} {v:.1f}" + (f" (its event loop {loop_ms[k]:.1f})" if k in loop_ms else "")
                for k, v in cpu_ms.items()
            ),
        ),
        Figure(
            bench,
            "lost (no email, nothing arriving for 30 s)",
            lost,
            "",
            "0",
            lost == 0,
            note=f"{len(serials) - len(accepted)} POSTs not answered 201" if len(accepted) < len(serials) else "",
        ),
    )
    return {
        "posted": len(serials),
        "accepted": len(accepted),
        "received": len(latencies),
        "lost": lost,
        "latency_ms": s,
        "cpu_ms_per_concern": cpu_ms,
        "event_loop_cpu_ms_per_concern": loop_ms,
        "generator_cpu_ms_per_request": generator_ms,
        "post_statuses": sorted({str(v[1]) for v in sent.values()}),
    }


def what_the_cpu_target_costs(
    report: Report, *, tmp: Path, seconds: float, urls: dict[str, str], engine: str, pg: Postgres | None
) -> dict[str, Any]:
    """The pipeline's CPU a concern at SLOW_RATE is mostly each hop's fixed cost a message (its fetch, transaction,
    commit, relay round and ack), which at that rate one message pays alone: what lingering to share it would cost
    in latency. A fresh system whose caseload and notify consumers linger LINGERING_SECONDS after every fetch (the
    shipped ones linger 20–40 ms), warmed up for a few seconds, then the same open-loop run; reported as a variant,
    beside the system as shipped."""
    lingering = {name: str(LINGERING_SECONDS) for name in LINGER_SETTINGS}
    overrides = dict.fromkeys(("caseload", "notify"), lingering)
    system = BenchSystem(tmp, services=SERVICES, with_smtp=True, database_urls=dict(urls), service_env=overrides)
    with system:
        headers = system.senco()
        warm_up = distinct_serials(700_000, int(SLOW_RATE * 3))
        sent = asyncio.run(open_loop(system.procs["referral"].url, headers, warm_up, SLOW_RATE))
        assert system.smtp is not None
        wait_for_mail(system.smtp.extra["out"], [email_of(n) for n, (_, status) in sent.items() if status == 201], 60)
        waited = wait_until_idle(system, timeout=120)
        result = end_to_end(
            system,
            report,
            rate=SLOW_RATE,
            seconds=seconds,
            serial_start=800_000,
            engine=engine,
            pg=pg,
            variant=f"caseload's and notify's consumers lingering {LINGERING_SECONDS * 1000:.0f} ms",
        )
    return {"waited_for_idle_s": round(waited, 1), "linger_seconds": LINGERING_SECONDS} | result


def what_a_pause_costs(report: Report, *, engine: str, details: dict[str, Any]) -> dict[str, float]:
    """What this host charges for a pause (bench/host_gap.py, in a process of its own once the pipeline has
    stopped): the same small piece of work, none of the pipeline's, back to back and at each rate's gap between
    concerns; beside it the pipeline's own CPU a concern at SLOW_RATE against the fastest rate."""
    fast = max(RATES)
    measured = host_gap.run_apart((fast, SLOW_RATE))
    together, at_fast, at_slow = measured[0.0], measured[fast], measured[SLOW_RATE]

    def pipeline(rate: float) -> float:
        return sum(details.get(f"end_to_end_{rate:.0f}", {}).get("cpu_ms_per_concern", {}).values())

    ratio = pipeline(SLOW_RATE) / pipeline(fast) if pipeline(fast) else None
    host_ratio = at_slow / at_fast if at_fast else None
    explained = (
        ratio is not None and host_ratio is not None and ratio <= host_ratio and pipeline(fast) <= CPU_PER_CONCERN_MS
    )
    report.add(
        Figure(
            label("end to end", engine),
            f"host: the same work once every {1000 / SLOW_RATE:.0f} ms ÷ back to back",
            at_slow / together if together else None,
            "×",
            note=f"none of the pipeline running (bench/host_gap.py: a concern's body validated, the bare endpoint "
            f"called in process, a SQLite insert): {together:.2f} ms back to back, {at_fast:.2f} once every "
            f"{1000 / fast:.1f} ms ({fast:.0f}/s), {at_slow:.2f} once every {1000 / SLOW_RATE:.0f} ms "
            f"({SLOW_RATE:.0f}/s); the pipeline's CPU a concern at {SLOW_RATE:.0f}/s ÷ at {fast:.0f}/s: "
            + (f"{ratio:.2f}×" if ratio else "not measured")
            + (
                f", within the host's own {host_ratio:.2f}× for the same change of pace: the pipeline meets the "
                f"target at {fast:.0f}/s ({pipeline(fast):.2f} ms), and what {SLOW_RATE:.0f}/s adds is what this host "
                "charges for the pauses between concerns"
                if explained and host_ratio is not None
                else ""
            ),
        )
    )
    return {"back_to_back_ms": together, f"every_{fast:.0f}_ms": at_fast, f"every_{SLOW_RATE:.0f}_ms": at_slow}


def run(
    report: Report,
    *,
    tmp: Path,
    quick: bool,
    parts: tuple[str, ...] = ("mis", "e2e"),
    profile: bool = False,
    engines: tuple[str, ...] = ENGINES,
) -> None:
    """`parts` on SQLite, then the end-to-end rates on PostgreSQL (the MIS batch runs on SQLite only)."""
    if SQLITE in engines:
        run_on(report, tmp=tmp / "sqlite", quick=quick, parts=parts, profile=profile)
    if POSTGRESQL in engines and "e2e" in parts:
        with postgres(report) as cluster:
            if cluster is None:
                report.add(Figure(label("end to end", POSTGRESQL), "all figures", "not run (no PostgreSQL)"))
                return
            run_on(report, tmp=tmp / "postgresql", quick=quick, parts=("e2e",), profile=profile, pg=cluster)


def run_on(
    report: Report,
    *,
    tmp: Path,
    quick: bool,
    parts: tuple[str, ...],
    profile: bool,
    pg: Postgres | None = None,
) -> None:
    """On SQLite files, or on `pg`'s databases (one per service, as deploy/postgres makes them)."""
    engine = SQLITE if pg is None else POSTGRESQL
    batch, seconds = (200, 8.0) if quick else (1000, 60.0)
    if parts == ("mis",):
        batch = 1000  # one request: the real size is cheap enough for a smoke run
    details: dict[str, Any] = {}
    urls = {} if pg is None else {service: pg.url(service) for service in SERVICES}
    if pg is not None:
        details["postgresql"] = "throwaway cluster, durable defaults (fsync, synchronous_commit on)"
    with BenchSystem(tmp, services=SERVICES, with_smtp=True, database_urls=urls) as system:
        time.sleep(2.0)
        rest = system.rss_mb()
        with RssSampler(system.procs) as sampler:
            if "mis" in parts:
                mis: dict[str, Any] = {}
                with Profiler(system, report, "mis", 12.0, mis, enabled=profile and "e2e" not in parts):
                    mis |= mis_batch(system, report, size=batch, timeout=30 if quick else 60)
                    emails = mis.pop("emails", [])
                    if emails:  # let notify finish the batch's emails before the end-to-end run measures
                        assert system.smtp is not None
                        wait_for_mail(system.smtp.extra["out"], emails, timeout=30 if quick else 90)
                details["mis_batch"] = mis
            for n, rate in enumerate(RATES if "e2e" in parts else ()):
                e2e: dict[str, Any] = {"waited_for_idle_s": round(wait_until_idle(system, timeout=120), 1)}
                name = f"e2e-{rate:.0f}-{engine.lower()}"
                with Profiler(system, report, name, seconds + 2, e2e, enabled=profile):
                    e2e |= end_to_end(
                        system,
                        report,
                        rate=rate,
                        seconds=seconds,
                        serial_start=300_000 + n * 100_000,
                        engine=engine,
                        pg=pg,
                    )
                details[f"end_to_end_{rate:.0f}"] = e2e
        details["rss_at_rest_mb"], details["rss_peak_mb"] = rest, sampler.peak
    if "e2e" in parts:
        for service in ("caseload", "notify"):
            report.add(
                Figure(
                    label("memory", engine),
                    f"{service} RSS at rest",
                    rest.get(service),
                    "MB",
                    "< 150 MB",
                    at_most(rest.get(service), 150),
                ),
                Figure(
                    label("memory", engine),
                    f"{service} RSS under load (peak)",
                    sampler.peak.get(service),
                    "MB",
                    "< 300 MB",
                    at_most(sampler.peak.get(service), 300),
                    note="MIS batch + end-to-end run" if "mis" in parts else "end-to-end run",
                ),
            )
    slow = details.get(f"end_to_end_{SLOW_RATE:.0f}", {})
    if sum(slow.get("cpu_ms_per_concern", {}).values()) > CPU_PER_CONCERN_MS:
        details["lingering"] = what_the_cpu_target_costs(
            report, tmp=tmp / "lingering", seconds=seconds, urls=urls, engine=engine, pg=pg
        )
        details["host_gap"] = what_a_pause_costs(report, engine=engine, details=details)
    report.details[label("e2e" if "e2e" in parts else "mis", engine)] = details
