"""`make chaos` (`python -m chaos`): the whole system as separate processes (nats-server, referral, caseload,
notify, the SMTP sink; bench/system.py starts them), a few thousand concerns as single POSTs with an
Idempotency-Key and as MIS batches, and kill -9 of nats-server, of each service and of the SMTP sink mid-load,
each restarted; then the guarantees are checked from the databases and the sinks (chaos/ledger.py) and the
figures printed. Exit status 0 only when every guarantee held.

The short version (`--quick`: a few hundred concerns, one kill of each kind, shorter consumer timeouts) is what
tests/chaos runs in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.system import BenchSystem

from .faults import Fault, under_load
from .ledger import Copy, Databases, Kill, Verdict, check, sink_copies, stream_state
from .load import Concern, Driver, make_concerns

SERVICES = ("referral", "caseload", "notify")
UNFINISHED = (
    "SELECT count(*) FROM notification WHERE status NOT IN ('delivered', 'permanent-failure', 'technical-failure')"
)
TARGETS = ("referral", "nats", "caseload", "smtp", "notify")

QUICK_ENV = {
    # consumers: a message delivered to a killed process comes back after 3 s, not 30 s
    "TAS_CONSUMER_ACK_WAIT_SECONDS": "3",
    "TAS_CONSUMER_BACKOFF_SECONDS": "[0.5, 1, 2]",
    # notify: a send refused while the SMTP sink is down is tried again after 1 s, not 30 s
    "TAS_RETRY_BASE_SECONDS": "1",
    # notify: the rows a killed notify had claimed are taken over by its successor after 3 s, not 15 s
    "TAS_SEND_LEASE_SECONDS": "3",
}
BASE_ENV = {
    # no SMS quiet hours (21:00-08:00 UK time): a run at night would otherwise wait for the morning
    "TAS_QUIET_HOURS_START": "0",
    "TAS_QUIET_HOURS_END": "0",
    "TAS_OUTBOX_POLL_SECONDS": "0.5",
}


@dataclass
class Options:
    rate: float = 20.0
    """Concerns per second, sent while the faults are injected (and `tail_s` after the last)."""
    max_concerns: int = 6000
    gap_s: float = 12.0
    """Load between a restart and the next kill."""
    tail_s: float = 10.0
    rounds: int = 2
    targets: Sequence[str] = TARGETS
    drain_timeout: float = 400.0
    """How long to watch, after each restart, for the backlog the kill left (a figure, not a pass/fail)."""
    final_timeout: float = 420.0
    """How long to wait, after the load, for everything to settle: past notify's 300-s sweeper, so that what it
    resends shows up as the doubles it makes."""
    window_s: float = 2.0
    max_drain_s: float = 60.0
    """A kill's backlog still undelivered this long after the restart is a violation (see ledger.check)."""
    quick: bool = False
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def short(cls) -> Options:
        return cls(
            rate=20.0,
            max_concerns=600,
            gap_s=1.0,
            tail_s=2.0,
            rounds=1,
            drain_timeout=20.0,
            final_timeout=25.0,
            quick=True,
        )


@dataclass
class Result:
    verdict: Verdict
    kills: list[Kill]
    seconds: float
    driver: dict[str, Any]

    def table(self) -> str:
        lines = ["| figure | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in self.verdict.figures.items()]
        lines += [
            "",
            "| fault | aim | down (kill → ready) | backlog at kill | drained after restart |",
            "| --- | --- | --- | --- | --- |",
        ]
        for k in self.kills:
            drain = f"{k.drain_s:.1f} s" if k.drain_s is not None else "**not drained**"
            down = f"{k.down_s:.1f} s" if k.down_s is not None else "-"
            lines.append(f"| kill -9 {k.target} | {k.detail} | {down} | {k.backlog} | {drain} |")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.verdict.ok,
            "violations": self.verdict.violations,
            "figures": self.verdict.figures,
            "kills": [
                {"target": k.target, "detail": k.detail, "down_s": k.down_s, "backlog": k.backlog, "drain_s": k.drain_s}
                for k in self.kills
            ],
            "seconds": self.seconds,
            "driver": self.driver,
        }


def faults_for(
    system: BenchSystem, dbs: Databases, driver: Driver, concerns: list[Concern], children_before: int
) -> dict[str, Fault]:
    async def caseload_behind() -> bool:
        """Concerns acknowledged that caseload has not made children of yet: it has work in hand."""
        acked = sum(1 for c in concerns if c.acked_at is not None)
        return children_before + acked > int(await dbs.scalar("caseload", "SELECT count(*) FROM child"))

    async def sending() -> bool:
        return await dbs.sending() > 0

    async def sending_email() -> bool:
        return await dbs.sending("email") > 0

    async def requests_in_flight() -> bool:
        return driver.in_flight > 0

    def restart(name: str):
        return lambda: system.restart(name)

    return {
        "nats": Fault("nats", lambda: system.kill("nats"), restart("nats"), aim="mid-load", down_s=2.0),
        "referral": Fault(
            "referral",
            lambda: system.kill("referral"),
            restart("referral"),
            when=requests_in_flight,
            aim="with requests in flight",
        ),
        "caseload": Fault(
            "caseload",
            lambda: system.kill("caseload"),
            restart("caseload"),
            when=caseload_behind,
            aim="with concerns waiting for it",
        ),
        "notify": Fault(
            "notify",
            lambda: system.kill("notify"),
            restart("notify"),
            when=sending,
            confirm=sending,
            aim="mid-send (messages claimed, outcomes not recorded)",
            in_doubt=lambda: dbs.claimed_by(system.procs["notify"].process.pid),  # before the restart: the killed one
        ),
        "smtp": Fault(
            "smtp",
            lambda: system.kill("smtp"),
            restart("smtp"),
            when=sending_email,
            aim="while notify sends email",
        ),
    }


