"""What actually happened, read from the databases and the sinks (never from the services' own answers): one
child per acknowledged concern, one family message per family, drained outboxes, no message left half-sent, no
dead letters. Works on SQLite files and on PostgreSQL alike (SQLAlchemy's async engines)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.smtpsink import read_lines

from .load import Concern, sms_digits

FINAL_STATUSES = ("delivered", "permanent-failure", "technical-failure")
SERVICES = ("referral", "caseload", "notify")


@dataclass(frozen=True)
class Copy:
    """One message as a sink received it."""

    channel: str
    recipient: str
    message_id: str
    t: float | None
    """time.monotonic() when the sink accepted it (SMTP only; the SMS outbox writes wall-clock time)."""


def sink_copies(smtp_out: Path | None, sms_outbox: Path | None) -> list[Copy]:
    copies = []
    if smtp_out is not None:
        for line in read_lines(smtp_out):
            copies.append(Copy("email", str(line["rcpt"]).lower(), str(line.get("mid")), line.get("t")))
    if sms_outbox is not None and sms_outbox.exists():
        for raw in sms_outbox.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # a line being written
            copies.append(Copy("sms", sms_digits(str(line["to"])), str(line["id"]), None))
    return copies


def delivered_recipients(copies: Iterable[Copy]) -> set[str]:
    return {c.recipient for c in copies}


@dataclass
class Kill:
    """One kill -9 and its restart, with the instants (time.monotonic()) the checks need."""

    target: str
    killed_at: float
    ready_at: float | None = None
    drained_at: float | None = None
    backlog: int = 0
    """Concerns acknowledged before the kill that had no family message yet."""
    detail: str = ""
    in_doubt: frozenset[str] = frozenset()
    """Notification ids the killed process had claimed and not yet recorded, read from its database after the kill
    and before the restart (Databases.claimed_by): the only sends it may have made without knowing it."""

    @property
    def down_s(self) -> float | None:
        return None if self.ready_at is None else self.ready_at - self.killed_at

    @property
    def drain_s(self) -> float | None:
        return None if self.drained_at is None or self.ready_at is None else max(0.0, self.drained_at - self.ready_at)


@dataclass
class Verdict:
    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


class Databases:
    """Read-only access to the services' databases."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.engines: dict[str, AsyncEngine] = {s: create_async_engine(u, pool_size=2) for s, u in urls.items()}

    async def rows(self, service: str, sql: str, **params: Any) -> Sequence[Any]:
        async with self.engines[service].connect() as conn:
            return (await conn.execute(text(sql), params)).all()

    async def scalar(self, service: str, sql: str, **params: Any) -> Any:
        return (await self.rows(service, sql, **params))[0][0]

    async def sending(self, channel: str | None = None) -> int:
        """Notifications claimed by a dispatcher and not yet finished (what a kill -9 of notify interrupts)."""
        extra = " AND channel = :channel" if channel else ""
        params = {"channel": channel} if channel else {}
        return int(
            await self.scalar("notify", "SELECT count(*) FROM notification WHERE status = 'sending'" + extra, **params)
        )

    async def claimed_by(self, pid: int) -> frozenset[str]:
        """The notifications a notify process (by its pid, part of its lease owner `host:pid:random`) holds claimed
        and unfinished: read after a kill -9 of it, the sends whose outcome it could not record."""
        rows = await self.rows(
            "notify",
            "SELECT id FROM notification WHERE status = 'sending' AND lease_owner LIKE :owner",
            owner=f"%:{pid}:%",
        )
        return frozenset(str(r[0]) for r in rows)

    async def close(self) -> None:
        for engine in self.engines.values():
            await engine.dispose()


