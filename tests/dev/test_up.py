"""`tas up` (tas_dev): its environment and ports, the instance file the other commands read, and the real
supervisor as a subprocess on free ports in tmp_path (never the repo's var/, 4222, 8001-8003 or 8025)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tas_common.auth import DevIssuer, TokenVerifier
from tas_common.cli import PORT_ENV, SERVICES, CliError, Layout, main
from tas_common.cli.base import Instance, find_instance, find_root
from tas_dev.ports import Ports, nats_and_smtp_ports, service_ports
from tas_dev.supervisor import STOP_SECONDS
from tas_dev.testing import free_port
from tas_dev.up import service_env, shared_env

Capsys = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def clean_env(cli_env: Path) -> None:
    """No TAS_ROOT either: these tests find the instance as an operator's shell would."""


def verifier(key_dir: Path) -> TokenVerifier:
    return TokenVerifier(issuer="tas-dev", audience="tas", public_key_pem=DevIssuer(key_dir).public_key_pem())


# --- environment and ports ----------------------------------------------------------------------------------


def test_operator_environment_wins_except_for_the_per_service_database_and_name_and_what_up_started(tmp_path: Path):
    layout = Layout.at(tmp_path)
    ports = Ports(nats=1111, smtp=2222, services={"referral": 3331, "caseload": 3332, "notify": 3333, "web": 3330})
    operator = {
        "TAS_SMTP_HOST": "mail.internal",
        "TAS_DATABASE_URL": "sqlite://",
        "TAS_SERVICE_NAME": "oops",
        "TAS_NATS_URL": "nats://elsewhere:4222",
        "TAS_SMTP_PORT": "25",
    }
    env = service_env(layout, "notify", shared_env(layout, ports, operator))
    assert env["TAS_SMTP_HOST"] == "mail.internal"
    assert env["TAS_SMTP_PORT"] == "2222"
    assert env["TAS_NATS_URL"] == "nats://127.0.0.1:1111"
    assert env["TAS_PUBLIC_BASE_URL"] == "http://127.0.0.1:3332"
    assert env["TAS_FAMILY_PORTAL_URL"] == "http://127.0.0.1:3330/family"
    assert env["TAS_DEV_KEY_DIR"] == str(tmp_path / "var" / "dev-issuer")
    assert env["TAS_SMS_OUTBOX_PATH"] == str(tmp_path / "var" / "sms-outbox.jsonl")
    assert env["TAS_SERVICE_NAME"] == "notify"
    assert env["TAS_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'notify.db'}"


def test_every_port_comes_from_the_environment():
    assert service_ports({"TAS_CASELOAD_PORT": "9002"}) == {
        "referral": 8001,
        "caseload": 9002,
        "notify": 8003,
        "insights": 8004,
        "web": 8000,
    }
    assert nats_and_smtp_ports({}) == (4222, 8025)
    assert nats_and_smtp_ports({"TAS_NATS_PORT": "4333", "TAS_SMTP_PORT": "2526"}) == (4333, 2526)
    for bad in ({"TAS_NOTIFY_PORT": "eighty"}, {"TAS_NATS_PORT": "0"}, {"TAS_SMTP_PORT": "70000"}):
        with pytest.raises(CliError):
            service_ports(bad) if "TAS_NOTIFY_PORT" in bad else nats_and_smtp_ports(bad)


def test_up_refuses_a_port_in_use_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
):
    for name in SERVICES:
        monkeypatch.setenv(PORT_ENV[name], str(free_port()))
    monkeypatch.setenv("TAS_SMTP_PORT", str(free_port()))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("TAS_NATS_PORT", str(port))
        rc = main(["up", "--root", str(tmp_path)])
    assert rc == 1
    assert f"{port} (NATS)" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()


# --- finding the instance from any directory ----------------------------------------------------------------


