"""`tas up`: the whole system on the embedded default, until Ctrl-C.

nats-server (JetStream under var/nats), migrations, the dev SMTP sink, the API services and the web pages, each a child process
logging to `var/log/<name>.log`. Ports: `--nats-port` / `$TAS_NATS_PORT` (4222), `--smtp-port` / `$TAS_SMTP_PORT`
(8025), `$TAS_<SERVICE>_PORT` (8001-8003, web 8000). The URLs it started on go to `var/tas-up.json`, where `tas token` and
`tas deadletters` find them from any directory.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import secrets
import signal
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tas_common.auth import DevIssuer
from tas_common.cli.base import (
    DEFAULT_STREAM,
    DEV_AUDIENCE,
    DEV_ISSUER,
    HOST,
    PORT_ENV,
    SERVICES,
    CliError,
    Instance,
    Layout,
    migrate_service,
    migrations_dir,
    port_open,
)

from .ports import (
    NATS_PORT_ENV,
    SMTP_PORT_ENV,
    Ports,
    check_ports,
    find_nats_server,
    nats_and_smtp_ports,
    service_ports,
)
from .supervisor import STOP_SIGNALS, StopRequested, Supervisor

NATS_READY_SECONDS = 10.0
SMTP_READY_SECONDS = 10.0
HEALTH_READY_SECONDS = 30.0

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


def shared_env(layout: Layout, ports: Ports, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment every child gets: dev defaults, overridden by whatever the operator has set, except the
    NATS URL and the SMTP port: the services talk to the nats-server and the sink that `tas up` started."""
    url = {name: f"http://{HOST}:{ports.services.get(name, default)}" for name, default in SERVICES.items()}
    defaults = {
        "TAS_ENV": "dev",
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
        "TAS_INSIGHTS_URL": url["insights"],
        # lets caseload trust the family's own address that web passes on (per-address sign-in limits); one per run
        "TAS_WEB_FORWARDING_SECRET": secrets.token_urlsafe(32),
        "TAS_SMTP_HOST": HOST,
        "TAS_SMTP_PORT": str(ports.smtp),
        "TAS_SMS_OUTBOX_PATH": str(layout.sms_outbox),
        "PYTHONUNBUFFERED": "1",
    }
    return {**defaults, **environ, "TAS_NATS_URL": f"nats://{HOST}:{ports.nats}", "TAS_SMTP_PORT": str(ports.smtp)}


def service_env(layout: Layout, service: str, base: Mapping[str, str]) -> dict[str, str]:
    return {**base, "TAS_SERVICE_NAME": service, "TAS_DATABASE_URL": layout.database_url(service)}


def instance(layout: Layout, ports: Ports, env: Mapping[str, str], key_dir: Path, services: Iterable[str]) -> Instance:
    """What `tas up` writes to var/tas-up.json: where everything it started listens."""
    urls = {"nats": env["TAS_NATS_URL"], "smtp": f"smtp://{HOST}:{ports.smtp}"}
    urls.update({service: f"http://{HOST}:{ports.services[service]}" for service in services})
    return Instance(
        root=layout.root,
        urls=urls,
        key_dir=key_dir,
        issuer=env["TAS_JWT_ISSUER"],
        audience=env["TAS_JWT_AUDIENCE"],
        stream=env.get("TAS_STREAM_NAME") or DEFAULT_STREAM,
        pid=os.getpid(),
    )


def nats_conf_text(layout: Layout, port: int) -> str:
    import json

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