async def settled(dbs: Databases, copies: list[Copy], nats_url: str, concerns: list[Concern]) -> bool:
    """Everything owed has arrived and nothing is left to do anywhere."""
    got = {c.recipient for c in copies}
    if any(c.acked_at is not None and c.recipient not in got for c in concerns):
        return False
    try:
        if await dbs.scalar("notify", UNFINISHED):
            return False
        for service in SERVICES:
            if await dbs.scalar(service, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
                return False
        state = await stream_state(nats_url)
    except Exception:
        return False
    return not any(c["pending"] or c["ack_pending"] for c in state["consumers"].values())


def start_system(tmp: Path, options: Options) -> BenchSystem:
    """nats-server, the SMTP sink and the three services, each its own process (blocking: call it from a thread
    when a loop is running, since migrations run an event loop of their own)."""
    env = BASE_ENV | (QUICK_ENV if options.quick else {}) | options.env
    return BenchSystem(tmp, services=SERVICES, with_smtp=True, env=env).start()


async def run(options: Options, tmp: Path) -> Result:
    t0 = time.monotonic()
    system = BenchSystem(tmp, services=SERVICES, with_smtp=True)
    try:
        system = await asyncio.to_thread(start_system, tmp, options)
        result = await exercise(system, options, make_concerns(options.max_concerns))
        result.seconds = time.monotonic() - t0
        return result
    finally:
        await asyncio.to_thread(system.stop)


async def exercise(system: BenchSystem, options: Options, concerns: list[Concern]) -> Result:
    """Drive `concerns` through a running system while killing and restarting its parts; then check."""
    assert system.smtp is not None and system.nats is not None
    t0 = time.monotonic()
    dbs = Databases(system.database_urls)
    try:
        driver = Driver(
            base_url=system.procs["referral"].url,
            senco=system.token("senco", "school", school_urns=["100000"], org_id="school-100000", sub="chaos-senco"),
            mis=system.token("mis_client", "mis", school_urns=["100000"], org_id="mis-chaos", sub="mis-chaos"),
            rate=options.rate,
        )
        children_before = int(await dbs.scalar("caseload", "SELECT count(*) FROM child"))
        # what an earlier exercise of this running system left: expected, not strangers to this one's check
        existing_upns = frozenset(str(r[0]) for r in await dbs.rows("caseload", "SELECT upn FROM child"))
        existing_recipients = frozenset(
            c.recipient
            for c in sink_copies(system.smtp.extra["out"], system.sms_outbox)  # type: ignore[union-attr]
        )
        faults = faults_for(system, dbs, driver, concerns, children_before)
        schedule = [faults[t] for _ in range(options.rounds) for t in options.targets]

        def copies():
            return sink_copies(system.smtp.extra["out"], system.sms_outbox)  # type: ignore[union-attr]

        kills, concerns = await under_load(
            schedule,
            driver=driver,
            concerns=concerns,
            copies=copies,
            settled=lambda sent: settled(dbs, copies(), system.nats.url, sent),  # type: ignore[union-attr]
            pacing=options,
        )
        verdict = await check(
            concerns=concerns,
            dbs=dbs,
            copies=copies(),
            stream=await stream_state(system.nats.url),
            kills=kills,
            window_s=options.window_s,
            max_drain_s=options.max_drain_s,
            existing_upns=existing_upns,
            existing_recipients=existing_recipients,
        )
        verdict.figures["unacknowledged (client gave up)"] = sum(1 for c in concerns if c.acked_at is None)
        if driver.unexpected:
            verdict.violations.append(f"{len(driver.unexpected)} unexpected answer(s), e.g. {driver.unexpected[0]}")
        return Result(
            verdict,
            kills,
            time.monotonic() - t0,
            {"requests": driver.requests, "retries": driver.retries, "errors": driver.errors},
        )
    finally:
        await dbs.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the short version that make test runs")
    parser.add_argument("--max-concerns", type=int, help="stop sending after this many")
    parser.add_argument("--rate", type=float, help="concerns per second")
    parser.add_argument("--rounds", type=int, help="how many times each part is killed")
    parser.add_argument("--targets", help=f"comma-separated, from {','.join(TARGETS)}")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    args = parser.parse_args(argv)
    options = Options.short() if args.quick else Options()
    for name in ("max_concerns", "rate", "rounds"):
        if getattr(args, name) is not None:
            setattr(options, name, getattr(args, name))
    if args.targets:
        options.targets = [t for t in args.targets.split(",") if t]
        unknown = set(options.targets) - set(TARGETS)
        if unknown:
            parser.error(f"unknown target(s) {sorted(unknown)}")
    tmp = Path(tempfile.mkdtemp(prefix="tas-chaos-"))
    try:
        result = asyncio.run(run(options, tmp))
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}", file=sys.stderr)
    print(result.table())
    print(
        f"\n{result.seconds:.0f} s; requests {result.driver['requests']}, retries {result.driver['retries']}, "
        f"client-side errors {result.driver['errors']}"
    )
    if args.json:
        args.json.write_text(json.dumps(result.as_json(), indent=2))
    if result.verdict.violations:
        print("\nGUARANTEES VIOLATED:\n" + "\n".join(f"- {v}" for v in result.verdict.violations))
        return 1
    print("\nevery guarantee held")
    return 0
