"""kill -9 of a notify process while it sends, against the real SMTP sink and the dev SMS outbox: a restarted
notify resolves its predecessor's interrupted messages within seconds (a lease, not a five-minute wait), never
sends an SMS twice (the outbox can be asked by id), and doubles at most the emails whose SMTP call was in flight
at the instant of the kill (at most `TAS_SEND_CONCURRENCY` of them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from notify.domain import lifecycle
from notify.domain.models import Notification
from tas_common.db import Database
from tas_dev.devsmtp import DevSmtpSink, read_messages
from tas_dev.testing import NatsServer, free_port, wait_for_port

from ..conftest import eventually, fresh_database_url, migrate
from .helpers import new_id

pytestmark = pytest.mark.alone

EMAILS, SMS = 240, 120
CONCURRENCY = 4
LEASE_SECONDS = 2


def outbox_ids(path: Path) -> list[str]:
    """The `id` of every whole line of the dev SMS outbox (a line cut short by a kill is not a message)."""
    if not path.exists():
        return []
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            ids.append(json.loads(line)["id"])
        except (ValueError, KeyError):
            continue
    return ids


async def queue(db: Database) -> list[str]:
    """EMAILS + SMS messages due now, emails and texts interleaved, as the triggers would have left them."""
    now = datetime.now(UTC) - timedelta(seconds=5)
    ids = []
    async with db.transaction() as session:
        for i in range(EMAILS + SMS):
            sms = i % 3 == 2
            n = Notification(
                child_id=new_id(),
                contact_id=new_id(),
                trigger_event_id=new_id(),
                dedupe_key=f"kill-test:{i}",
                recipient_key=new_id(),
                template="referral_accepted",
                template_version=1,
                language="en",
                channel="sms" if sms else "email",
                recipient=f"+447700900{i % 1000:03d}" if sms else f"parent{i}@example.org",
                subject=None if sms else "Team Around the School",
                body=f"Message {i}",
                created_at=now + timedelta(milliseconds=i),
                updated_at=now,
            )
            assert await lifecycle.insert(session, n)
            ids.append(n.id)
    return ids


def start_notify(tmp: Path, env: dict[str, str], name: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = (tmp / f"{name}.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "notify.main:create_app", "--factory", "--port", str(port)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, port


@pytest.mark.usefixtures("issuer")
async def test_kill_9_mid_send_resolves_in_seconds_without_doubles(tmp_path: Path, nats: NatsServer) -> None:
    url = fresh_database_url("notify", tmp_path)
    await migrate("notify", url)
    db = Database(url)
    sink = DevSmtpSink(tmp_path / "mail", port=free_port()).start()
    outbox = tmp_path / "sms-outbox.jsonl"
    env = {
        "TAS_ENV": "test",
        "TAS_SERVICE_NAME": "notify",
        "TAS_DATABASE_URL": url,
        "TAS_NATS_URL": nats.url,
        "TAS_DEV_KEY_DIR": str(tmp_path / "dev-issuer"),
        "TAS_SMTP_HOST": "127.0.0.1",
        "TAS_SMTP_PORT": str(sink.port),
        "TAS_SMS_OUTBOX_PATH": str(outbox),
        "TAS_QUIET_HOURS_START": "0",
        "TAS_QUIET_HOURS_END": "0",
        "TAS_SEND_CONCURRENCY": str(CONCURRENCY),
        "TAS_SEND_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ids = await queue(db)
        first, _ = start_notify(tmp_path, env, "notify-1")
        processes.append(first)

        async def sending() -> bool:
            assert first.poll() is None, (tmp_path / "notify-1.log").read_text()
            return sink.count >= 60

        await eventually(sending, timeout=60, interval=0.002, what="the first notify to be sending")
        first.send_signal(signal.SIGKILL)
        first.wait()
        sent_at_kill = sink.count + len(outbox_ids(outbox))
        assert sent_at_kill < len(ids), "the kill came after everything was sent: nothing was tested"

        second, port = start_notify(tmp_path, env, "notify-2")
        processes.append(second)
        wait_for_port(port, timeout=30)

        async def all_final() -> bool:
            async with db.reader() as session:
                open_rows = (
                    await session.exec(
                        select(func.count()).where(col(Notification.status).not_in(tuple(lifecycle.FINAL)))
                    )
                ).one()
            return open_rows == 0

        # the lease runs out LEASE_SECONDS after the kill; the restarted notify takes the rows over then
        await eventually(all_final, timeout=45, interval=0.1, what="every message to reach a final status")

        async with db.reader() as session:
            statuses = Counter((await session.exec(select(Notification.status))).all())
        emails = Counter(m["X-TAS-Notification-Id"] for m in read_messages(tmp_path / "mail"))
        texts = Counter(outbox_ids(outbox))
        email_doubles = sum(c - 1 for c in emails.values())
        sms_doubles = sum(c - 1 for c in texts.values())
        lost = len(set(ids) - set(emails) - set(texts))
        print(
            f"\nkill -9 mid-send: {sent_at_kill} of {len(ids)} sent at the kill; statuses {dict(statuses)}; "
            f"email doubles {email_doubles}, SMS doubles {sms_doubles}, lost {lost}"
        )
        assert statuses == {"delivered": len(ids)}
        assert lost == 0
        assert sms_doubles == 0
        assert email_doubles <= CONCURRENCY
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        sink.stop()
        await db.dispose()
