"""The OpenAPI document each service serves, made true to what the service does.

- `operationId` is the route function's name (`raise_concern`, `get_plan_version`): stable, meaningful, unique per
  service (tests/common/test_openapi.py guards it);
- every request body carries an example (the service's `api/examples.py`, keyed by operationId).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    """The route function's name: FastAPI's default (`raise_concern_v1_concerns_post`) repeats the path."""
    return route.name


def install_openapi(app: FastAPI, *, examples: Mapping[str, Any] | None = None) -> None:
    """Wrap `app.openapi` so that the document it builds (once; FastAPI caches it) is completed here."""
    original = app.openapi
    examples = dict(examples or {})
    completed = False

    def openapi() -> dict[str, Any]:
        nonlocal completed
        spec = original()
        if not completed:
            _add_examples(spec, examples)
            completed = True
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def operations(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """operationId → its operation object."""
    return {
        op["operationId"]: op
        for path_item in spec.get("paths", {}).values()
        for op in path_item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def _add_examples(spec: dict[str, Any], examples: Mapping[str, Any]) -> None:
    for op_id, op in operations(spec).items():
        if op_id in examples and "requestBody" in op:
            for media in op["requestBody"].get("content", {}).values():
                media["example"] = examples[op_id]
