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

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    String,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
)
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
"""SQLite: appends a row only if the chain's head is still the hash it links to (`prev_hash`): 1 row or 0."""
_heads: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
"""SQLite: the hash this process last appended, per database: the likely head of the chain, never trusted blindly.

An append links to it with a guarded insert (`_GUARDED_INSERT`), which the database applies only if the head is
still that hash at that moment, read inside the same statement while holding the database's write lock. So the cache
can only be stale, never wrong: a savepoint or a transaction rolled back after the append, a row appended by another
process (the `tas` CLI) or an edited head all make the guard insert nothing, and the head is then read and the row
appended as before. On a hit an audited unit of work costs one statement instead of a read and an insert."""


def appending(prefix: str = "", *, only_if: ColumnElement[bool] | None = None) -> Insert:
    """PostgreSQL: the INSERT that appends one row to the chain, linked and hashed by the database itself under the
    chain's lock, RETURNING its hash. `tas_audit_head_locked()` (tables.CREATE_AUDIT_HEAD_LOCKED) takes the lock and
    reads the head in a snapshot taken after the lock was granted, though the statement's own snapshot predates it;
    the row's hash is SHA-256 of that head's hash followed by the row's canonical JSON (`body`, made by the caller:
    `appending_params`), exactly what `_digest` computes. So an audited unit of work appends in one round trip, and
    the statement can be one CTE of a larger one (a use case's own inserts; parameters `prefix`ed). The lock is held
    from that statement to the transaction's end: taking it in the transaction's last statement keeps others waiting
    the least. `only_if`: a condition (e.g. an EXISTS) without which the statement appends nothing."""
    head = select(func.coalesce(func.tas_audit_head_locked(type_=String), literal(GENESIS)).label("hash")).subquery(
        "head"
    )
    body = bindparam(prefix + "body", type_=String)
    digest = func.encode(
        func.sha256(func.convert_to(head.c.hash.concat(body), literal_column("'UTF8'"))),
        literal_column("'hex'"),
        type_=String,
    )
    fields = [bindparam(prefix + c, type_=audit_log.c[c].type) for c in _FIELDS]
    source = select(*fields, head.c.hash, digest).select_from(head)
    if only_if is not None:
        source = source.where(only_if)
    return insert(audit_log).from_select(_COLUMNS, source).returning(audit_log.c.hash)


_PG_APPEND = DriverStatement(appending(), columns=_COLUMNS)


def _canonical(value: object) -> object:
    if isinstance(value, datetime):  # SQLite hands back naive UTC, PostgreSQL aware UTC: hash the same text
        return (value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value).isoformat()
    return value


def _body(row: dict[str, object]) -> str:
    """The text a row's hash covers after the previous row's hash: its fields as canonical JSON (ASCII)."""
    return json.dumps({k: _canonical(v) for k, v in row.items() if k in _FIELDS}, sort_keys=True)


def _digest(prev_hash: str, row: dict[str, object]) -> str:
    return hashlib.sha256((prev_hash + _body(row)).encode()).hexdigest()


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


async def _append(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append `rows` to the chain, in order, in the session's transaction."""
    engine = _engine(session)
    if engine is not None and engine.dialect.name == "postgresql":
        head = await _PG_APPEND.scalar(session, {**rows[0], "body": _body(rows[0])})
        if len(rows) > 1:  # the chain's lock is held: the rest link to the row just appended
            await _INSERT.execute(session, _chained(head, rows[1:]))
        return
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


def appending_params(
    *, actor: Principal | None, prefix: str = "", system_actor: str = "system", **fields: str | None
) -> dict[str, Any]:
    """The parameters of `appending(prefix)` for the row `record(actor=…, **fields)` would append (PostgreSQL)."""
    row = _row(actor, system_actor, utcnow(), **fields)
    return {prefix + k: v for k, v in (row | {"body": _body(row)}).items()}


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
