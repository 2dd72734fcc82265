"""`Idempotency-Key` for creating POSTs: the first response is stored in the same transaction as the effect, and a
retry with the same key and body gets that response again; the same key with another body gets 422."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from .auth import Principal
from .db import Database, utcnow
from .errors import InvalidInput
from .tables import idempotency_key


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _principal_key(principal: Principal) -> str:
    return f"{principal.org_id}:{principal.sub}"


async def replay(session: AsyncSession, *, principal: Principal, key: str, route: str,
                 body_hash: str) -> StoredResponse | None:
    row = (await session.execute(select(idempotency_key).where(
        idempotency_key.c.principal == _principal_key(principal), idempotency_key.c.key == key))).first()
    if row is None:
        return None
    if row.route != route or row.request_hash != body_hash:
        raise InvalidInput("this Idempotency-Key was used with a different request", field="Idempotency-Key")
    return StoredResponse(row.status_code, json.loads(row.response))


async def remember(session: AsyncSession, *, principal: Principal, key: str, route: str, body_hash: str,
                   status_code: int, body: Any) -> None:
    await session.execute(insert(idempotency_key).values(
        principal=_principal_key(principal), key=key, route=route, request_hash=body_hash, status_code=status_code,
        response=json.dumps(body, default=str).encode(), created_at=utcnow()))


async def run_once(db: Database, *, principal: Principal, key: str | None, route: str, request_body: BaseModel,
                   create: Callable[[AsyncSession], Awaitable[BaseModel]], status_code: int = 201) -> JSONResponse:
    """The unit of work of a creating POST: with an Idempotency-Key, a retry returns the first response and
    repeats no effect (on a concurrent retry the loser's transaction rolls back on the key and then replays)."""
    body_hash = request_hash(request_body.model_dump(mode="json"))
    for attempt in range(2):
        try:
            async with db.transaction() as session:
                if key:
                    stored = await replay(session, principal=principal, key=key, route=route, body_hash=body_hash)
                    if stored is not None:
                        return JSONResponse(stored.body, status_code=stored.status_code,
                                            headers={"Idempotent-Replayed": "true"})
                result = (await create(session)).model_dump(mode="json")
                if key:
                    await remember(session, principal=principal, key=key, route=route, body_hash=body_hash,
                                   status_code=status_code, body=result)
            return JSONResponse(result, status_code=status_code)
        except IntegrityError:
            if not key or attempt:
                raise
    raise AssertionError("unreachable")