def _write_instance(root: Path, nats_url: str = "nats://127.0.0.1:4999") -> Instance:
    written = Instance(
        root=root,
        urls={"nats": nats_url, "referral": "http://127.0.0.1:9001"},
        key_dir=root / "var" / "dev-issuer",
        issuer="tas-dev",
        audience="tas",
        stream="TAS",
        pid=1,
    )
    (root / "var").mkdir(parents=True, exist_ok=True)
    (root / "var" / "tas-up.json").write_text(written.to_json())
    return written


def test_the_instance_is_found_from_a_subdirectory_from_the_installed_checkout_or_tas_root(tmp_path: Path):
    root, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    (root / "docs" / "examples").mkdir(parents=True)
    elsewhere.mkdir()
    written = _write_instance(root)
    assert find_root({}, cwd=root / "docs" / "examples", checkout=None) == root
    assert find_root({}, cwd=elsewhere, checkout=root) == root  # .venv/bin/tas run from anywhere
    assert find_root({}, cwd=elsewhere, checkout=tmp_path / "nothing-here") == elsewhere
    assert find_root({"TAS_ROOT": str(elsewhere)}, cwd=root, checkout=root) == elsewhere
    assert find_instance({}, cwd=root / "docs", checkout=None) == written
    (root / "var" / "tas-up.json").write_text("{not json")
    assert find_instance({}, cwd=root, checkout=None) is None


async def test_token_mints_with_the_key_of_the_instance_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
):
    root = tmp_path / "checkout"
    _write_instance(root)
    DevIssuer(root / "var" / "dev-issuer").ensure()
    monkeypatch.chdir(root / "var")
    argv = ["token", "--role", "senco", "--org-type", "school", "--org-id", "s", "--school-urn", "1"]
    assert await asyncio.to_thread(main, argv) == 0
    principal = await verifier(root / "var" / "dev-issuer").verify(capsys.readouterr().out.strip())
    assert principal.roles == frozenset({"senco"})
    assert not (root / "var" / "var").exists()  # no second issuer made under the current directory


