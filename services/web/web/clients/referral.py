"""Referral: the local offer (public: no token), and the family's view of their child's referrals."""

from __future__ import annotations

from typing import Any

from .base import ApiClient, json_object


class ReferralClient(ApiClient):
    async def services(self, *, token: str | None, params: list[tuple[str, Any]]) -> dict[str, Any]:
        return await self.get_json("/v1/services", token=token, params=params)

    async def service(self, service_id: str, *, token: str | None) -> dict[str, Any]:
        return await self.get_json(f"/v1/services/{service_id}", token=token)

    # --- the practitioners' pages ----------------------------------------------------------------------------
    async def referrals(self, *, token: str, **params: Any) -> dict[str, Any]:
        """A page of referrals the caller may see (`inbox=True`: those sent to their services, to decide)."""
        query = {k: ("true" if v is True else "false" if v is False else v) for k, v in params.items() if v is not None}
        return await self.get_json("/v1/referrals", token=token, params=query)

    async def referral(self, referral_id: str, *, token: str) -> dict[str, Any]:
        return await self.get_json(f"/v1/referrals/{referral_id}", token=token)

    async def move_referral(
        self, referral_id: str, move: str, *, token: str, body: dict[str, Any] | None = None
    ) -> Any:
        """accept, decline, redirect, withdraw, complete or first-contact."""
        headers = {"Idempotency-Key": body.pop("idempotency_key")} if body and "idempotency_key" in body else None
        return json_object(
            await self.request("POST", f"/v1/referrals/{referral_id}/{move}", token=token, json=body, headers=headers)
        )

    async def create_referrals(self, *, token: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST", "/v1/referrals", token=token, json=body, headers={"Idempotency-Key": idempotency_key}
        )
        return json_object(response)

    async def concerns(self, *, token: str, **params: Any) -> dict[str, Any]:
        query = {k: ("true" if v is True else "false" if v is False else v) for k, v in params.items() if v is not None}
        return await self.get_json("/v1/concerns", token=token, params=query)

    async def concern(self, concern_id: str, *, token: str) -> dict[str, Any]:
        return await self.get_json(f"/v1/concerns/{concern_id}", token=token)

    async def raise_concern(self, *, token: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = await self.request(
            "POST", "/v1/concerns", token=token, json=body, headers={"Idempotency-Key": idempotency_key}
        )
        return json_object(response)

    async def consent_overrides(self, *, token: str, reviewed: bool | None = None) -> list[dict[str, Any]]:
        params = {} if reviewed is None else {"reviewed": "true" if reviewed else "false"}
        return await self.get_items("/v1/consent-overrides", token=token, params=params)

    async def override_consent(self, concern_id: str, *, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return json_object(
            await self.request("POST", f"/v1/concerns/{concern_id}/consent-overrides", token=token, json=body)
        )

    async def review_override(self, override_id: str, *, token: str, note: str) -> dict[str, Any]:
        return json_object(
            await self.request("POST", f"/v1/consent-overrides/{override_id}/review", token=token, json={"note": note})
        )

    async def family_referrals(self, child_id: str, *, token: str) -> list[dict[str, Any]]:
        """The child's referrals as the family sees them (service, status, dates; no one's words)."""
        items: list[dict[str, Any]] = (await self.get_json(f"/v1/referrals/children/{child_id}", token=token))["items"]
        return items
