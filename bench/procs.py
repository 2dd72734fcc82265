"""Processes a benchmark runs: uvicorn serving an ASGI app, nats-server, the SMTP sink, the load generator.

Everything binds to 127.0.0.1 on a free port, lives in a temporary directory and is stopped by pid (never by
name). Waits are bounded in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tas_dev.testing import free_port, wait_for_port

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
UVICORN_OPTIONS = (
    "--no-access-log",
    "--no-server-header",
    "--log-level",
    "warning",
    "--timeout-graceful-shutdown",
    "5",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
)
"""The same uvicorn settings for the service under test and for both baselines (one worker, uvloop and
httptools from `uvicorn[standard]`: `tas up` runs the services the same way; the container image's uvicorn picks
them itself, being installed)."""


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_mb(self) -> float | None:
        import psutil

        try:
            return psutil.Process(self.pid).memory_info().rss / 1_048_576
        except psutil.Error:
            return None

    def kill(self) -> None:
        """kill -9, as a crash would: no signal handler runs, nothing is flushed or drained."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def spawn(
    name: str, argv: Sequence[str], *, workdir: Path, env: Mapping[str, str] | None = None, port: int | None = None
) -> Proc:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), full_env.get("PYTHONPATH", "")) if p)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=workdir,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Proc(name, process, log_path, port)


def uvicorn(
    name: str,
    app: str,
    *,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    factory: bool = True,
    ready_path: str = "/healthz",
    timeout: float = 60.0,
    port: int | None = None,
    wait: bool = True,
) -> Proc:
    """`app` is "module:attribute"; with factory=True the attribute is called to build the app. `port`: a
    restart passes the port its predecessor had; `wait=False` returns at once (then `wait_http` yourself)."""
    port = port or free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        *(["--factory"] if factory else []),
        "--host",
        HOST,
        "--port",
        str(port),
        *UVICORN_OPTIONS,
    ]
    proc = spawn(name, argv, workdir=workdir, env=env, port=port)
    if wait:
        try:
            wait_http(proc, ready_path, timeout=timeout)
        except BaseException:  # not yet the caller's to stop: a service that never became ready is not left running
            proc.stop()
            raise
    return proc


def wait_http(proc: Proc, path: str, *, timeout: float = 60.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}:\n{proc.log_tail()}")
            try:
                if client.get(proc.url + path).status_code == status:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{proc.name} not ready on {path} within {timeout}s:\n{proc.log_tail()}")


def smtp_sink(workdir: Path, port: int | None = None) -> Proc:
    """The sink of bench/smtpsink.py; a restart passes its predecessor's port (and appends to the same file)."""
    port = port or free_port()
    out = workdir / "smtp-received.jsonl"
    proc = spawn(
        "smtp",
        [sys.executable, "-m", "bench.smtpsink", "--port", str(port), "--out", str(out)],
        workdir=workdir,
        port=port,
    )
    wait_for_port(port, timeout=15)
    proc.extra["out"] = out
    return proc


def stop_all(procs: Sequence[Proc | None]) -> None:
    for proc in procs:
        if proc is not None:
            proc.stop()
