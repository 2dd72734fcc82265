"""The app factory every service uses: problem+json handlers, body limit, metrics, health routes, lifespan."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .access import public
from .auth import TrustedIssuer
from .consumer_spec import ConsumerSpec
from .db import database_unavailable
from .docs import install_docs
from .errors import InvalidInput, install_problem_handlers, problem
from .logging import configure_logging
from .metrics import REQUEST_SECONDS
from .metrics_server import MetricsServer, check_exposure, metrics_router, render_latest
from .openapi import install_openapi, operation_id
from .runtime import ServiceRuntime, Worker
from .settings import CommonSettings
from .tracing import TraceContextMiddleware

JSON_TYPES = ("application/json",)
log = logging.getLogger("tas.http")


class UnexpectedErrorMiddleware:
    """An exception that no handler maps is answered with a problem+json 500 and logged ONCE, through the JSON
    logger, with its type and code frames (never its message: it may carry personal data). It is not raised further:
    Starlette's outer ServerErrorMiddleware and uvicorn would each print it again, as plain-text tracebacks.
    `respond` builds the answer from the request's scope and status (the web service renders its error page); by
    default a problem+json. A database that cannot be reached just now (restarting, connection refused, pool
    exhausted) is a 503 with `Retry-After`, logged as a warning: the client may retry, and it is not a bug."""

    def __init__(self, app: ASGIApp, *, respond: Callable[[Scope, int], Response] | None = None) -> None:
        self.app = app
        self.respond = respond or _internal_error_problem

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", "unmatched")
            context = {"method": scope["method"], "path": route, "error": type(exc).__name__}
            if database_unavailable(exc):
                log.warning("database unavailable", extra=context)
                status = 503
            else:
                log.error("unexpected error", exc_info=exc, extra=context)
                status = 500
            if not started:  # else the response is cut short: the client sees a broken response, not a 200
                response = self.respond(scope, status)
                if status == 503:
                    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
                await response(scope, receive, send)


RETRY_AFTER_SECONDS = 5


def _internal_error_problem(_: Scope, status: int) -> Response:
    if status == 503:
        return problem(503, "unavailable", "Service unavailable", "the service cannot reach its database just now")
    return problem(500, "internal-error", "Internal error", "an unexpected error; it has been logged")


NO_STORE = (b"cache-control", b"no-store")
NOSNIFF = (b"x-content-type-options", b"nosniff")


def _protective_headers(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`X-Content-Type-Options: nosniff` on every response, and `Cache-Control: no-store` unless the route chose
    its own caching: a response may carry a child's data, and no browser or proxy may keep it (issue 12.10)."""
    out = list(headers)
    if not any(name.lower() == b"cache-control" for name, _ in out):
        out.append(NO_STORE)
    out.append(NOSNIFF)
    return out


NUL_IN_JSON = b"\\u0000"
"""The NUL character as JSON escapes it. No text TAS keeps may hold it (PostgreSQL's text cannot), so a request
carrying one is invalid input, refused before any handler or database sees it."""


def _invalid(field: str, message: str) -> Response:
    error = InvalidInput(errors=[{"field": field, "message": message}])
    return problem(422, error.slug, error.title, error.detail, **error.extra)


def _nul_rejection(scope: Scope) -> Response | None:
    """A path holding NUL names nothing that exists (404); a query holding it is invalid (422)."""
    if "\x00" in scope["path"]:
        return problem(404, "not-found", "Not Found", "Not Found")
    if b"%00" in scope.get("query_string", b""):
        return _invalid("query", "a parameter may not contain the NUL character (%00)")
    return None


class RequestGuardMiddleware:
    """Rejects bodies over the size limit (413) and non-JSON bodies (415) before any handler reads them, records
    request latency by route template, and adds the protective headers to every response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body_bytes: int,
        form_paths: Sequence[str] = ("/v1/receipts/",),
        path_body_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.form_paths = tuple(form_paths)
        self.path_body_limits = dict(path_body_limits or {})
        """Exact path → a limit other than `max_body_bytes` (e.g. a batch endpoint)."""
        self._latency: dict[tuple[str, str, int], Histogram] = {}
        """The histogram's child per (method, route, status): `labels()` on every request was a lookup under a lock."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = _protective_headers(message.get("headers", ()))
            await send(message)

        rejection = await self._reject(scope, receive)
        if isinstance(rejection, Response):
            await rejection(scope, receive, send_wrapper)
        else:
            await self.app(scope, rejection, send_wrapper)
        key = (scope["method"], getattr(scope.get("route"), "path", "unmatched"), status_holder["status"])
        latency = self._latency.get(key)
        if latency is None:
            latency = self._latency[key] = REQUEST_SECONDS.labels(self.service, key[0], key[1], str(key[2]))
        latency.observe(time.perf_counter() - started)

    async def _reject(self, scope: Scope, receive: Receive) -> Response | Receive:
        nul = _nul_rejection(scope)
        if nul is not None:
            return nul
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return receive
        length = content_type = None
        for name, value in scope["headers"]:  # ASGI header names are lower-case bytes
            if name == b"content-length":
                length = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
        path = scope["path"]
        limit = self.path_body_limits.get(path.rstrip("/") or "/", self.max_body_bytes)
        if length is not None and length.isdigit() and int(length) > limit:
            return problem(413, "payload-too-large", "Request body too large", f"the limit is {limit} bytes")
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if len(body) > limit:
                return problem(413, "payload-too-large", "Request body too large", f"the limit is {limit} bytes")
        content_type = (content_type or "").split(";")[0].strip().lower()
        if (
            body
            and not path.startswith(self.form_paths)
            and not (content_type in JSON_TYPES or content_type.endswith("+json"))
        ):
            return problem(
                415,
                "unsupported-media-type",
                "Send application/json",
                "send application/json (or a +json type)",
            )
        if NUL_IN_JSON in body:
            return _invalid("body", "text may not contain the NUL character (\\u0000)")
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return replay


