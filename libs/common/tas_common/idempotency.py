"""`Idempotency-Key` for creating POSTs: the first response is stored in the same transaction as the effect, and a
retry with the same key and body gets that response again; the same key with another body gets 422."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .auth import Principal
from .db import utcnow
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
