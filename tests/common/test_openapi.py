"""The OpenAPI documents are a contract clients can trust (issue 16.1): meaningful operationIds, an example on
every request body that the operation really accepts."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter

from tas_common.access import iter_api_routes
from tas_common.openapi import operations

SERVICES = ("referral", "caseload", "notify", "insights")
WITH_BODIES = ("referral", "caseload", "notify")
"""Insights only reads: it takes no request bodies."""
OPERATIONS_ONE_WORD = {"healthz", "readyz", "metrics"}


def build_app(service: str, tmp: Path) -> FastAPI:
    config = importlib.import_module(f"{service}.config")
    settings_cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    return importlib.import_module(f"{service}.main").create_app(settings_cls(env="test", dev_key_dir=tmp / service))


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FastAPI]:
    tmp = tmp_path_factory.mktemp("openapi")
    return {service: build_app(service, tmp) for service in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_meaningful_unique_id(apps, service):
    app = apps[service]
    spec = app.openapi()
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), "operationIds repeat"
    assert sorted(ids) == sorted(r.name for r in iter_api_routes(app.routes) if r.include_in_schema)
    vague = [i for i in ids if "_" not in i and i not in OPERATIONS_ONE_WORD]
    assert vague == [], "an operationId says what it does to what (verb_noun), e.g. accept_referral"


@pytest.mark.parametrize("service", WITH_BODIES)
def test_every_request_body_has_an_example_the_operation_accepts(apps, service):
    app = apps[service]
    by_id = operations(app.openapi())
    checked = 0
    for route in iter_api_routes(app.routes):
        op = by_id.get(route.name, {})  # (the docs pages are not operations)
        if "requestBody" not in op:
            continue
        for media_type, media in op["requestBody"]["content"].items():
            assert "example" in media or "examples" in media, f"{route.name} ({media_type}) has no example"
        if route.body_field is None:  # a body the route reads itself (an OAuth form): its example is checked above
            continue
        example: Any = op["requestBody"]["content"]["application/json"]["example"]
        TypeAdapter(route.body_field.field_info.annotation).validate_python(example)  # raises if not valid
        checked += 1
    assert checked >= 3


def test_the_mis_examples_items_are_valid_concerns(apps):
    from referral.domain.mis_schemas import MisConcernIn

    example = operations(apps["referral"].openapi())["push_concerns"]["requestBody"]["content"]["application/json"]
    for item in example["example"]["items"]:
        MisConcernIn.model_validate(item)


def _integers(schema: Any, spec: dict[str, Any], where: str, seen: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every integer schema reachable from `schema` (following $refs once each), with where it is."""
    if isinstance(schema, list):
        return [i for n, s in enumerate(schema) for i in _integers(s, spec, f"{where}[{n}]", seen)]
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            return []
        seen.add(ref)
        target: Any = spec
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return _integers(target, spec, ref.rsplit("/", 1)[-1], seen)
    found = [(where, schema)] if schema.get("type") == "integer" else []
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            found += [i for name, sub in value.items() for i in _integers(sub, spec, f"{where}.{name}", seen)]
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "not", "prefixItems"):
            found += _integers(value, spec, where, seen)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_integer_a_caller_sends_is_bounded(apps, service):
    """An integer beyond 64 bits reached SQLite and was a 500 (issue 12.7): each one in a path, query, header or
    request body has a minimum and a maximum in the schema, so that validation answers 422 first."""
    spec = apps[service].openapi()
    unbounded = []
    for op_id, op in operations(spec).items():
        found = [
            i
            for p in op.get("parameters", [])
            for i in _integers(p.get("schema", {}), spec, f"{p['in']}.{p['name']}", set())
        ]
        for media in op.get("requestBody", {}).get("content", {}).values():
            found += _integers(media.get("schema", {}), spec, "body", set())
        unbounded += [f"{op_id}: {w}" for w, s in found if "maximum" not in s or "minimum" not in s]
    assert unbounded == []


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_their_assets_from_the_service_itself(apps, page):
    """Issue 16.3: FastAPI's pages load Swagger UI and ReDoc from a CDN, blank on a network without it."""
    for service, app in apps.items():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}") as client:
            html = await client.get(page)
            assert html.status_code == 200 and html.headers["content-type"].startswith("text/html"), service
            urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html.text)
            urls = [u for pair in urls for u in pair if u] + re.findall(r"spec-url=\"([^\"]+)\"", html.text)
            assert urls and all(u.startswith("/") for u in urls), (service, urls)  # nothing from elsewhere
            for url in set(urls):
                asset = await client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 100, (service, url)
            assert "/openapi.json" in urls


def test_no_docs_without_an_openapi_document():
    from tas_common.docs import install_docs

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install_docs(app)
    assert [getattr(r, "path", None) for r in app.routes] == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_is_documented_as_the_one_problem_schema(apps, service):
    """Issue 16.1: no FastAPI HTTPValidationError (TAS never sends it); every 4xx an operation lists is
    application/problem+json with the shared Problem schema; what a route's shape implies is listed."""
    spec = apps[service].openapi()
    assert "HTTPValidationError" not in json.dumps(spec)
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"} and "errors" in problem["properties"]
    for op_id, op in operations(spec).items():
        errors = {code: r for code, r in op["responses"].items() if code.startswith("4")}
        for code, response in errors.items():
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (op_id, code)
        if op.get("security"):
            assert {"401", "403"} <= set(errors), op_id
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in errors, op_id
        if "requestBody" in op:
            assert {"413", "415", "422"} <= set(errors), op_id