class UpProcess:
    """`tas up` in a tmp root on free ports, all given as `make run` gives them (the environment), with its
    stdout read line by line on a thread."""

    def __init__(self, root: Path, *extra: str, sigint_ignored: bool = False) -> None:
        self.root = root
        self.nats_port, self.smtp_port = free_port(), free_port()
        self.service_ports = {name: free_port() for name in SERVICES}
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAS_")}
        env.update({PORT_ENV[name]: str(port) for name, port in self.service_ports.items()})
        env.update(TAS_NATS_PORT=str(self.nats_port), TAS_SMTP_PORT=str(self.smtp_port))
        self.stderr_path = root / "up.stderr"
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tas_common.cli",
                    "up",
                    "--root",
                    str(root),
                    *extra,
                ],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                # As a background job of a non-interactive shell starts it (a CI script): SIGINT inherited ignored.
                preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
            )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.pids: dict[str, int] = {}

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(
            f"no line matching {pattern!r}; stdout: {''.join(self.output)}; stderr: {self.stderr_path.read_text()}"
        )

    def read_pids(self) -> dict[str, int]:
        text = (self.root / "var" / "tas-up.pids").read_text()
        self.pids = {name: int(pid) for name, pid in (line.split() for line in text.splitlines())}
        return self.pids

    def stop_report(self) -> str:
        """What a stop that did not finish left behind: `tas up`'s stderr, who is still running, each log's end."""
        alive_now = sorted(name for name, pid in self.pids.items() if alive(pid))
        logs = "".join(
            f"\n--- {log.name} (end)\n{log.read_text(errors='replace')[-800:]}"
            for log in sorted((self.root / "var" / "log").glob("*.log"))
        )
        return f"tas up did not exit; still running: {alive_now}; stderr:\n{self.stderr_path.read_text()}{logs}"

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.pids.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(pid, 0): it is not running
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def all_gone(pids: dict[str, int], timeout: float = 3.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := [name for name, pid in pids.items() if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_up_runs_everything_and_stops_cleanly_on_sigint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
):
    up = UpProcess(tmp_path, sigint_ignored=True)
    try:
        token = up.wait_for_line(r"^export TAS_TOKEN=(\S+)$", timeout=90).group(1)
        assert set(up.read_pids()) == {"nats", "smtp", *SERVICES}
        with httpx.Client(timeout=5, trust_env=False) as client:
            for name, port in up.service_ports.items():
                response = client.get(f"http://127.0.0.1:{port}/healthz")
                assert response.status_code == 200, name
                assert "server" not in response.headers, name  # no `Server: uvicorn` (issue 12.10)
        principal = asyncio.run(verifier(tmp_path / "var" / "dev-issuer").verify(token))
        assert (principal.sub, principal.roles, principal.school_urns) == (
            "senco-1",
            frozenset({"senco"}),
            frozenset({"100000"}),
        )
        assert (tmp_path / "var" / "dev-token.txt").read_text().strip() == token
        assert "sync_interval: always" in (tmp_path / "var" / "nats.conf").read_text()

        started = json.loads((tmp_path / "var" / "tas-up.json").read_text())
        assert started["urls"] == {
            "nats": f"nats://127.0.0.1:{up.nats_port}",
            "smtp": f"smtp://127.0.0.1:{up.smtp_port}",
            **{name: f"http://127.0.0.1:{port}" for name, port in up.service_ports.items()},
        }
        monkeypatch.chdir(tmp_path / "var" / "log")  # the commands find the instance from a subdirectory
        capsys.readouterr()
        assert main(["deadletters"]) == 0
        assert capsys.readouterr().out.strip() == "no dead letters"  # it reached up's NATS, not 4222
        assert main(["token", "--role", "dsl", "--org-type", "school", "--org-id", "s", "--school-urn", "1"]) == 0
        dsl = asyncio.run(verifier(tmp_path / "var" / "dev-issuer").verify(capsys.readouterr().out.strip()))
        assert dsl.roles == frozenset({"dsl"})

        up.process.send_signal(signal.SIGINT)
        # Each wave (services, then NATS and SMTP) has STOP_SECONDS before a child is killed; a clean stop kills none.
        # The bound is above that design's worst case, not a speed check.
        try:
            up.process.wait(timeout=2 * STOP_SECONDS + 15)
        except subprocess.TimeoutExpired:
            pytest.fail(up.stop_report())
        assert up.process.returncode == 0
        assert "did not stop in time" not in up.stderr_path.read_text()
        assert all_gone(up.pids) == []
        assert not (tmp_path / "var" / "tas-up.pids").exists()
        for name in ("nats", "smtp", *SERVICES):
            assert (tmp_path / "var" / "log" / f"{name}.log").stat().st_size > 0
        for name in SERVICES:  # uvicorn's own lines too go through the JSON logger (issue 12.8)
            text = (tmp_path / "var" / "log" / f"{name}.log").read_text()
            lines = [line for line in text.splitlines() if line and not line.startswith("--- tas up")]
            assert [line for line in lines if not line.startswith("{")] == [], name
            assert all(json.loads(line)["service"] == name for line in lines), name
    finally:
        up.cleanup()


def test_up_exits_1_and_stops_the_rest_when_a_child_dies(tmp_path: Path):
    up = UpProcess(tmp_path, "--no-services")
    try:
        up.wait_for_line(r"^export TAS_TOKEN=", timeout=60)
        pids = up.read_pids()
        assert set(pids) == {"nats", "smtp"}
        os.kill(pids["smtp"], signal.SIGKILL)
        assert up.process.wait(timeout=15) == 1
        assert "smtp exited unexpectedly with code -9" in up.stderr_path.read_text()
        assert all_gone(pids) == []
    finally:
        up.cleanup()
