"""Append-only audit log of every read and write of a child's data, chained by SHA-256 hashes.

Each row's hash covers its content and the previous row's hash, so editing or deleting a row breaks the chain
and `verify_chain` (and `tas audit-verify`) reports where. The row is written in the use case's transaction.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, literal, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .auth import Principal
from .db import utcnow
from .driver import DriverStatement
from .tables import audit_log

GENESIS = "0" * 64
_FIELDS = ("at", "actor", "actor_org", "actor_org_type", "action", "resource_type", "resource_id", "child_id", "reason")
_COLUMNS = (*_FIELDS, "prev_hash", "hash")
_HEAD_HASH = select(audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
_HEAD = DriverStatement(_HEAD_HASH)
_INSERT = DriverStatement(insert(audit_log), columns=_COLUMNS)
_GUARDED_INSERT = DriverStatement(
    insert(audit_log).from_select(
        _COLUMNS,
        select(*(bindparam(c, type_=audit_log.c[c].type) for c in _COLUMNS)).where(
            func.coalesce(_HEAD_HASH.scalar_subquery(), literal(GENESIS)) == bindparam("prev_hash")
        ),
    ),
    columns=_COLUMNS,
)
"""Appends a row only if the chain's head is still the hash it links to (`prev_hash`): 1 row or 0."""
CHAIN_LOCK = func.pg_advisory_xact_lock(727401)
"""PostgreSQL: one chain head at a time across every connection and replica, until the transaction ends. A use case
that has a statement to run before its audit row may take the lock in it (one round trip fewer) and then say so
with `chain_lock_taken`; the guarded insert, a later statement, reads the head after the lock was granted."""
_PG_LOCK = DriverStatement(select(CHAIN_LOCK))
_LOCK_TAKEN = "tas_audit_chain_locked"
_heads: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
"""The hash this process last appended, per database: the likely head of the chain, never trusted blindly.

An append links to it with a guarded insert (`_GUARDED_INSERT`), which the database applies only if the head is
still that hash at that moment, read inside the same statement while holding the chain's write lock (SQLite's write
lock, PostgreSQL's advisory lock). So the cache can only be stale, never wrong: a savepoint or a transaction rolled
back after the append, a row appended by another process (the `tas` CLI, another replica) or an edited head all make
the guard insert nothing, and the head is then read and the row appended as before. On a hit an audited unit of
work costs one statement (PostgreSQL: two, the lock included) instead of a read and an insert."""


def _canonical(value: object) -> object:
    if isinstance(value, datetime):  # SQLite hands back naive UTC, PostgreSQL aware UTC: hash the same text
        return (value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value).isoformat()
    return value


def _digest(prev_hash: str, row: dict[str, object]) -> str:
    canonical = {k: _canonical(v) for k, v in row.items() if k in _FIELDS}
    return hashlib.sha256((prev_hash + json.dumps(canonical, sort_keys=True)).encode()).hexdigest()


def _engine(session: AsyncSession) -> Engine | None:
    bind = session.sync_session.bind
    if isinstance(bind, Connection):
        return bind.engine
    return bind if isinstance(bind, Engine) else None


def _chained(prev: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        digest = _digest(prev, row)
        out.append({**row, "prev_hash": prev, "hash": digest})
        prev = digest
    return out


def chain_lock_taken(session: AsyncSession) -> None:
    """The session's transaction has just run a statement that took `CHAIN_LOCK` (PostgreSQL), outside any savepoint
    (a savepoint rolled back would give the lock back): its audit rows need not take it again."""
    sync = session.sync_session
    if sync.get_nested_transaction() is None:
        sync.info[_LOCK_TAKEN] = sync.get_transaction()


def _lock_taken(session: AsyncSession) -> bool:
    taken = session.sync_session.info.get(_LOCK_TAKEN)
    return taken is not None and taken is session.sync_session.get_transaction()


async def _append(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append `rows` to the chain, in order, in the session's transaction."""
    engine = _engine(session)
    if engine is not None and engine.dialect.name == "postgresql" and not _lock_taken(session):
        await _PG_LOCK.execute(session)
    cached = _heads.get(engine) if engine is not None else None
    chained: list[dict[str, Any]] | None = None
    if cached is not None:
        chained = _chained(cached, rows)
        if await _GUARDED_INSERT.execute(session, chained[0]) != 1:
            chained = None  # the head moved or went back: read it
        elif len(chained) > 1:
            await _INSERT.execute(session, chained[1:])  # the head is now ours, under the chain's write lock
    if chained is None:
        chained = _chained((await _HEAD.scalar(session)) or GENESIS, rows)
        await _INSERT.execute(session, chained)
    if engine is not None:
        _heads[engine] = chained[-1]["hash"]


def _row(actor: Principal | None, system_actor: str, at: datetime, **fields: str | None) -> dict[str, Any]:
    return {
        "at": at,
        "actor": actor.sub if actor else system_actor,
        "actor_org": actor.org_id if actor else system_actor,
        "actor_org_type": str(actor.org_type) if actor else "system",
        "action": fields["action"],
        "resource_type": fields["resource_type"],
        "resource_id": fields["resource_id"],
        "child_id": fields.get("child_id"),
        "reason": fields.get("reason"),
    }


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
    row = _row(
        actor,
        system_actor,
        utcnow(),
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        child_id=child_id,
        reason=reason,
    )
    await _append(session, [row])


async def record_many(
    session: AsyncSession,
    *,
    actor: Principal | None,
    entries: list[dict[str, str | None]],
    system_actor: str = "system",
) -> None:
    """Like `record` for many rows at once (a batch use case). Each entry has `action`, `resource_type`,
    `resource_id` and optionally `child_id` and `reason`."""
    if not entries:
        return
    at = utcnow()
    await _append(session, [_row(actor, system_actor, at, **entry) for entry in entries])


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


async def verify_chain(session: AsyncSession) -> list[ChainBreak]:
    breaks: list[ChainBreak] = []
    prev = GENESIS
    expected_seq: int | None = None
    # A PostgreSQL sequence never takes a number back: a transaction that appended and then rolled back leaves a
    # gap in `seq` over an intact link, which is not a missing row (removing one breaks the next link). SQLite
    # hands out the numbers inside the transaction, so there a gap is still reported on its own.
    gaps_are_rollbacks = session.bind is not None and session.bind.dialect.name == "postgresql"
    rows = await session.stream(select(audit_log).order_by(audit_log.c.seq))
    async for row in rows:
        data = row._asdict()
        linked = data["prev_hash"] == prev
        if expected_seq is not None and data["seq"] != expected_seq and not (linked and gaps_are_rollbacks):
            breaks.append(ChainBreak(data["seq"], f"rows {expected_seq}..{data['seq'] - 1} are missing"))
        if not linked:
            breaks.append(ChainBreak(data["seq"], "previous hash does not match: a row was removed or edited"))
        if _digest(data["prev_hash"], data) != data["hash"]:
            breaks.append(ChainBreak(data["seq"], "content does not match its hash: the row was edited"))
        prev = data["hash"]
        expected_seq = data["seq"] + 1
    return breaks
