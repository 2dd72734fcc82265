"""`tas up`'s process supervisor: starts its children in their own sessions, watches them, and stops them in
order (services first, so that they can drain, then the SMTP sink and NATS)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from tas_common.cli.base import SERVICES, CliError, Layout

STOP_SECONDS = 10.0
POLL_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(Exception):
    """SIGINT/SIGTERM arrived while `tas up` was still starting."""


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