async def stream_state(nats_url: str, stream: str = "TAS") -> dict[str, Any]:
    """Dead letters in the stream and what each durable consumer still has to do."""
    servers = [u.strip() for u in nats_url.split(",") if u.strip()]
    nc = await nats.connect(servers=servers, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream, subjects_filter="tas.deadletter.>")
        dead = sum((info.state.subjects or {}).values())
        samples = []  # the newest dead letter of each consumer: which event, and why (its Tas-* headers)
        for subject in info.state.subjects or {}:
            last = await js.get_last_msg(stream, subject)
            headers = last.headers or {}
            samples.append({k: v for k, v in headers.items() if k.startswith("Tas-")})
        consumers = {
            c.name: {"pending": c.num_pending, "ack_pending": c.num_ack_pending}
            for c in await js.consumers_info(stream)
        }
        return {
            "dead_letters": dead,
            "dead_letter_samples": samples,
            "consumers": consumers,
            "messages": info.state.messages,
        }
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


def notification_id(message_id: str) -> str:
    """Our notification id from the Message-ID notify gives an email (`<id@domain>`, providers/smtp.py)."""
    return message_id.strip("<>").split("@", 1)[0]


def excusable(first: Copy, kills: Sequence[Kill], window_s: float) -> bool:
    """A second copy of one email is what issue 12 item 14 allows for SMTP, which cannot be asked whether a
    message went, and only for a send in flight at a kill:
    - of notify: the notification was claimed by the killed process and its outcome not recorded (`Kill.in_doubt`,
      read from notify's database after the kill). Exact: no clock is compared, so a copy the sink accepted a few
      milliseconds after the kill (the message was in the socket) counts, and one recorded as sent never does;
    - of the SMTP sink: the sink accepted the first copy in the `window_s` before its kill (or while it died), so
      notify saw the connection drop instead of the 250 and could not know."""
    if first.channel != "email":
        return False
    for k in kills:
        if notification_id(first.message_id) in k.in_doubt:
            return True
        if k.target == "smtp" and first.t is not None:
            died = k.ready_at if k.ready_at is not None else k.killed_at
            if k.killed_at - window_s <= first.t <= died:
                return True
    return False


