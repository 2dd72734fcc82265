"""Referral: the local offer (public: no token), and the family's view of their child's referrals."""

from __future__ import annotations

from typing import Any

from .base import ApiClient


class ReferralClient(ApiClient):
    async def services(self, *, token: str | None, params: list[tuple[str, Any]]) -> dict[str, Any]:
        return await self.get_json("/v1/services", token=token, params=params)

    async def service(self, service_id: str, *, token: str | None) -> dict[str, Any]:
        return await self.get_json(f"/v1/services/{service_id}", token=token)

    async def family_referrals(self, child_id: str, *, token: str) -> list[dict[str, Any]]:
        """The child's referrals as the family sees them (service, status, dates; no one's words)."""
        items: list[dict[str, Any]] = (await self.get_json(f"/v1/referrals/children/{child_id}", token=token))["items"]
        return items
