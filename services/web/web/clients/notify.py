"""Notify: the messages TAS sent the family, and the family member's own preferences."""

from __future__ import annotations

from typing import Any

from .base import ApiClient, json_object


class NotifyClient(ApiClient):
    async def notifications(self, child_id: str, *, token: str, limit: int = 50) -> list[dict[str, Any]]:
        return await self.get_items("/v1/notifications", token=token, params={"child_id": child_id, "limit": limit})

    async def preferences(self, contact_id: str, *, token: str) -> dict[str, Any]:
        return await self.get_json(f"/v1/contacts/{contact_id}/preferences", token=token)

    async def update_preferences(self, contact_id: str, *, token: str, change: dict[str, Any]) -> dict[str, Any]:
        return json_object(
            await self.request("PATCH", f"/v1/contacts/{contact_id}/preferences", token=token, json=change)
        )
