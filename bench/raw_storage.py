"""A diagnostic for the intake's ≥ 3× naive target on SQLite (no target of its own): referral as shipped, except that
its storage — `Once.run`: the idempotent unit of work, SQLAlchemy's session, the driver statements, the audit chain,
the group commit — is replaced by the floor baseline's raw sqlite3 writes of the same rows (bench/baselines.py),
one transaction (and one fsync) a request. Everything else is referral's own: uvicorn, the middleware, the bearer
token's principal, the body's validation into `ConcernCreate`, the dependencies, the outbox relay publishing the
events. Its CPU a request is what referral would spend if its storage cost what the floor's does: when that is above
the target's budget, what is left of the miss is not in the storage.

`python -m uvicorn bench.raw_storage:create_app --factory` with referral's environment (BenchSystem(apps=...)): the
process serves this app alone, and `create_app` replaces `Once.run` for all of it. (FastAPI's dependency_overrides
would do it for one app, but with any override set FastAPI rebuilds every dependency of every request: ~0.4 ms a
request, which would be measured as the storage's.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Response
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from tas_common.auth import Principal
from tas_common.idempotency import Once

from . import baselines

_CONNECTIONS: dict[str, sqlite3.Connection] = {}


def _connection(url: str) -> sqlite3.Connection:
    """One sqlite3 connection per database, as the floor has (WAL is the file's; synchronous=FULL as the service)."""
    found = _CONNECTIONS.get(url)
    if found is None:
        path = make_url(url).database
        assert path, "a SQLite file"
        found = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        found.execute("PRAGMA synchronous=FULL")
        _CONNECTIONS[url] = found
    return found


async def raw_run(
    self: Once,
    *,
    principal: Principal,
    request_body: BaseModel,
    create: Callable[[Any], Awaitable[BaseModel]],
    one_statement: bool = False,
) -> Response:
    """In place of `Once.run`: the floor's writes of the request's rows on the unit's own SQLite file, one
    transaction; the principal, the use case and the Idempotency-Key are not used."""
    return await baselines.floor_sqlite_commit(_connection(self.db.url), request_body.model_dump(mode="json"))


def create_app() -> FastAPI:
    from referral.main import create_app as referral_app

    Once.run = raw_run  # type: ignore[method-assign]
    return referral_app()
