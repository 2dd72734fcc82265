"""Referral: the local offer (public: no token)."""

from __future__ import annotations

from typing import Any

from .base import ApiClient


class ReferralClient(ApiClient):
    async def services(self, *, token: str | None, params: list[tuple[str, Any]]) -> dict[str, Any]:
        return await self.get_json("/v1/services", token=token, params=params)

    async def service(self, service_id: str, *, token: str | None) -> dict[str, Any]:
        return await self.get_json(f"/v1/services/{service_id}", token=token)
