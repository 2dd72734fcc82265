"""The production shape's infrastructure as plain processes: a three-node NATS JetStream cluster from the repo's
deploy/nats configs, a PostgreSQL server from Debian's packages with the repo's deploy/postgres init script
(fsync on), and Debian's nginx with the repo's deploy/nginx config. Each config is the repo's own, with only its
ports, upstreams and paths rewritten for one machine (temporary directory, free ports on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import REPO, Proc, spawn
from tas_dev.testing import free_port, nats_server_binary, wait_for_port

# --- NATS ---------------------------------------------------------------------------------------------------


def nats_config(
    source: str, *, index: int, client: int, http: int, routes: list[int], cluster: int, store: Path
) -> str:
    """deploy/nats/nats-<n>.conf with its listen addresses, store and routes on this machine."""
    text = re.sub(r"(?m)^listen:.*$", f"listen: 127.0.0.1:{client}", source)
    text = re.sub(r"(?m)^http:.*?(#.*)?$", f"http: 127.0.0.1:{http}", text)
    text = re.sub(r"store_dir:.*", f"store_dir: {json.dumps(str(store))}", text)
    text = re.sub(r"(?m)^(\s+)listen: 0\.0\.0\.0:6222", rf"\g<1>listen: 127.0.0.1:{cluster}", text)
    for n, port in enumerate(routes, start=1):
        text = text.replace(f"nats-route://nats-{n}:6222", f"nats-route://127.0.0.1:{port}")
    assert f"server_name: nats-{index}" in text
    return text


@dataclass
class NatsCluster:
    tmp: Path
    size: int = 3
    clients: list[int] = field(default_factory=list)
    https: list[int] = field(default_factory=list)
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.clients)

    def start(self) -> NatsCluster:
        self.clients = [free_port() for _ in range(self.size)]
        self.https = [free_port() for _ in range(self.size)]
        routes = [free_port() for _ in range(self.size)]
        for i in range(1, self.size + 1):
            source = (REPO / "deploy" / "nats" / f"nats-{i}.conf").read_text()
            conf = self.tmp / f"nats-{i}.conf"
            conf.write_text(
                nats_config(
                    source,
                    index=i,
                    client=self.clients[i - 1],
                    http=self.https[i - 1],
                    routes=routes,
                    cluster=routes[i - 1],
                    store=self.tmp / f"nats-{i}-data" / "jetstream",
                )
            )
            self.start_node(f"nats-{i}")
        for i in range(self.size):
            wait_for_port(self.clients[i], timeout=20)
        self.wait_healthy()
        return self

    def start_node(self, name: str) -> None:
        self.procs[name] = spawn(name, [nats_server_binary(), "-c", str(self.tmp / f"{name}.conf")], workdir=self.tmp)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Every node answers /healthz (JetStream included) with 200."""
        deadline = time.monotonic() + timeout
        for port in self.https:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"NATS node on monitoring port {port} not healthy")
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()


# --- PostgreSQL ---------------------------------------------------------------------------------------------


def pg_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, stdout=subprocess.DEVNULL)
    return pg_bindir()


