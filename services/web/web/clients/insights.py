"""Insights: the four answers (JSON) and one table of an answer as CSV, with the signed-in person's own token."""

from __future__ import annotations

from typing import Any

import httpx

from .base import ApiClient


class InsightsClient(ApiClient):
    async def answer(self, name: str, *, token: str, params: dict[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = await self.get_json(f"/v1/insights/{name}", token=token, params=params)
        return found

    async def csv(self, name: str, *, token: str, params: dict[str, str]) -> httpx.Response:
        return await self.request("GET", f"/v1/insights/{name}", token=token, params={**params, "format": "csv"})
