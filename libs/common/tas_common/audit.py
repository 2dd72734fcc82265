"""Append-only audit log of every read and write of a child's data, chained by SHA-256 hashes.

Each row's hash covers its content and the previous row's hash, so editing or deleting a row breaks the chain
and `verify_chain` (and `tas audit-verify`) reports where. The row is written in the use case's transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from .auth import Principal
from .db import utcnow
from .tables import audit_log

GENESIS = "0" * 64
_HEAD = select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
_INSERT = insert(audit_log)
"""Statements built once (the audit row is written by almost every use case)."""
_FIELDS = ("at", "actor", "actor_org", "actor_org_type", "action", "resource_type", "resource_id", "child_id", "reason")


def _canonical(value: object) -> object:
    if isinstance(value, datetime):  # SQLite hands back naive UTC, PostgreSQL aware UTC: hash the same text
        return (value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value).isoformat()
    return value


def _digest(prev_hash: str, row: dict[str, object]) -> str:
    canonical = {k: _canonical(v) for k, v in row.items() if k in _FIELDS}
    return hashlib.sha256((prev_hash + json.dumps(canonical, sort_keys=True)).encode()).hexdigest()


async def record(
    session: AsyncSession,
    *,
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: str,
    child_id: str | None = None,
    reason: str | None = None,
    system_actor: str = "system",
) -> None:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(727401)"))  # one chain head at a time
    head = (await session.execute(_HEAD)).scalar()
    row: dict[str, object] = {
        "at": utcnow(),
        "actor": actor.sub if actor else system_actor,
        "actor_org": actor.org_id if actor else system_actor,
        "actor_org_type": str(actor.org_type) if actor else "system",
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "child_id": child_id,
        "reason": reason,
    }
    prev = head or GENESIS
    await session.execute(_INSERT, {**row, "prev_hash": prev, "hash": _digest(prev, row)})


async def record_many(
    session: AsyncSession,
    *,
    actor: Principal | None,
    entries: list[dict[str, str | None]],
    system_actor: str = "system",
) -> None:
    """Like `record` for many rows at once (a batch use case): one read of the chain head, one multi-row insert.
    Each entry has `action`, `resource_type`, `resource_id` and optionally `child_id` and `reason`."""
    if not entries:
        return
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(727401)"))
    prev = (await session.execute(_HEAD)).scalar()
    prev = prev or GENESIS
    at = utcnow()
    rows = []
    for entry in entries:
        row: dict[str, object] = {
            "at": at,
            "actor": actor.sub if actor else system_actor,
            "actor_org": actor.org_id if actor else system_actor,
            "actor_org_type": str(actor.org_type) if actor else "system",
            "action": entry["action"],
            "resource_type": entry["resource_type"],
            "resource_id": entry["resource_id"],
            "child_id": entry.get("child_id"),
            "reason": entry.get("reason"),
        }
        digest = _digest(prev, row)
        rows.append({**row, "prev_hash": prev, "hash": digest})
        prev = digest
    await session.execute(_INSERT, rows)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


async def verify_chain(session: AsyncSession) -> list[ChainBreak]:
    breaks: list[ChainBreak] = []
    prev = GENESIS
    expected_seq: int | None = None
    rows = await session.stream(select(audit_log).order_by(audit_log.c.seq))
    async for row in rows:
        data = row._asdict()
        if expected_seq is not None and data["seq"] != expected_seq:
            breaks.append(ChainBreak(data["seq"], f"rows {expected_seq}..{data['seq'] - 1} are missing"))
        if data["prev_hash"] != prev:
            breaks.append(ChainBreak(data["seq"], "previous hash does not match: a row was removed or edited"))
        if _digest(data["prev_hash"], data) != data["hash"]:
            breaks.append(ChainBreak(data["seq"], "content does not match its hash: the row was edited"))
        prev = data["hash"]
        expected_seq = data["seq"] + 1
    return breaks
