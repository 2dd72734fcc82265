"""One typed client per API, each calling with the signed-in person's own token (never a service account).

The APIs decide who may see or do what; these clients only turn their answers into exceptions the views map to
pages: 404 → the 404 page, 401 → sign in again, 422 → the GOV.UK error summary with the API's `errors[]`."""

from __future__ import annotations

import re
from typing import Any

import httpx

JsonObject = dict[str, Any]
"""An API's answer: every TAS API answers a JSON object (a list comes as a page, `{"items": [...]}`)."""


class ApiError(Exception):
    def __init__(self, status: int, problem: dict[str, Any] | None = None) -> None:
        self.status = status
        self.problem = problem or {}
        super().__init__(f"{status} {self.problem.get('type', '')}")

    @property
    def slug(self) -> str:
        """The last part of the problem's stable `type` (e.g. `not-found`)."""
        return re.split(r"[/:]", str(self.problem.get("type", "")).rstrip("/"))[-1]

    @property
    def errors(self) -> list[dict[str, str]]:
        return list(self.problem.get("errors") or [])


class NotFound(ApiError):
    """The thing does not exist, or the person may not know it does: the 404 page."""


class SignedOut(ApiError):
    """The token is missing, expired or refused: the person signs in again."""


class Forbidden(ApiError):
    pass


class Invalid(ApiError):
    """422 (or 400): the input was refused; `errors[]` names the fields."""


class Conflict(ApiError):
    """409, 412 or 428: someone else changed it first, or the state does not allow it."""


class TooMany(ApiError):
    pass


class Unavailable(ApiError):
    """The API could not be reached or failed (5xx)."""


def json_object(response: httpx.Response) -> JsonObject:
    """The JSON object the API answered; an answer that is not one is the API failing (Unavailable)."""
    body = response.json()
    if not isinstance(body, dict):
        raise Unavailable(502, {"detail": "the API's answer is not a JSON object"})
    return body


def items_of(page: JsonObject) -> list[JsonObject]:
    """The `items` of a page the API answered."""
    items = page["items"]
    if not isinstance(items, list):
        raise Unavailable(502, {"detail": "the API's page has no list of items"})
    return items


def raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    status = response.status_code
    cls: type[ApiError]
    if status in (404, 410):
        cls = NotFound
    elif status == 401:
        cls = SignedOut
    elif status == 403:
        cls = Forbidden
    elif status in (400, 422):
        cls = Invalid
    elif status in (409, 412, 428):
        cls = Conflict
    elif status == 429:
        cls = TooMany
    elif status >= 500:
        cls = Unavailable
    else:
        cls = ApiError
    raise cls(status, problem)


class ApiClient:
    """A thin wrapper over one shared `httpx.AsyncClient` for one API."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            try:
                response = await self.http.request(method, path, params=params, json=json, headers=sent)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                if method != "GET":
                    raise
                # A kept connection the API closed as it went idle (its keep-alive timeout) while this request was
                # on its way: the API never answered it. A GET is safe to send once more, on a new connection.
                response = await self.http.request(method, path, params=params, json=json, headers=sent)
        except httpx.HTTPError as exc:
            raise Unavailable(503, {"detail": type(exc).__name__}) from exc
        raise_for(response)
        return response

    async def get_json(self, path: str, *, token: str | None, **kwargs: Any) -> JsonObject:
        return json_object(await self.request("GET", path, token=token, **kwargs))

    async def get_items(self, path: str, *, token: str | None, **kwargs: Any) -> list[JsonObject]:
        """The items of the page GET `path` answers."""
        return items_of(await self.get_json(path, token=token, **kwargs))
