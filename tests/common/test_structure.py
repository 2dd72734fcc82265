"""Structure guarded by tests (docs/architecture.md §7.10): every route declares who may call it; one Alembic head each."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tas_common.access import iter_api_routes, route_guards
from tas_common.migrations import heads

SERVICES = ("referral", "caseload", "notify", "insights", "web")


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_declares_who_may_call_it(service, tmp_path):
    config = importlib.import_module(f"{service}.config")
    settings_cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    app = importlib.import_module(f"{service}.main").create_app(settings_cls(env="test", dev_key_dir=tmp_path))
    routes = list(iter_api_routes(app.routes))
    assert len(routes) >= 5  # the walk really reaches the routers' routes
    unguarded = [f"{sorted(r.methods)} {r.path}" for r in routes if not route_guards(r)]
    assert unguarded == []


OPERATIONAL_PUBLIC = {"GET /healthz", "GET /readyz", "GET /metrics", "GET /docs", "GET /redoc"}
"""Health, metrics and the self-served API docs (Swagger UI, ReDoc: off with TAS_ENV=prod)."""
PUBLIC_ROUTES = {
    "referral": OPERATIONAL_PUBLIC
    | {
        # the local offer is a public directory by law (Children and Families Act 2014 s.30); writes stay guarded
        "GET /v1/services",
        "GET /v1/services/{service_id}",
        # its Open Referral UK feed, open as the profile's compliance rules ask
        *(
            f"GET /oruk{path}"
            for path in (
                "/",
                "/services",
                "/services/{id}",
                "/service_at_locations",
                "/service_at_locations/{id}",
                "/organizations",
                "/organizations/{id}",
                "/taxonomies",
                "/taxonomies/{id}",
                "/taxonomy_terms",
                "/taxonomy_terms/{id}",
            )
        ),
        # an MIS client has no token before it asks for one (it authenticates with its key or secret), and the
        # MIS issuer's public keys are public by design
        "POST /v1/mis/oauth/token",
        "GET /v1/mis/oauth/jwks",
    },
    "caseload": OPERATIONAL_PUBLIC
    | {
        # the family has no token before it signs in (a one-time code; rate-limited, nothing revealed), and the
        # family issuer's public keys are public by design
        "POST /v1/family/sign-in/codes",
        "POST /v1/family/sign-in/tokens",
        "GET /.well-known/jwks.json",
    },
    "notify": OPERATIONAL_PUBLIC | {"POST /v1/receipts/{provider}"},  # providers prove themselves (signature)
    "insights": OPERATIONAL_PUBLIC,
}


@pytest.mark.parametrize("service", sorted(PUBLIC_ROUTES))
def test_an_api_route_is_open_only_when_listed_here(service, tmp_path):
    """`public` is a deliberate choice: an API route that takes no token is one of the few listed above."""
    config = importlib.import_module(f"{service}.config")
    settings_cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    app = importlib.import_module(f"{service}.main").create_app(settings_cls(env="test", dev_key_dir=tmp_path))
    open_routes = {
        f"{method} {route.path}"
        for route in iter_api_routes(app.routes)
        if any(guard.get("public") for guard in route_guards(route))
        for method in sorted(route.methods - {"HEAD"})
    }
    assert open_routes == PUBLIC_ROUTES[service]


def test_an_unguarded_route_is_detected(tmp_path):
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/open")
    async def open_route() -> dict:
        return {}

    from fastapi import APIRouter

    router = APIRouter(prefix="/v1/things")

    @router.get("")
    async def open_in_router() -> dict:
        return {}

    app.include_router(router)
    routes = {r.path: r for r in iter_api_routes(app.routes)}
    assert route_guards(routes["/open"]) == [] and route_guards(routes["/v1/things"]) == []


@pytest.mark.parametrize("service", SERVICES)
def test_one_alembic_head_per_service(service):
    location = Path(importlib.import_module(service).__file__).parent / "db" / "migrations"
    assert len(heads(location)) == 1
