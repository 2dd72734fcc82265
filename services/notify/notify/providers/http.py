"""Shared HTTP plumbing for SMS providers: map transport errors and status codes to our failure kinds."""

from __future__ import annotations

import httpx

from .base import PermanentFailure, TechnicalFailure, TemporaryFailure


async def call(client: httpx.AsyncClient, method: str, url: str, **kwargs: object) -> httpx.Response:
    try:
        return await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TemporaryFailure(f"unreachable: {type(exc).__name__}") from exc
    except httpx.TimeoutException as exc:  # the request may have been acted on
        raise TemporaryFailure(f"timed out: {type(exc).__name__}", ambiguous=True) from exc
    except httpx.HTTPError as exc:
        raise TemporaryFailure(f"transport: {type(exc).__name__}", ambiguous=True) from exc


def raise_for(response: httpx.Response, *, permanent: bool) -> None:
    """5xx and 429 are temporary (fail over); auth failures are ours (technical); other 4xx are permanent when
    the provider blames the recipient, else technical."""
    code = response.status_code
    if code < 400:
        return
    if code >= 500 or code == 429:
        raise TemporaryFailure(f"HTTP {code}")
    if code in (401, 403):
        raise TechnicalFailure(f"HTTP {code}: credentials refused")
    if permanent:
        raise PermanentFailure(f"HTTP {code}: recipient refused")
    raise TechnicalFailure(f"HTTP {code}")
