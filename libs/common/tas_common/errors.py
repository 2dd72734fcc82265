"""Domain exceptions and the one place that maps them to RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:tas:problem:"


class DomainError(Exception):
    """Raised by service functions; never an HTTPException."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "The resource changed since you read it"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(DomainError):
    status, slug, title = 415, "unsupported-media-type", "Send application/json"


class InvalidInput(DomainError):
    """A 422, shaped as every 422 is: `errors` lists each invalid field by its schema location (`body.reason`,
    `query.cursor`, `header.If-Match`) with a message. `field=` is the one-field shorthand."""

    status, slug, title = 422, "validation-error", "The request has invalid fields"

    def __init__(
        self, detail: str | None = None, *, field: str | None = None, errors: list[dict[str, str]] | None = None
    ) -> None:
        errors = list(errors or ([{"field": field, "message": detail or self.title}] if field else []))
        summary = f"{len(errors)} invalid field(s): " + ", ".join(e["field"] for e in errors) if errors else None
        super().__init__(summary if errors and detail is None else detail, errors=errors)


class PreconditionRequired(DomainError):
    status, slug, title = 428, "precondition-required", "Send If-Match with the ETag you read"


def problem(
    status: int, slug: str, title: str, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An RFC 9457 problem. No `instance`: the request's path is the caller's input, and nothing the caller sent
    is echoed in an error (issue 12.9)."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update(extra)
    all_headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    all_headers.update(headers or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=all_headers or None)


UNKNOWN_FIELD = "extra_forbidden"


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Name every invalid field by its place in the schema (`body.child.upn`, `query.limit`); never echo what the
    caller sent: not the value, and not the name of a field the schema does not have (that error names the object
    that got it)."""
    named = []
    for e in errors:
        loc = list(e.get("loc", ()))
        if e.get("type") == UNKNOWN_FIELD:
            named.append({"field": _field(loc[:-1]), "message": "has a field that is not in the schema"})
        else:
            named.append({"field": _field(loc), "message": e.get("msg", "invalid")})
    return named


def _field(loc: list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        response = problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)
        if exc.status == 429 and "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = InvalidInput(errors=validation_errors(list(exc.errors())))
        return problem(422, error.slug, error.title, error.detail, **error.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Routing's 404 and 405 (with its `Allow` header), and any HTTPException a library raises."""
        if exc.status_code == 400 and request.method in ("POST", "PUT", "PATCH"):
            # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8): a 422 like any JSON it cannot read
            error = InvalidInput(field="body", detail="the body is not valid JSON")
            return problem(422, error.slug, error.title, error.detail, **error.extra)
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(exc.status_code, "http-error")
        title = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else "Error"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the methods of the first route on the path only
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem(exc.status_code, slug, title, title, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this request's path."""
    from .access import iter_api_routes  # access imports this module

    path = request.url.path
    methods = {m for r in iter_api_routes(request.app.routes) if r.path_regex.match(path) for m in r.methods or ()}
    return sorted(methods)
