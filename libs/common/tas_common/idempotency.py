"""`Idempotency-Key` for creating POSTs: the first response is stored in the same transaction as the effect, and a
retry with the same key and body gets that response again; the same key with another body gets 422."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from .auth import Principal
from .db import Database, utcnow
from .driver import DriverStatement
from .errors import InvalidInput
from .tables import idempotency_key

_FIND = DriverStatement(
    select(
        idempotency_key.c.route,
        idempotency_key.c.request_hash,
        idempotency_key.c.status_code,
        idempotency_key.c.response,
    ).where(idempotency_key.c.principal == bindparam("principal"), idempotency_key.c.key == bindparam("key"))
)
_INSERT = DriverStatement(
    insert(idempotency_key),
    columns=("principal", "key", "route", "request_hash", "status_code", "response", "created_at"),
)
"""Compiled once, run on the driver (tas_common.driver)."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _principal_key(principal: Principal) -> str:
    return f"{principal.org_id}:{principal.sub}"


async def replay(
    session: AsyncSession, *, principal: Principal, key: str, route: str, body_hash: str
) -> StoredResponse | None:
    row = await _FIND.first(session, {"principal": _principal_key(principal), "key": key})
    if row is None:
        return None
    stored_route, stored_hash, status_code, response = row
    if stored_route != route or stored_hash != body_hash:
        raise InvalidInput("this Idempotency-Key was used with a different request", field="header.Idempotency-Key")
    return StoredResponse(status_code, json.loads(response))


async def remember(
    session: AsyncSession, *, principal: Principal, key: str, route: str, body_hash: str, status_code: int, body: Any
) -> None:
    """Store the response for retries with the same key: `body` is its JSON as sent (bytes) or a JSON value."""
    response = body if isinstance(body, bytes) else json.dumps(body, default=str).encode()
    await _INSERT.execute(
        session,
        {
            "principal": _principal_key(principal),
            "key": key,
            "route": route,
            "request_hash": body_hash,
            "status_code": status_code,
            "response": response,
            "created_at": utcnow(),
        },
    )


@dataclass(frozen=True)
class Once:
    """The unit of work of a creating POST, given to the route by `tas_common.deps.OnceDep`: the database, the
    request's Idempotency-Key, the route a key is stored under (the request's method and path) and the status the
    route declares. The route says only who may call it, its body and its use case:
    `return await once.run(principal=principal, request_body=body, create=lambda session: ...)`."""

    db: Database
    key: str | None
    route: str
    status_code: int

    async def run(
        self,
        *,
        principal: Principal,
        request_body: BaseModel,
        create: Callable[[AsyncSession], Awaitable[BaseModel]],
        one_statement: bool = False,
    ) -> Response:
        """With an Idempotency-Key, a retry returns the first response and repeats no effect (on a concurrent retry
        the loser's transaction rolls back on the key and then replays). The response model is serialised to JSON
        once, by pydantic, for the response and for the stored copy.

        `one_statement`: on PostgreSQL the use case writes everything in ONE statement, after its reads (referral's
        intake: the concern, its contacts, its event and its audit row as CTEs). Without an Idempotency-Key (whose
        row must commit with the effect) the unit then runs without BEGIN … COMMIT: each statement is a transaction
        of its own, so the write is as atomic as before, and a lock it takes (the audit chain's) is released by the
        server at the statement's end, not held while the COMMIT makes its round trip through this process."""
        key, route, status_code = self.key, self.route, self.status_code
        body_hash = request_hash(request_body.model_dump(mode="json")) if key else ""
        for attempt in range(2):
            try:
                async with self.db.transaction() as session:
                    if one_statement and not key and self.db.dialect == "postgresql":
                        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                    if key:
                        stored = await replay(session, principal=principal, key=key, route=route, body_hash=body_hash)
                        if stored is not None:
                            return JSONResponse(
                                stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
                            )
                    created = await create(session)
                    if key:
                        result = created.model_dump_json().encode()
                        await remember(
                            session,
                            principal=principal,
                            key=key,
                            route=route,
                            body_hash=body_hash,
                            status_code=status_code,
                            body=result,
                        )
                if not key:  # serialised after the COMMIT: a use case may hold a lock until then (tas_common.audit)
                    result = created.model_dump_json().encode()
                return Response(result, status_code=status_code, media_type="application/json")
            except IntegrityError:
                if not key or attempt:
                    raise
        raise AssertionError("unreachable")
