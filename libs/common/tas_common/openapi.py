"""The OpenAPI document each service serves, made true to what the service does.

- `operationId` is the route function's name (`raise_concern`, `get_plan_version`): stable, meaningful, unique per
  service (tests/common/test_openapi.py guards it);
- every request body carries an example (the service's `api/examples.py`, keyed by operationId);
- every error an operation can answer is documented as `application/problem+json` with the one shared `Problem`
  schema (errors.py makes every error that shape), instead of FastAPI's `HTTPValidationError` that TAS never
  sends. The errors that follow from the route's shape are added here: 401 and 403 behind a guard, 404 with a path
  parameter, 422 with any input, 413 and 415 with a body, 412 with `If-Match`. A route names the others its use
  case raises with `responses=problems(409, 428)` (on the route or its router).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from .access import iter_api_routes, route_guards
from .errors import PROBLEM_BASE, PROBLEM_JSON


class FieldError(BaseModel):
    field: str = Field(description="Where in the request, by its place in the schema: `body.child.upn`, `query.limit`")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem. `type` is stable (`urn:tas:problem:<slug>`); a problem may carry more members."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": PROBLEM_BASE + "validation-error",
                    "title": "The request has invalid fields",
                    "status": 422,
                    "detail": "1 invalid field(s): body.child.upn",
                    "errors": [{"field": "body.child.upn", "message": "not a valid UPN"}],
                }
            ]
        },
    )

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="On a 422: every invalid field")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: the errors its use case raises, beyond those its shape implies."""
    return {status: {"description": HTTPStatus(status).phrase} for status in statuses}


def operation_id(route: APIRoute) -> str:
    """The route function's name: FastAPI's default (`raise_concern_v1_concerns_post`) repeats the path."""
    return route.name


def install_openapi(
    app: FastAPI,
    *,
    examples: Mapping[str, Any] | None = None,
    path_problems: Mapping[str, Sequence[int]] | None = None,
) -> None:
    """Wrap `app.openapi` so that the document it builds (once; FastAPI caches it) is completed here.
    `path_problems`: a path parameter → the errors every route with it can answer (caseload: `child_id` → 410,
    the merged record)."""
    original = app.openapi
    examples = dict(examples or {})
    path_problems = dict(path_problems or {})
    completed = False

    def openapi() -> dict[str, Any]:
        nonlocal completed
        spec = original()
        if not completed:
            routes = {route.name: route for route in iter_api_routes(app.routes)}
            _add_examples(spec, examples)
            _document_problems(spec, routes, path_problems)
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


ANNOTATIONS = frozenset({"title", "description", "examples", "example"})


def is_any_string(schema: Mapping[str, Any]) -> bool:
    """A schema that every string satisfies (no pattern, length, format): such a parameter cannot be invalid."""
    return {k: v for k, v in schema.items() if k not in ANNOTATIONS} == {"type": "string"}


def implied_statuses(route: APIRoute, op: Mapping[str, Any]) -> set[int]:
    """The errors that follow from the route's shape (see the module's docstring)."""
    statuses: set[int] = set()
    if any(not guard.get("public") for guard in route_guards(route)):
        statuses |= {401, 403}
    parameters = op.get("parameters", [])
    if any(p["in"] == "path" for p in parameters):
        statuses.add(404)
    if "requestBody" in op or any(p["in"] != "path" or not is_any_string(p.get("schema", {})) for p in parameters):
        statuses.add(422)  # (a path parameter that is any string cannot be invalid)
    if (route.methods or set()) & {"POST", "PUT", "PATCH"}:
        statuses |= {413, 415}
    if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters):
        statuses.add(412)
    return statuses


def _document_problems(
    spec: dict[str, Any], routes: Mapping[str, APIRoute], path_problems: Mapping[str, Sequence[int]]
) -> None:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs"))
    schemas["Problem"] = problem
    for op_id, op in operations(spec).items():
        responses = op.setdefault("responses", {})
        declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
        if "422" in responses and responses["422"].get("description") == "Validation Error":
            declared.discard(422)  # FastAPI's own, on any route with a parameter: implied_statuses decides
            del responses["422"]
        by_path = {s for p in op.get("parameters", []) if p["in"] == "path" for s in path_problems.get(p["name"], ())}
        for status in declared | by_path | implied_statuses(routes[op_id], op):
            description = responses.get(str(status), {}).get("description") or HTTPStatus(status).phrase
            responses[str(status)] = {
                "description": description,
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        op["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
