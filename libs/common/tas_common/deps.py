"""Dependencies every service's api/deps.py re-exports. They are `async def`: FastAPI runs a plain `def` dependency in
its thread pool, a thread hand-off per request for a getattr (intake profile)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from .db import Database
from .runtime import ServiceRuntime


async def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def get_db(request: Request) -> Database:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.db


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
DatabaseDep = Annotated[Database, Depends(get_db)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Retries with the same key repeat no effect"),
]