async def check(
    *,
    concerns: Sequence[Concern],
    dbs: Databases,
    copies: Sequence[Copy],
    stream: dict[str, Any],
    kills: Sequence[Kill],
    window_s: float = 2.0,
    max_drain_s: float = 60.0,
    existing_upns: frozenset[str] = frozenset(),
    existing_recipients: frozenset[str] = frozenset(),
) -> Verdict:
    """Every guarantee, as figures and as a list of violations (empty when everything held). `max_drain_s`: how
    long, after a restart, the families owed a message before the kill may wait for it (item 14: a restarted
    notify resolves its predecessor's interrupted messages within seconds; consumers redeliver after their ack
    wait, 30 s by default). `existing_upns` / `existing_recipients`: children and message recipients that were there
    before this exercise began (an earlier exercise of the same running system, checked then): not strangers."""
    v = Verdict()
    for k in kills:
        if k.backlog and (k.drain_s is None or k.drain_s > max_drain_s):
            waited = "still waiting" if k.drain_s is None else f"{k.drain_s:.0f} s"
            v.violations.append(
                f"after kill -9 {k.target}: {k.backlog} famil(ies) owed a message before it waited more than "
                f"{max_drain_s:.0f} s after the restart ({waited})"
            )
    acked = [c for c in concerns if c.acked_at is not None]
    unacked = {c.upn for c in concerns if c.acked_at is None}
    v.figures["concerns"] = len(concerns)
    v.figures["acknowledged"] = len(acked)
    v.figures["via MIS batches"] = sum(1 for c in acked if c.via == "mis")

    concern_rows = Counter(r[0] for r in await dbs.rows("referral", "SELECT upn FROM concern"))
    child_rows = Counter(r[0] for r in await dbs.rows("caseload", "SELECT upn FROM child"))
    acked_upns = {c.upn for c in acked}
    v.figures["concerns stored"] = sum(concern_rows[u] for u in acked_upns)
    v.figures["children"] = sum(child_rows[u] for u in acked_upns)
    doubled_concerns = [u for u in acked_upns if concern_rows[u] > 1]
    no_child = [u for u in acked_upns if child_rows[u] == 0]
    extra_children = [u for u in child_rows if u not in acked_upns and u not in unacked and u not in existing_upns]
    if doubled_concerns:
        v.violations.append(f"{len(doubled_concerns)} concern(s) stored twice by a retried request")
    if no_child or any(child_rows[u] > 1 for u in acked_upns) or extra_children:
        v.violations.append(
            f"children: {len(no_child)} acknowledged concern(s) without a child, {len(extra_children)} unexpected"
        )

    by_recipient: dict[str, list[Copy]] = defaultdict(list)
    for copy in copies:
        by_recipient[copy.recipient].append(copy)
    owed = {c.recipient: c for c in acked}
    lost = [r for r in owed if not by_recipient.get(r)]
    doubled = {r: cs for r, cs in by_recipient.items() if r in owed and len(cs) > 1}
    two_notifications = [r for r, cs in doubled.items() if len({c.message_id for c in cs}) > 1]
    unexcused = []
    for r, cs in doubled.items():
        first_by_id: dict[str, Copy] = {}
        for c in cs:
            if c.message_id in first_by_id and not excusable(first_by_id[c.message_id], kills, window_s):
                unexcused.append(r)
                break
            first_by_id.setdefault(c.message_id, c)
    strangers = [r for r in by_recipient if r not in owed and r not in existing_recipients]
    v.figures["family messages"] = sum(len(cs) for r, cs in by_recipient.items() if r in owed)
    v.figures["families reached"] = len(owed) - len(lost)
    owed_copies = [c for c in copies if c.recipient in owed]
    v.figures["email / SMS messages"] = (
        f"{sum(1 for c in owed_copies if c.channel == 'email')} / {sum(1 for c in owed_copies if c.channel == 'sms')}"
    )
    v.figures["lost (no message)"] = len(lost)
    v.figures["doubles (families with 2+ messages)"] = len(doubled)
    v.figures["doubles beyond item 14's in-flight allowance"] = len(set(unexcused) | set(two_notifications))
    if lost:
        v.violations.append(f"{len(lost)} acknowledged concern(s) whose family got no message")
    if two_notifications:
        v.violations.append(f"{len(two_notifications)} family(ies) got two different notifications for one concern")
    if unexcused:
        v.violations.append(
            f"{len(set(unexcused))} family(ies) got a message twice that was not in flight at a kill (neither "
            f"claimed and unrecorded by a killed notify, nor accepted in the {window_s:.0f} s before a kill of the sink)"
        )
    unowed = [r for r in strangers if not any(c.recipient == r for c in concerns)]
    if unowed:
        v.violations.append(f"{len(unowed)} message(s) to recipients no concern named")

    statuses = {
        str(s): int(n) for s, n in await dbs.rows("notify", "SELECT status, count(*) FROM notification GROUP BY status")
    }
    v.figures["notifications by status"] = statuses
    unfinished = {s: n for s, n in statuses.items() if s not in FINAL_STATUSES}
    failed = {s: n for s, n in statuses.items() if s in FINAL_STATUSES and s != "delivered"}
    if unfinished:
        v.violations.append(f"notifications not finished: {unfinished}")
    if failed:
        v.violations.append(f"notifications failed: {failed}")

    unsent = {s: int(await dbs.scalar(s, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")) for s in SERVICES}
    v.figures["outbox rows unsent"] = sum(unsent.values())
    if any(unsent.values()):
        v.violations.append(f"outboxes not drained: {unsent}")
    v.figures["dead letters"] = stream["dead_letters"]
    if stream["dead_letters"]:
        v.violations.append(
            f"{stream['dead_letters']} dead letter(s) in the stream: {stream.get('dead_letter_samples', [])}"
        )
    behind = {n: c for n, c in stream["consumers"].items() if c["pending"] or c["ack_pending"]}
    if behind:
        v.violations.append(f"consumers not caught up: {behind}")
    return v
