"""The OpenAPI documents are a contract clients can trust (issue 16.1): meaningful operationIds, an example on
every request body that the operation really accepts."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter

from tas_common.access import iter_api_routes
from tas_common.openapi import operations

SERVICES = ("referral", "caseload", "notify")
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
    assert sorted(ids) == sorted(r.name for r in iter_api_routes(app.routes))
    vague = [i for i in ids if "_" not in i and i not in OPERATIONS_ONE_WORD]
    assert vague == [], "an operationId says what it does to what (verb_noun), e.g. accept_referral"


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_has_an_example_the_operation_accepts(apps, service):
    app = apps[service]
    by_id = operations(app.openapi())
    checked = 0
    for route in iter_api_routes(app.routes):
        op = by_id[route.name]
        if "requestBody" not in op:
            continue
        for media_type, media in op["requestBody"]["content"].items():
            assert "example" in media or "examples" in media, f"{route.name} ({media_type}) has no example"
        example: Any = op["requestBody"]["content"]["application/json"]["example"]
        TypeAdapter(route.body_field.field_info.annotation).validate_python(example)  # raises if not valid
        checked += 1
    assert checked >= 3


def test_the_mis_examples_items_are_valid_concerns(apps):
    from referral.domain.schemas import MisConcernIn

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
