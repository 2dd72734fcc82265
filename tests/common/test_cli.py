"""`tas`: token, migrate, deadletters, audit-verify in process (`tas up` is tested in tests/dev/test_up.py).

Everything runs in tmp_path on free ports: never the repo's var/, 4222, 8001-8003 or 8025.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import MetaData, update

from tas_common import audit, cli
from tas_common.auth import DevIssuer, OrgType, Principal, TokenVerifier
from tas_common.cli import main
from tas_common.db import Database
from tas_common.stream import ensure_stream
from tas_common.tables import attach_infra, audit_log
from tas_dev.testing import NatsServer, free_port

from ..databases import with_tables

Capsys = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def clean_env(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAS_ROOT", str(cli_env))  # never the var/ of a `make run` in this checkout


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


# --- tas migrate --------------------------------------------------------------------------------------------


def alembic_versions(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


def test_migrate_creates_every_services_database(tmp_path: Path, capsys: Capsys):
    assert main(["migrate"]) == 0
    for service in cli.SERVICES:
        assert alembic_versions(tmp_path / "var" / f"{service}.db"), service
    assert capsys.readouterr().out.count("migrated") == len(cli.SERVICES) == 5


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
    db = await with_tables(url, metadata)
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