def freeze_heap() -> None:
    """Collect what start-up left behind, then freeze the rest (settings.gc_freeze): the objects alive now stay
    for the process's life, and the collector's full collections walk only what was allocated since."""
    gc.collect()
    gc.freeze()


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", dependencies=[Depends(public)])
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/readyz", dependencies=[Depends(public)], response_model=None)
    async def readyz(request: Request) -> Any:
        checks = await request.app.state.runtime.ready()
        body = {"status": "ready" if all(checks.values()) else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if all(checks.values()) else 503)

    return router


def create_service_app(
    *,
    settings: CommonSettings,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    consumers: Sequence[ConsumerSpec] = (),
    workers: Sequence[Worker] = (),
    configure_logs: bool = True,
    path_body_limits: Mapping[str, int] | None = None,
    request_examples: Mapping[str, Any] | None = None,
    own_issuers: Sequence[TrustedIssuer] = (),
    path_problems: Mapping[str, Sequence[int]] | None = None,
    form_paths: Sequence[str] = (),
) -> FastAPI:
    """`request_examples`: operationId → an example request body for the OpenAPI document; `path_problems`: a path
    parameter → the errors every route with it can answer (openapi.py). In prod the API docs (/docs, /redoc,
    /openapi.json) are off, and /metrics is on its own port or behind a token (metrics_server.py).
    `own_issuers`: token issuers the service runs itself, trusted with its own keys (runtime.build_verifier).
    `form_paths`: path prefixes that take `application/x-www-form-urlencoded` bodies besides JSON (an OAuth token
    endpoint), added to the provider receipts' `/v1/receipts/`."""
    check_exposure(settings)
    if configure_logs:
        configure_logging(settings.service_name)
    runtime = ServiceRuntime(settings, consumers=consumers, workers=workers, own_issuers=own_issuers)

    async def render_metrics() -> bytes:
        return await render_latest(runtime.refresh_gauges)

    metrics_server = (
        MetricsServer(
            host=settings.metrics_host,
            port=settings.metrics_port,
            render=render_metrics,
            token=settings.metrics_token,
        )
        if settings.metrics_port is not None
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if settings.gc_freeze:
            freeze_heap()
        try:
            if metrics_server is not None:
                await metrics_server.start()
            yield
        finally:
            if metrics_server is not None:
                await metrics_server.stop()
            await runtime.stop()

    # FastAPI's native OpenTelemetry hooks ask the global providers on every request (an os.environ read each,
    # ~1% of the intake); TAS traces with its own W3C traceparent middleware (exporting over OTLP when
    # TAS_OTLP_ENDPOINT is set, with a tracer provider of its own: telemetry.py) and exports Prometheus metrics.
    hidden_in_prod: dict[str, Any] = {"openapi_url": None} if settings.env == "prod" else {}
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        telemetry={"tracing": False, "metrics": False, "logs": False},
        generate_unique_id_function=operation_id,
        docs_url=None,  # FastAPI's pages load their assets from a CDN: docs.py serves them (while openapi_url is on)
        redoc_url=None,
        **hidden_in_prod,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(UnexpectedErrorMiddleware)  # innermost: the guard below records the 500 it answers
    app.add_middleware(
        RequestGuardMiddleware,
        service=settings.service_name,
        max_body_bytes=settings.max_body_bytes,
        path_body_limits=path_body_limits,
        form_paths=("/v1/receipts/", *form_paths),
    )
    app.add_middleware(TraceContextMiddleware, telemetry=runtime.telemetry)  # outermost: rejected requests too
    app.include_router(health_router())
    if metrics_server is None:
        app.include_router(metrics_router(render_metrics, settings.metrics_token))
    for router in routers:
        app.include_router(router)
    install_openapi(app, examples=request_examples, path_problems=path_problems)
    install_docs(app)
    return app
