"""Structure guarded by tests (DESIGN.md §7.10): every route declares who may call it; one Alembic head each."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from tas_common.access import GUARD_ATTR
from tas_common.migrations import heads

SERVICES = ("referral", "caseload", "notify")


def _guards(dependant) -> list[dict]:
    found = []
    for dep in dependant.dependencies:
        if hasattr(dep.call, GUARD_ATTR):
            found.append(getattr(dep.call, GUARD_ATTR))
        found += _guards(dep)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_declares_who_may_call_it(service, tmp_path):
    config = importlib.import_module(f"{service}.config")
    settings_cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    app = importlib.import_module(f"{service}.main").create_app(settings_cls(env="test", dev_key_dir=tmp_path))
    unguarded = [f"{sorted(r.methods)} {r.path}" for r in app.routes
                 if isinstance(r, APIRoute) and not _guards(r.dependant)]
    assert unguarded == []


def test_an_unguarded_route_is_detected(tmp_path):
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/open")
    async def open_route() -> dict:
        return {}

    route = next(r for r in app.routes if isinstance(r, APIRoute) and r.path == "/open")
    assert _guards(route.dependant) == []


@pytest.mark.parametrize("service", SERVICES)
def test_one_alembic_head_per_service(service):
    location = Path(importlib.import_module(service).__file__).parent / "db" / "migrations"
    assert len(heads(location)) == 1
