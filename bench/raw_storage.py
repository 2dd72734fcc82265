"""A diagnostic for the intake's ≥ 3× naive target on SQLite (no target of its own): referral as shipped, except that
its storage — `Once.run`: the idempotent unit of work, SQLAlchemy's session, the driver statements, the audit chain,
the group commit — is replaced by the floor baseline's raw sqlite3 writes of the same rows (bench/baselines.py),
one transaction (and one fsync) a request. Everything else is referral's own: uvicorn, the middleware, the bearer
token's principal, the body's validation into `ConcernCreate`, the dependencies, the outbox relay publishing the
events. Its CPU a request is what referral would spend if its storage cost what the floor's does: when that is above
the target's budget, what is left of the miss is not in the storage.

`python -m uvicorn bench.raw_storage:create_app --factory` with referral's environment (BenchSystem(apps=...)).
The replacement is a dependency override of this app alone (`get_once`); no class is patched."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from tas_common.auth import Principal
from tas_common.deps import IdempotencyKey, get_once

from . import baselines

LOCK_RETRY_SECONDS = 0.0005
"""How long a request waits on the event loop before trying again for the write lock the relay or the checkpointer
holds (a blocking wait would stall the loop those need to let it go)."""


@dataclass
class RawStorage:
    """In place of `Once`: the floor's writes on the service's own SQLite file (WAL, synchronous=FULL)."""

    connection: sqlite3.Connection

    async def run(
        self,
        *,
        principal: Principal,
        request_body: BaseModel,
        create: Callable[[Any], Awaitable[BaseModel]],
        one_statement: bool = False,
    ) -> Response:
        body = request_body.model_dump(mode="json")
        connection = self.connection
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError:  # locked: the connection's timeout is 0
                await asyncio.sleep(LOCK_RETRY_SECONDS)
        try:
            rows = baselines.floor_sqlite_writes(connection, body, datetime.now(UTC))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return baselines.created(rows["id"])


def create_app() -> FastAPI:
    from referral.main import create_app as referral_app

    app = referral_app()
    holder: dict[str, RawStorage] = {}

    async def raw_once(request: Request, idempotency_key: IdempotencyKey = None) -> RawStorage:
        """The same dependency shape as `get_once` (the request and its Idempotency-Key header)."""
        storage = holder.get("storage")
        if storage is None:
            path = make_url(request.app.state.settings.database_url).database
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
            connection.execute("PRAGMA synchronous=FULL")
            storage = holder["storage"] = RawStorage(connection)
        return storage

    app.dependency_overrides[get_once] = raw_once
    return app
