"""Caseload: the family's children, plan, reviews, chronology, access log, family contacts and sign-in codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ApiClient, json_object


@dataclass(frozen=True)
class NewComment:
    """A plan comment as a page's form posts it (a family's comment, a practitioner's reply): on an item of a section,
    its text, and the form's Idempotency-Key, so that a form sent twice adds it once."""

    section: str
    item_id: str
    text: str
    idempotency_key: str


class CaseloadClient(ApiClient):
    # --- sign-in with a one-time code (caseload's family issuer) ------------------------------------------
    forwarding_secret: str = ""
    """TAS_WEB_FORWARDING_SECRET: proves to caseload that the client address we name is the family's own, so
    that its per-address limits count the family, not the web service."""

    def _forwarding(self, client_address: str | None) -> dict[str, str]:
        if not (self.forwarding_secret and client_address):
            return {}
        return {"X-TAS-Web-Secret": self.forwarding_secret, "X-TAS-Client-Address": client_address}

    async def request_code(self, *, contact: str, client_address: str | None) -> None:
        await self.request(
            "POST",
            "/v1/family/sign-in/codes",
            token=None,
            json={"contact": contact},
            headers=self._forwarding(client_address),
        )

    async def exchange_code(self, *, contact: str, code: str, client_address: str | None) -> dict[str, Any]:
        response = await self.request(
            "POST",
            "/v1/family/sign-in/tokens",
            token=None,
            json={"contact": contact, "code": code},
            headers=self._forwarding(client_address),
        )
        return json_object(response)

    # --- the child's record (family view) ------------------------------------------------------------------
    async def child(self, child_id: str, *, token: str) -> dict[str, Any]:
        return await self.get_json(f"/v1/children/{child_id}", token=token)

    async def plan(self, child_id: str, *, token: str) -> tuple[dict[str, Any], str]:
        response = await self.request("GET", f"/v1/children/{child_id}/plan", token=token)
        return json_object(response), response.headers.get("ETag", "")

    async def versions(self, child_id: str, *, token: str) -> list[dict[str, Any]]:
        return await self.get_items(f"/v1/children/{child_id}/plan/versions", token=token)

    async def version(self, child_id: str, number: int, *, token: str) -> dict[str, Any]:
        return await self.get_json(f"/v1/children/{child_id}/plan/versions/{number}", token=token)

    async def update_about_me(
        self, child_id: str, *, token: str, etag: str, about_me: list[dict[str, Any]]
    ) -> dict[str, Any]:
        response = await self.request(
            "PUT",
            f"/v1/children/{child_id}/plan",
            token=token,
            json={"about_me": about_me},
            headers={"If-Match": etag},
        )
        return json_object(response)

    async def comments(self, child_id: str, *, token: str, version: int | None = None) -> dict[str, Any]:
        """`{"items": [...], "version": n, "comment_period": {"open", "ends_at", ...} | None}`."""
        params = {"version": version} if version is not None else None
        return await self.get_json(f"/v1/children/{child_id}/plan/comments", token=token, params=params)

    async def add_comment(
        self, child_id: str, comment: NewComment, *, token: str, in_reply_to: str | None = None
    ) -> dict[str, Any]:
        body = {"section": comment.section, "item_id": comment.item_id, "text": comment.text}
        if in_reply_to:
            body["in_reply_to"] = in_reply_to  # a practitioner answering a family's comment
        response = await self.request(
            "POST",
            f"/v1/children/{child_id}/plan/comments",
            token=token,
            json=body,
            headers={"Idempotency-Key": comment.idempotency_key},
        )
        return json_object(response)

    async def reviews(self, child_id: str, *, token: str) -> list[dict[str, Any]]:
        return await self.get_items(f"/v1/children/{child_id}/reviews", token=token)

    async def team(self, child_id: str, *, token: str) -> dict[str, Any]:
        return await self.get_json(f"/v1/children/{child_id}/team", token=token)

    async def chronology(self, child_id: str, *, token: str, limit: int = 100) -> list[dict[str, Any]]:
        return await self.get_items(f"/v1/children/{child_id}/chronology", token=token, params={"limit": limit})

    async def access_log(self, child_id: str, *, token: str, limit: int = 50) -> list[dict[str, Any]]:
        return await self.get_items(f"/v1/children/{child_id}/access-log", token=token, params={"limit": limit})

    async def family(self, child_id: str, *, token: str) -> list[dict[str, Any]]:
        return await self.get_items(f"/v1/children/{child_id}/family", token=token)

    # --- the practitioners' pages ----------------------------------------------------------------------------
    async def caseload(self, *, token: str, **params: Any) -> dict[str, Any]:
        return await self.get_json(
            "/v1/caseload", token=token, params={k: v for k, v in params.items() if v not in (None, "")}
        )

    async def find_by_upn(self, upn: str, *, token: str) -> dict[str, Any]:
        return await self.get_json("/v1/children", token=token, params={"upn": upn})

    async def tasks(self, *, token: str) -> dict[str, Any]:
        return await self.get_json("/v1/tasks", token=token)

    async def consent(self, child_id: str, *, token: str) -> dict[str, Any]:
        return await self.get_json(f"/v1/children/{child_id}/consent", token=token)

    async def ehc_requests(self, child_id: str, *, token: str) -> list[dict[str, Any]]:
        return await self.get_items(f"/v1/children/{child_id}/ehc-requests", token=token)

    async def ehc_clocks(self, *, token: str, due_within_days: int = 14) -> list[dict[str, Any]]:
        return await self.get_items("/v1/ehc-clocks", token=token, params={"due_within_days": due_within_days})

    async def break_glass_queue(self, *, token: str, reviewed: bool | None = None) -> list[dict[str, Any]]:
        params = {} if reviewed is None else {"reviewed": "true" if reviewed else "false"}
        return await self.get_items("/v1/break-glass", token=token, params=params)

    async def break_glass(self, child_id: str, *, token: str, reason: str) -> dict[str, Any]:
        return json_object(
            await self.request("POST", f"/v1/children/{child_id}/break-glass", token=token, json={"reason": reason})
        )

    async def review_break_glass(self, grant_id: str, *, token: str, note: str) -> dict[str, Any]:
        return json_object(
            await self.request("POST", f"/v1/break-glass/{grant_id}/review", token=token, json={"note": note})
        )

    async def possible_duplicates(self, *, token: str) -> list[dict[str, Any]]:
        return await self.get_items("/v1/children/possible-duplicates", token=token)

    async def merge(self, child_id: str, *, token: str, duplicate_id: str) -> dict[str, Any]:
        return json_object(
            await self.request(
                "POST", f"/v1/children/{child_id}/merge", token=token, json={"duplicate_id": duplicate_id}
            )
        )

    async def update_plan(
        self, child_id: str, *, token: str, etag: str, sections: dict[str, Any]
    ) -> tuple[dict[str, Any], str]:
        response = await self.request(
            "PUT", f"/v1/children/{child_id}/plan", token=token, json=sections, headers={"If-Match": etag}
        )
        return json_object(response), response.headers.get("ETag", "")

    async def publish(self, child_id: str, *, token: str, etag: str, status: str | None) -> dict[str, Any]:
        """Publish the plan as it was read (`etag`; 412 when it changed since)."""
        body = {"status": status} if status else {}
        headers = {"If-Match": etag} if etag else None
        return json_object(
            await self.request("POST", f"/v1/children/{child_id}/plan/publish", token=token, json=body, headers=headers)
        )

    async def diff(self, child_id: str, *, token: str, from_: int, to: int) -> dict[str, Any]:
        return await self.get_json(f"/v1/children/{child_id}/plan/diff", token=token, params={"from": from_, "to": to})

    async def chronology_page(self, child_id: str, *, token: str, params: list[tuple[str, Any]]) -> dict[str, Any]:
        return await self.get_json(f"/v1/children/{child_id}/chronology", token=token, params=params)

    async def me(self, *, token: str) -> dict[str, Any]:
        """Who the token's holder is, as the services read it (an organisation's provider's claims mapped)."""
        return await self.get_json("/v1/me", token=token)

    async def summary(self, child_id: str, *, token: str) -> dict[str, Any]:
        """The child, the team, consent, reviews and EHC requests in one read (practitioners)."""
        return await self.get_json(f"/v1/children/{child_id}/summary", token=token)
