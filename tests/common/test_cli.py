"""`tas`: token, migrate, deadletters, audit-verify in process; `tas up` as a real subprocess on free ports.

Everything runs in tmp_path on free ports: never the repo's var/, 4222, 8001-8003 or 8025.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData, update

from tas_common import audit, cli
from tas_common.auth import DevIssuer, OrgType, Principal, TokenVerifier
from tas_common.cli import main
from tas_common.db import Database
from tas_common.stream import ensure_stream
from tas_common.tables import attach_infra, audit_log
from tas_common.testing import NatsServer, free_port

Capsys = pytest.CaptureFixture[str]
OPERATOR_ENV = (
    "TAS_JWT_ISSUER",
    "TAS_JWT_AUDIENCE",
    "TAS_DEV_KEY_DIR",
    "TAS_DATABASE_URL",
    "TAS_NATS_URL",
    "TAS_STREAM_NAME",
    *cli.PORT_ENV.values(),
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in OPERATOR_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def verifier(key_dir: Path) -> TokenVerifier:
    return TokenVerifier(issuer="tas-dev", audience="tas", public_key_pem=DevIssuer(key_dir).public_key_pem())


# --- tas token ----------------------------------------------------------------------------------------------


async def test_token_prints_one_verifiable_jwt_with_the_claims(tmp_path: Path, capsys: Capsys):
    key_dir = tmp_path / "keys"
    rc = main(
        [
            "token",
            "--role",
            "senco",
            "--role",
            "dsl",
            "--org-type",
            "school",
            "--org-id",
            "school-100000",
            "--sub",
            "senco-7",
            "--name",
            "Sam Senco",
            "--school-urn",
            "100000",
            "--school-urn",
            "100001",
            "--ttl-hours",
            "1",
            "--key-dir",
            str(key_dir),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert out.count("\n") == 1, "only the token, so that TOKEN=$(tas token ...) works"
    principal = await verifier(key_dir).verify(out.strip())
    assert principal == Principal(
        sub="senco-7",
        name="Sam Senco",
        org_id="school-100000",
        org_type=OrgType.school,
        roles=frozenset({"senco", "dsl"}),
        school_urns=frozenset({"100000", "100001"}),
    )


async def test_token_defaults_the_subject_and_carries_family_and_la_scopes(tmp_path: Path, capsys: Capsys):
    key_dir = tmp_path / "keys"
    assert (
        main(
            [
                "token",
                "--role",
                "parent",
                "--org-type",
                "family",
                "--org-id",
                "family-1",
                "--child-id",
                "c-1",
                "--key-dir",
                str(key_dir),
            ]
        )
        == 0
    )
    family = await verifier(key_dir).verify(capsys.readouterr().out.strip())
    assert (family.sub, family.child_ids) == ("parent-dev", frozenset({"c-1"}))

    assert (
        main(
            [
                "token",
                "--role",
                "send_officer",
                "--org-type",
                "local_authority",
                "--org-id",
                "la-999",
                "--la-code",
                "999",
                "--key-dir",
                str(key_dir),
            ]
        )
        == 0
    )
    officer = await verifier(key_dir).verify(capsys.readouterr().out.strip())
    assert (officer.sub, officer.la_code) == ("send_officer-dev", "999")
    assert officer.org_type == OrgType.local_authority


def test_token_uses_var_dev_issuer_under_the_current_directory_by_default(tmp_path: Path):
    assert main(["token", "--role", "senco", "--org-type", "school", "--org-id", "s", "--school-urn", "1"]) == 0
    assert (tmp_path / "var" / "dev-issuer" / "private.pem").exists()


def test_token_refuses_an_unknown_org_type(capsys: Capsys):
    with pytest.raises(SystemExit) as exc:
        main(["token", "--role", "x", "--org-type", "police", "--org-id", "p"])
    assert exc.value.code == 2


# --- environment and ports of tas up ------------------------------------------------------------------------


def test_operator_environment_wins_except_for_the_per_service_database_and_name(tmp_path: Path):
    layout = cli.Layout.at(tmp_path)
    ports = cli.Ports(nats=1111, smtp=2222, services={"referral": 3331, "caseload": 3332, "notify": 3333})
    base = cli.shared_env(
        layout, ports, {"TAS_SMTP_HOST": "mail.internal", "TAS_DATABASE_URL": "sqlite://", "TAS_SERVICE_NAME": "oops"}
    )
    env = cli.service_env(layout, "notify", base)
    assert env["TAS_SMTP_HOST"] == "mail.internal"
    assert env["TAS_SMTP_PORT"] == "2222"
    assert env["TAS_NATS_URL"] == "nats://127.0.0.1:1111"
    assert env["TAS_PUBLIC_BASE_URL"] == "http://127.0.0.1:3332"
    assert env["TAS_DEV_KEY_DIR"] == str(tmp_path / "var" / "dev-issuer")
    assert env["TAS_SMS_OUTBOX_PATH"] == str(tmp_path / "var" / "sms-outbox.jsonl")
    assert env["TAS_SERVICE_NAME"] == "notify"
    assert env["TAS_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'notify.db'}"


def test_service_ports_come_from_the_environment():
    ports = cli.service_ports({"TAS_CASELOAD_PORT": "9002"})
    assert ports == {"referral": 8001, "caseload": 9002, "notify": 8003, "web": 8000}
    with pytest.raises(cli.CliError):
        cli.service_ports({"TAS_NOTIFY_PORT": "eighty"})


def test_up_refuses_a_port_in_use_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
):
    for name in cli.SERVICES:
        monkeypatch.setenv(cli.PORT_ENV[name], str(free_port()))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        rc = main(["up", "--root", str(tmp_path), "--nats-port", str(port), "--smtp-port", str(free_port())])
    assert rc == 1
    assert f"{port} (NATS)" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()


# --- tas migrate --------------------------------------------------------------------------------------------


def alembic_versions(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


def test_migrate_creates_every_services_database(tmp_path: Path, capsys: Capsys):
    assert main(["migrate"]) == 0
    for service in cli.SERVICES:
        assert alembic_versions(tmp_path / "var" / f"{service}.db"), service
    assert capsys.readouterr().out.count("migrated") == len(cli.SERVICES) == 4


def test_migrate_one_service_honours_tas_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "elsewhere" / "caseload.db"
    target.parent.mkdir()
    monkeypatch.setenv("TAS_DATABASE_URL", f"sqlite+aiosqlite:///{target}")
    assert main(["migrate", "--service", "caseload"]) == 0
    assert alembic_versions(target)
    assert not (tmp_path / "var" / "caseload.db").exists()


# --- tas deadletters ----------------------------------------------------------------------------------------


async def _publish_dead_letters(url: str, count: int) -> None:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js, name="TAS", max_age_seconds=3600)
    await js.publish("tas.referral.concern.raised", b'{"id": "not-a-dead-letter"}')
    for n in range(count):
        headers = {
            "Tas-Original-Subject": "tas.referral.concern.raised",
            "Tas-Consumer": "caseload-referrals",
            "Tas-Deliveries": "5",
            "Tas-Error": "RuntimeError: boom",
        }
        body = json.dumps({"id": f"event-{n}"}).encode()
        await js.publish("tas.deadletter.caseload-referrals", body, headers=headers)
    await nc.close()


def test_deadletters_lists_each_with_its_headers_and_event_id(tmp_path: Path, capsys: Capsys):
    server = NatsServer(tmp_path / "nats").start()
    try:
        assert main(["deadletters", "--nats-url", server.url]) == 0
        assert capsys.readouterr().out.strip() == "no dead letters"

        asyncio.run(_publish_dead_letters(server.url, 3))
        assert main(["deadletters", "--nats-url", server.url]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 3
        assert lines[0] == (
            "seq=2  event-0  subject=tas.referral.concern.raised  consumer=caseload-referrals  "
            "deliveries=5  error=RuntimeError: boom"
        )  # seq: what `--replay` takes

        assert main(["deadletters", "--nats-url", server.url, "--limit", "2"]) == 0
        out = capsys.readouterr().out.strip().splitlines()
        assert [line.split()[1] for line in out[:2]] == ["event-0", "event-1"]
        assert "1 more" in out[2]
    finally:
        server.stop()


def test_deadletters_reports_an_unreachable_nats(capsys: Capsys):
    assert main(["deadletters", "--nats-url", f"nats://127.0.0.1:{free_port()}"]) == 1
    assert "cannot connect to NATS" in capsys.readouterr().err


# --- tas audit-verify ---------------------------------------------------------------------------------------


async def _audited_database(url: str, rows: int) -> None:
    metadata = MetaData()
    attach_infra(metadata)
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with db.transaction() as session:
        for n in range(rows):
            await audit.record(session, actor=None, action="read", resource_type="child", resource_id=f"c-{n}")
    await db.dispose()


async def _tamper(url: str) -> None:
    db = Database(url)
    async with db.transaction() as session:
        await session.execute(update(audit_log).where(audit_log.c.seq == 2).values(reason="edited"))
    await db.dispose()


def test_audit_verify_reports_an_intact_then_a_broken_chain(tmp_path: Path, capsys: Capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'caseload.db'}"
    asyncio.run(_audited_database(url, 3))
    assert main(["audit-verify", "--service", "caseload", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == "audit chain intact (3 rows)"

    asyncio.run(_tamper(url))
    assert main(["audit-verify", "--service", "caseload", "--database-url", url]) == 1
    assert "seq 2: content does not match its hash" in capsys.readouterr().out


def test_audit_verify_defaults_to_the_service_database_under_var(tmp_path: Path, capsys: Capsys):
    assert main(["audit-verify", "--service", "referral"]) == 1
    assert "no database at" in capsys.readouterr().err
    (tmp_path / "var").mkdir()
    asyncio.run(_audited_database(f"sqlite+aiosqlite:///{tmp_path / 'var' / 'referral.db'}", 0))
    assert main(["audit-verify", "--service", "referral"]) == 0
    assert "intact (0 rows)" in capsys.readouterr().out


# --- tas up, as a real process ------------------------------------------------------------------------------


class UpProcess:
    """`tas up` in a tmp root on free ports, with its stdout read line by line on a thread."""

    def __init__(self, root: Path, *extra: str) -> None:
        self.root = root
        self.nats_port, self.smtp_port = free_port(), free_port()
        self.service_ports = {name: free_port() for name in cli.SERVICES}
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAS_")}
        env.update({cli.PORT_ENV[name]: str(port) for name, port in self.service_ports.items()})
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
                    "--nats-port",
                    str(self.nats_port),
                    "--smtp-port",
                    str(self.smtp_port),
                    *extra,
                ],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
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


def test_up_runs_everything_and_stops_cleanly_on_sigint(tmp_path: Path):
    up = UpProcess(tmp_path)
    try:
        token = up.wait_for_line(r"^export TAS_TOKEN=(\S+)$", timeout=90).group(1)
        assert set(up.read_pids()) == {"nats", "smtp", *cli.SERVICES}
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

        up.process.send_signal(signal.SIGINT)
        assert up.process.wait(timeout=15) == 0
        assert all_gone(up.pids) == []
        assert not (tmp_path / "var" / "tas-up.pids").exists()
        for name in ("nats", "smtp", *cli.SERVICES):
            assert (tmp_path / "var" / "log" / f"{name}.log").stat().st_size > 0
        for name in cli.SERVICES:  # uvicorn's own lines too go through the JSON logger (issue 12.8)
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