def healthy(client: Any, url: str) -> bool:
    import httpx

    try:
        return bool(client.get(url).status_code == 200)
    except httpx.HTTPError:
        return False


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
    # Under nohup, SIGHUP stays ignored. SIGINT and SIGTERM always stop tas up, even when it inherited SIGINT ignored
    # (a background job of a non-interactive shell, as a CI script starts it): it then never stopped on SIGINT.
    previous = {
        s: signal.signal(s, supervisor.request_stop)
        for s in STOP_SIGNALS
        if s != signal.SIGHUP or signal.getsignal(s) is not signal.SIG_IGN
    }
    try:
        _migrate_for_up(layout, services, supervisor)
        _start_infrastructure(supervisor, layout, ports, env, nats_server)
        started = [] if args.no_services else services
        _start_services(supervisor, layout, ports, env, started)
        layout.instance_file.write_text(instance(layout, ports, env, key_dir, started).to_json() + "\n")
        token = _dev_token(layout, env, key_dir)
        print_summary(layout, ports, env, token, started=not args.no_services)
        # The migrations imported every service's models: the interpreter's last collection at exit walked that
        # whole heap (~0.5 s of CPU, several seconds on a loaded machine between the children's exit and ours).
        # Frozen objects are not traversed; nothing here needs collecting until exit.
        gc.freeze()
        return supervisor.watch()
    except StopRequested:
        return 0
    except CliError as exc:
        print(f"tas up: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        running = bool(supervisor.children)
        if running:
            print("tas up: stopping ...", flush=True)
        supervisor.stop_all()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if running:
            print("tas up: stopped", flush=True)


def _services_to_run(no_services: bool) -> list[str]:
    """All must be installed to run them; with --no-services, migrate the ones that are."""
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
    sink = [sys.executable, "-m", "tas_dev.devsmtp", "--host", HOST, "--port", str(ports.smtp)]
    supervisor.start("smtp", [*sink, "--maildir", str(layout.mail)], env)
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
            lines.append(
                f"  {service:<10} http://{HOST}:{port}   families: http://{HOST}:{port}/family   "
                f"practitioners: http://{HOST}:{port}/sign-in"
            )
        elif started:
            lines.append(f"  {service:<10} http://{HOST}:{port}   docs: http://{HOST}:{port}/docs")
        else:
            lines.append(f"  {service:<10} not started (--no-services); its port would be {port}")
    lines += [
        f"  {'NATS':<10} {env['TAS_NATS_URL']}   JetStream store: {layout.nats_store}",
        f"  {'SMTP sink':<10} smtp://{HOST}:{ports.smtp}   mail saved as .eml under {layout.mail}",
        f"  {'SMS outbox':<10} {env['TAS_SMS_OUTBOX_PATH']}",
        f"  {'logs':<10} {layout.logs}/ ({logs})",
        f"  {'URLs':<10} {layout.instance_file} (where `tas token` and `tas deadletters` find them)",
        "",
        (f"Dev token for {SENCO_TOKEN['name']}, SENCO at school URN 100000, valid 8 h (also in {layout.token_file}):"),
        f"export TAS_TOKEN={token}",
        "",
        "Mint others, from any directory, with e.g.:",
        "  .venv/bin/tas token --role dsl --org-type school --org-id school-100000 --school-urn 100000",
        "",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


def add_parser(commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="run NATS, the SMTP sink, the API services and the web pages until Ctrl-C",
        description=(
            f"Ports: --nats-port (or ${NATS_PORT_ENV}), --smtp-port (or ${SMTP_PORT_ENV}); services default to "
            f"8001-8003 and 8000 (web), overridden with {', '.join(PORT_ENV.values())}."
        ),
    )
    up.add_argument("--root", help="directory holding var/ (default: $TAS_ROOT, else the current directory)")
    up.add_argument("--nats-port", type=int, default=None, help=f"default: ${NATS_PORT_ENV}, else 4222")
    up.add_argument("--smtp-port", type=int, default=None, help=f"default: ${SMTP_PORT_ENV}, else 8025")
    up.add_argument(
        "--no-services",
        action="store_true",
        help="start NATS and the SMTP sink and migrate, but run no services (run them yourself)",
    )
    up.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    """Resolve defaults that come from the environment when the command runs, not when the parser is built."""
    nats_port, smtp_port = nats_and_smtp_ports(os.environ)
    args.nats_port = nats_port if args.nats_port is None else args.nats_port
    args.smtp_port = smtp_port if args.smtp_port is None else args.smtp_port
    args.root = args.root or os.environ.get("TAS_ROOT") or Path.cwd()
    return cmd_up(args)
