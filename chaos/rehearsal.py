"""`make rehearsal` (`python -m chaos.rehearsal`): the production shape without containers, under load and faults.

What runs, each as its own process on 127.0.0.1 (free ports, a temporary directory):
- three nats-server nodes as one JetStream cluster (deploy/nats/nats-{1,2,3}.conf), the stream `TAS` at R3;
- PostgreSQL from Debian's packages with fsync on, its databases and roles from deploy/postgres/init-databases.sql,
  each service's schema from its one-shot `tas migrate --service <svc>`;
- two replicas of referral, caseload, notify, insights and web (uvicorn, as compose.yaml runs them), sharing their
  databases (web calls the APIs through nginx, where compose uses the service names);
- Debian's nginx with deploy/nginx/nginx.conf in front (only its ports, upstreams and paths rewritten);
- the SMTP sink (bench/smtpsink.py) and notify's dev SMS outbox.

Concerns go in through nginx (single POSTs with an Idempotency-Key and MIS batches) while, in turn: the stream's
leader node is killed with SIGKILL, one replica of each service is killed with SIGKILL, and PostgreSQL is
restarted; each comes back. Then: every acknowledged concern is exactly one child and one family message (0 lost,
0 doubled), outboxes drained, no dead letters, and every public route of the three apps (from their own OpenAPI
documents) answers through nginx. Exit status 0 only when all of that held. Figures go to stdout (and --json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats

from bench.procs import Proc, uvicorn, wait_http
from bench.smtpsink import read_lines  # noqa: F401 - the sink's format, read by ledger.sink_copies
from tas_common.auth import DevIssuer
from tas_dev.testing import DEV_AUDIENCE as AUDIENCE
from tas_dev.testing import DEV_ISSUER as ISSUER
from tas_dev.testing import bearer, free_port

from .cluster import NatsCluster, Postgres, start_nginx
from .faults import Fault, under_load
from .ledger import Databases, check, sink_copies, stream_state
from .load import Driver, make_concerns
from .suite import BASE_ENV, SERVICES, Result, settled

REPLICAS = 2
RUN = (*SERVICES, "insights", "web")
"""Every service compose.yaml runs; the checks of chaos/ledger.py are about the three APIs (web keeps no domain
data; insights only reads the stream)."""
WEB_PAGES = {p: {"get": {}} for p in ("/", "/sign-in", "/family", "/family/sign-in", "/local-offer", "/privacy")}
"""web serves no OpenAPI document: its pages of docs/architecture.md §4 (each answers itself, or redirects to sign-in)."""
NOT_PUBLIC = ("/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")
PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Shape:
    tmp: Path
    nats: NatsCluster | None = None
    pg: Postgres | None = None
    nginx: Proc | None = None
    smtp: Proc | None = None
    replicas: dict[str, Proc] = field(default_factory=dict)
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    issuer: DevIssuer | None = None

    @property
    def url(self) -> str:
        assert self.nginx is not None
        return self.nginx.url

    @property
    def sms_outbox(self) -> Path:
        return self.tmp / "sms-outbox.jsonl"

    def start(self) -> Shape:
        from bench.procs import smtp_sink

        self.issuer = DevIssuer(self.tmp / "dev-issuer").ensure()
        self.nats = NatsCluster(self.tmp).start()
        self.pg = Postgres().start()
        self.smtp = smtp_sink(self.tmp)
        for service in RUN:  # the one-shot migration of each service, as compose's migrate-<svc>
            subprocess.run(
                [str(Path(sys.executable).parent / "tas"), "migrate", "--service", service],
                env={**_environ(), "TAS_DATABASE_URL": self.pg.url(service)},
                check=True,
                stdout=subprocess.DEVNULL,
            )
        common = BASE_ENV | {
            "TAS_ENV": "dev",
            "TAS_DEV_KEY_DIR": str(self.tmp / "dev-issuer"),
            "TAS_JWT_ISSUER": ISSUER,
            "TAS_JWT_AUDIENCE": AUDIENCE,
            "TAS_NATS_URL": self.nats.url,
            "TAS_STREAM_REPLICAS": "3",
        }
        nginx_port = free_port()
        public = f"http://127.0.0.1:{nginx_port}"
        for service in RUN:
            env = common | {"TAS_SERVICE_NAME": service, "TAS_DATABASE_URL": self.pg.url(service)}
            if service == "web":
                env |= {
                    "TAS_PUBLIC_WEB_URL": public,
                    "TAS_REFERRAL_URL": public,
                    "TAS_CASELOAD_URL": public,
                    "TAS_NOTIFY_URL": public,
                }
            if service == "notify":
                env |= {
                    "TAS_SMTP_HOST": "127.0.0.1",
                    "TAS_SMTP_PORT": str(self.smtp.port),
                    "TAS_SMS_OUTBOX_PATH": str(self.sms_outbox),
                }
            self.env[service] = env
            for n in range(1, REPLICAS + 1):
                name = f"{service}-{n}"
                self.replicas[name] = uvicorn(
                    name, f"{service}.main:create_app", workdir=self.tmp / name, env=env, wait=False
                )
        for proc in self.replicas.values():
            wait_http(proc, "/readyz", timeout=90)
        upstreams = {s: [self.replicas[f"{s}-{n}"].port or 0 for n in range(1, REPLICAS + 1)] for s in RUN}
        self.nginx = start_nginx(self.tmp, upstreams, port=nginx_port)
        return self

    def restart_replica(self, name: str) -> None:
        old = self.replicas[name]
        service = name.rsplit("-", 1)[0]
        self.replicas[name] = uvicorn(
            name,
            f"{service}.main:create_app",
            workdir=self.tmp / name,
            env=self.env[service],
            port=old.port,
            ready_path="/readyz",
            timeout=90,
        )

    def token(self, role: str, org_type: str, **claims: Any) -> dict[str, str]:
        assert self.issuer is not None
        return bearer(self.issuer, roles=[role], org_type=org_type, **claims)

    def database_urls(self) -> dict[str, str]:
        assert self.pg is not None
        return {s: self.pg.url(s) for s in SERVICES}

    def stop(self) -> None:
        for part in [self.nginx, *self.replicas.values(), self.smtp]:
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        if self.nats is not None:
            self.nats.stop()
        if self.pg is not None:
            self.pg.stop()


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("TAS_")}


async def stream_leader(url: str) -> tuple[str, list[str]]:
    nc = await nats.connect(servers=url.split(","), connect_timeout=5)
    try:
        info = await nc.jetstream().stream_info("TAS")
        cluster = info.cluster
        assert cluster is not None
        return str(cluster.leader), [str(r.name) for r in cluster.replicas or []]
    finally:
        await nc.close()


async def public_routes(shape: Shape, token: dict[str, str]) -> dict[str, Any]:
    """Ask every public route of the apps (each app's own OpenAPI document; web's pages are in it too) through
    nginx; a route answers when the app itself answered (its `traceresponse` header) with anything but a gateway
    error. The apps' /healthz, /readyz, /metrics and docs are each replica's own and not published."""
    failures: list[str] = []
    asked = 0
    async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
        for service in RUN:
            response = await client.get(shape.replicas[f"{service}-1"].url + "/openapi.json")
            paths = response.json()["paths"] if response.status_code == 200 else WEB_PAGES
            for path, operations in sorted(paths.items()):
                if path.startswith(NOT_PUBLIC) or (service != "web" and not path.startswith("/v1/")):
                    continue
                concrete = path
                for name in [p.split("}")[0] for p in path.split("{")[1:]]:
                    concrete = concrete.replace("{" + name + "}", PLACEHOLDER_ID)
                for method in operations:
                    if method not in ("get", "post", "put", "patch", "delete"):
                        continue
                    asked += 1
                    kwargs: dict[str, Any] = {"json": {}} if method in ("post", "put", "patch") else {}
                    answer = await client.request(method.upper(), shape.url + concrete, headers=token, **kwargs)
                    page = service == "web" and (
                        answer.headers.get("content-type", "").startswith("text/html") or answer.is_redirect
                    )
                    if not (page or "traceresponse" in answer.headers) or answer.status_code in (502, 503, 504):
                        failures.append(f"{method.upper()} {path} -> {answer.status_code} (not from {service})")
    return {"asked": asked, "failures": failures}


@dataclass
class Options:
    rate: float = 15.0
    gap_s: float = 15.0
    tail_s: float = 10.0
    max_concerns: int = 4000
    drain_timeout: float = 400.0
    final_timeout: float = 420.0
    window_s: float = 2.0
    max_drain_s: float = 60.0


async def rehearse(shape: Shape, options: Options) -> tuple[Result, dict[str, Any]]:
    assert shape.nats is not None and shape.pg is not None and shape.smtp is not None
    t0 = time.monotonic()
    extra: dict[str, Any] = {}
    leader, followers = await stream_leader(shape.nats.url)
    extra["stream"] = {"leader": leader, "replicas": [leader, *followers]}
    dbs = Databases(shape.database_urls())
    concerns = make_concerns(options.max_concerns, start=600_000)
    senco = shape.token("senco", "school", school_urns=["100000"], org_id="school-100000", sub="rehearsal-senco")
    driver = Driver(
        base_url=shape.url,
        senco=senco,
        mis=shape.token("mis_client", "mis", school_urns=["100000"], org_id="mis-rehearsal", sub="mis-rehearsal"),
        rate=options.rate,
    )
    smtp_out: Path = shape.smtp.extra["out"]

    def copies():
        return sink_copies(smtp_out, shape.sms_outbox)

    children_before = 0

    async def caseload_behind() -> bool:
        acked = sum(1 for c in concerns if c.acked_at is not None)
        return children_before + acked > int(await dbs.scalar("caseload", "SELECT count(*) FROM child"))

    async def sending() -> bool:
        return await dbs.sending() > 0

    async def in_flight() -> bool:
        return driver.in_flight > 0

    current_leader = {"name": leader}

    def kill_leader() -> None:
        shape.nats.procs[current_leader["name"]].kill()  # type: ignore[union-attr]

    def restart_leader() -> None:
        shape.nats.start_node(current_leader["name"])  # type: ignore[union-attr]
        shape.nats.wait_healthy()  # type: ignore[union-attr]

    def replica(name: str, when, aim: str) -> Fault:
        notify = name.startswith("notify")
        in_doubt = (lambda: dbs.claimed_by(shape.replicas[name].process.pid)) if notify else None  # the killed one
        return Fault(name, lambda: shape.replicas[name].kill(), lambda: shape.restart_replica(name), when=when,
                     confirm=when if notify else None, aim=aim, in_doubt=in_doubt)  # fmt: skip

    faults = [
        Fault("nats stream leader", kill_leader, restart_leader, aim=f"the TAS stream's leader ({leader})", down_s=3.0),
        replica("referral-1", in_flight, "with requests in flight"),
        replica("caseload-1", caseload_behind, "with concerns waiting for it"),
        replica("notify-1", sending, "mid-send"),
        Fault("postgresql", shape.pg.restart, lambda: None, aim="pg_ctl restart -m fast", down_s=0.0, blocking=True),
    ]

    async def aim(fault: Fault) -> None:
        if fault.target == "nats stream leader":
            current_leader["name"], _ = await stream_leader(shape.nats.url)  # type: ignore[union-attr]
            fault.aim = f"the TAS stream's leader ({current_leader['name']})"

    kills, sent = await under_load(
        faults,
        driver=driver,
        concerns=concerns,
        copies=copies,
        settled=lambda sent: settled(dbs, copies(), shape.nats.url, sent),  # type: ignore[union-attr]
        pacing=options,
        interval=1.0,
        aim=aim,
    )
    verdict = await check(
        concerns=sent, dbs=dbs, copies=copies(), stream=await stream_state(shape.nats.url), kills=kills,
        window_s=options.window_s, max_drain_s=options.max_drain_s,
    )  # fmt: skip
    await dbs.close()
    verdict.figures["unacknowledged (client gave up)"] = sum(1 for c in sent if c.acked_at is None)
    if driver.unexpected:
        verdict.violations.append(f"{len(driver.unexpected)} unexpected answer(s), e.g. {driver.unexpected[0]}")
    leader_after, followers_after = await stream_leader(shape.nats.url)
    extra["stream after"] = {"leader": leader_after, "replicas": [leader_after, *followers_after]}
    if len(followers_after) != 2:
        verdict.violations.append(f"the stream is not at R3 after the faults: {extra['stream after']}")
    routes = await public_routes(shape, senco)
    verdict.figures["public routes answered through nginx"] = (
        f"{routes['asked'] - len(routes['failures'])} of {routes['asked']}"
    )
    verdict.violations += [f"route not answered through nginx: {f}" for f in routes["failures"]]
    result = Result(
        verdict,
        kills,
        time.monotonic() - t0,
        {"requests": driver.requests, "retries": driver.retries, "errors": driver.errors},
    )
    return result, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, help="concerns per second")
    parser.add_argument("--gap", type=float, help="seconds of load between faults")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = parser.parse_args(argv)
    options = Options()
    if args.rate:
        options.rate = args.rate
    if args.gap:
        options.gap_s = args.gap
    tmp = Path(tempfile.mkdtemp(prefix="tas-rehearsal-"))
    shape = Shape(tmp)
    t0 = time.monotonic()
    try:
        shape.start()
        print(f"rehearsal: up in {time.monotonic() - t0:.0f} s; nginx at {shape.url}", flush=True)
        result, extra = asyncio.run(rehearse(shape, options))
    finally:
        shape.stop()
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(result.table())
    print(f"\nstream: {extra['stream']} → after the faults {extra['stream after']}")
    print(f"{result.seconds:.0f} s under load; requests {result.driver['requests']}, retries {result.driver['retries']}, "
          f"client-side errors {result.driver['errors']}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result.as_json() | {"stream": extra}, indent=2))
    if result.verdict.violations:
        print("\nGUARANTEES VIOLATED:\n" + "\n".join(f"- {v}" for v in result.verdict.violations))
        return 1
    print("\nevery guarantee held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
