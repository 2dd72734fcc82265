"""Dependencies every service's api/deps.py re-exports. They are `async def`: FastAPI runs a plain `def` dependency in
its thread pool, a thread hand-off per request for a getattr (intake profile)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.routing import APIRoute

from .db import Database
from .idempotency import Once
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


async def get_once(request: Request, idempotency_key: IdempotencyKey = None) -> Once:
    """A creating POST's unit of work. Its key is stored under the route's method and path with the path's values
    ("POST /v1/children/{child_id}/team" → "POST /v1/children/c1/team"), read from the matched route rather than
    the URL so that a proxy's prefix never changes it; its status is the one the route declares (200 by default)."""
    db: Database = request.app.state.runtime.db  # not DatabaseDep: a dependency level less to resolve
    route = request.scope["route"]
    assert isinstance(route, APIRoute)
    path = route.path_format.format(**request.path_params)
    return Once(db=db, key=idempotency_key, route=f"{request.method} {path}", status_code=route.status_code or 200)


OnceDep = Annotated[Once, Depends(get_once)]