@dataclass
class Postgres:
    """A throwaway cluster, as .ci/with-postgres.sh makes one, but durable: fsync and synchronous_commit on."""

    port: int = 0
    workdir: Path | None = None
    bindir: Path | None = None

    def _as_pg(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def start(self) -> Postgres:
        import tempfile

        self.bindir = pg_bindir()
        self.workdir = Path(tempfile.mkdtemp(prefix="tas-rehearsal-pg-"))
        if os.geteuid() == 0:
            if subprocess.run(["id", "postgres"], capture_output=True, check=False).returncode:
                subprocess.run(["useradd", "--system", "--shell", "/bin/sh", "postgres"], check=True)
            shutil.chown(self.workdir, "postgres")
        self.port = free_port()
        subprocess.run(
            self._as_pg(str(self.bindir / "initdb"), "-D", str(self.workdir / "data"), "-U", "postgres",
                        "--auth=trust", "--encoding=UTF8", "--no-locale"),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self._ctl("start")
        self.psql_file(REPO / "deploy" / "postgres" / "init-databases.sql")
        return self

    def _ctl(self, action: str, *extra: str) -> None:
        assert self.bindir is not None and self.workdir is not None
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.workdir} -c max_connections=300 -c fsync=on -c synchronous_commit=on"
        )
        argv = [str(self.bindir / "pg_ctl"), "-D", str(self.workdir / "data"), "-l", str(self.workdir / "postgres.log"),
                "-w", "-t", "60", *extra, action]  # fmt: skip
        if action in ("start", "restart"):
            argv += ["-o", options]
        subprocess.run(self._as_pg(*argv), check=True, stdout=subprocess.DEVNULL)

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every session is ended, open transactions roll back, then it starts again."""
        self._ctl("restart", "-m", "fast")

    def psql_file(self, path: Path) -> None:
        assert self.bindir is not None
        psql = self.bindir / "psql" if (self.bindir / "psql").exists() else Path(shutil.which("psql") or "psql")
        subprocess.run(
            [str(psql), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
             "-v", "ON_ERROR_STOP=1", "-f", str(path)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def url(self, service: str) -> str:
        """The URL compose.yaml gives the service (its own role and database, the init script's password)."""
        return f"postgresql+asyncpg://{service}:change-me-{service}@127.0.0.1:{self.port}/{service}"

    def stop(self) -> None:
        if self.workdir is None:
            return
        if self.bindir is not None:
            subprocess.run(
                self._as_pg(str(self.bindir / "pg_ctl"), "-D", str(self.workdir / "data"), "-m", "immediate", "-w", "stop"),
                check=False, capture_output=True,
            )  # fmt: skip
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- nginx --------------------------------------------------------------------------------------------------

UPSTREAM = re.compile(r"(set \$upstream |proxy_pass http://)([a-z][a-z0-9_-]*):8000")


def nginx_config(source: str, *, port: int, upstreams: dict[str, list[int]], workdir: Path) -> str:
    """deploy/nginx/nginx.conf with its listen port, its upstreams (the compose service names, each an upstream
    group of the replicas' ports instead of a name Docker's DNS resolves) and its file paths on this machine."""
    named = set(UPSTREAM.findall(source))
    missing = {name for _, name in named} - set(upstreams)
    if missing:
        raise ValueError(f"deploy/nginx routes to {sorted(missing)}, which this rehearsal does not run")
    text = UPSTREAM.sub(r"\1\2", source)
    text = re.sub(r"listen 8080;", f"listen 127.0.0.1:{port};", text)
    text = text.replace("pid /tmp/nginx.pid;", f"pid {workdir / 'nginx.pid'};")
    text = re.sub(r"(\w+_temp_path) /tmp/", rf"\1 {workdir}/", text)
    text = text.replace("access_log /dev/stdout;", f"access_log {workdir / 'access.log'};")
    groups = "".join(
        f"  upstream {name} {{\n" + "".join(f"    server 127.0.0.1:{p};\n" for p in ports) + "  }\n"
        for name, ports in upstreams.items()
    )
    text, n = re.subn(r"(?m)^http \{\n", "http {\n" + groups, text)
    assert n == 1, "deploy/nginx/nginx.conf has no http block"
    return text


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(
        ["apt-get", "install", "-y", "-qq", "nginx"], env=env, check=False, stdout=subprocess.DEVNULL
    ).returncode:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], env=env, check=True, stdout=subprocess.DEVNULL)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def start_nginx(tmp: Path, upstreams: dict[str, list[int]], port: int | None = None) -> Proc:
    workdir = tmp / "nginx"
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o777)  # the workers (user nobody) buffer large request bodies to files here
    tmp.chmod(0o755)  # ... and must be able to reach it
    port = port or free_port()
    conf = workdir / "nginx.conf"
    source = (REPO / "deploy" / "nginx" / "nginx.conf").read_text()
    conf.write_text(nginx_config(source, port=port, upstreams=upstreams, workdir=workdir))
    binary = nginx_binary()
    subprocess.run([binary, "-t", "-q", "-c", str(conf), "-p", str(workdir)], check=True)
    proc = spawn(
        "nginx", [binary, "-c", str(conf), "-p", str(workdir), "-g", "daemon off;"], workdir=workdir, port=port
    )
    wait_for_port(port, timeout=15)
    return proc
