"""FastAPI dependencies that authenticate the caller and declare who may call each route.

Every route takes `Depends(allow(...))` or `Depends(public)`; tests/common/test_route_guards.py fails on a route
that has neither.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .auth import OrgType, Principal, TokenVerifier
from .errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False)
GUARD_ATTR = "__tas_guard__"


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send a bearer token")
    verifier: TokenVerifier = request.app.state.runtime.verifier
    return await verifier.verify(credentials.credentials)


_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def allow(
    *, org_types: Iterable[OrgType | str] | None = None, roles: Iterable[str] | None = None, description: str = ""
) -> Callable[..., Awaitable[Principal]]:
    """A guard: the caller must be authenticated and, when given, of one of `org_types` and hold one of `roles`."""
    wanted_orgs = frozenset(OrgType(o) for o in org_types) if org_types is not None else None
    wanted_roles = frozenset(roles) if roles is not None else None

    async def guard(request: Request, credentials: _Credentials) -> Principal:
        # `authenticate` called here rather than declared as a dependency of its own: each level of FastAPI's
        # dependency tree costs a request ~10 us of resolution (issue 18, bench/NOTES.md session 7)
        principal = await authenticate(request, credentials)
        if wanted_orgs is not None and principal.org_type not in wanted_orgs:
            raise Forbidden("your organisation type may not do this")
        if wanted_roles is not None and not principal.roles.intersection(wanted_roles):
            raise Forbidden("your role may not do this")
        return principal

    setattr(guard, GUARD_ATTR, {"org_types": wanted_orgs, "roles": wanted_roles, "description": description})
    return guard


async def public() -> None:
    """Marks a route deliberately open (health, metrics, provider receipts that verify their own signature)."""


setattr(public, GUARD_ATTR, {"public": True})


def iter_api_routes(routes: Iterable[object]) -> Iterator[APIRoute]:
    """Every APIRoute of an app, also inside included routers (FastAPI ≥ 0.16x wraps them in `_IncludedRouter`,
    whose `original_router` holds the routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from iter_api_routes(nested.routes)


def route_guards(route: APIRoute) -> list[dict[str, object]]:
    """The guards (`allow(...)` or `public`) a route depends on, however deeply."""

    def walk(dependant: Dependant) -> list[dict[str, object]]:
        found = []
        for dep in dependant.dependencies:
            if hasattr(dep.call, GUARD_ATTR):
                found.append(getattr(dep.call, GUARD_ATTR))
            found += walk(dep)
        return found

    return walk(route.dependant)
