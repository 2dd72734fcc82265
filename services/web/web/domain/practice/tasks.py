"""My tasks: what waits on the signed-in practitioner, gathered from the APIs at once (each with their own token,
each deciding what they may see) and put in the order a practitioner works through it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ...clients.base import ApiError
from .me import Me


@dataclass
class Tasks:
    referrals: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    ehc: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(x) for x in (self.referrals, self.reviews, self.comments, self.ehc, self.overrides, self.grants))


async def _inbox(referral: Any, token: str) -> list[dict[str, Any]]:
    """Referrals sent to my services and waiting for a decision, each with its days waiting against the service's
    target and its breach flag as referral's API counts them; urgent first, then breaches, then the longest wait."""
    page = await referral.referrals(token=token, inbox=True, status="submitted", limit=100)
    items: list[dict[str, Any]] = page["items"]
    return sorted(items, key=lambda r: (r["urgency"] != "urgent", not r["breached"], -(r["days_waiting"] or 0)))


async def _optional(coro: Any, default: Any) -> Any:
    """A part of the page that the API refuses to this person (403) or does not offer yet (404) is left out."""
    try:
        return await coro
    except ApiError as exc:
        if exc.status in (403, 404):
            return default
        raise


async def gather(*, me: Me, token: str, caseload: Any, referral: Any) -> Tasks:
    jobs: dict[str, Any] = {
        "referrals": _optional(_inbox(referral, token), []),
        "caseload": _optional(caseload.tasks(token=token), {}),
    }
    if me.reviewer:
        jobs["overrides"] = _optional(referral.consent_overrides(token=token, reviewed=False), [])
    results = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
    from_caseload = results["caseload"] or {}
    overrides = results.get("overrides", [])
    names = await child_names(caseload, token, {o["child_id"] for o in overrides if o.get("child_id")})
    for o in overrides:
        o["child"] = names.get(o.get("child_id") or "")
    return Tasks(
        referrals=results["referrals"],
        reviews=from_caseload.get("reviews_due", []),
        comments=from_caseload.get("comments_to_answer", []),
        ehc=from_caseload.get("ehc_due", []),
        overrides=overrides,
        grants=from_caseload.get("break_glass_to_review", []),
    )


async def child_names(caseload: Any, token: str, child_ids: set[str]) -> dict[str, dict[str, Any]]:
    found = await asyncio.gather(
        *(caseload.child(cid, token=token) for cid in sorted(child_ids)[:50]), return_exceptions=True
    )
    return {c["id"]: c for c in found if isinstance(c, dict)}
