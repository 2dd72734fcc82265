"""My tasks: what waits on the signed-in practitioner, gathered from the APIs at once (each with their own token,
each deciding what they may see) and put in the order a practitioner works through it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
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


def days_waiting(submitted_at: str, now: datetime) -> int:
    return max(0, (now - datetime.fromisoformat(submitted_at)).days)


async def _inbox(referral: Any, token: str, now: datetime) -> list[dict[str, Any]]:
    """Referrals sent to my services and waiting for a decision, each with its days waiting against the service's
    target (a breach when the wait is over the target)."""
    page = await referral.referrals(token=token, inbox=True, status="submitted", limit=100)
    items = page["items"]
    ids = sorted({r["service_id"] for r in items})
    services = await asyncio.gather(*(referral.service(sid, token=token) for sid in ids))
    targets = {s["id"]: s.get("target_wait_days") for s in services}
    for r in items:
        r["days_waiting"] = days_waiting(r["submitted_at"], now)
        target = targets.get(r["service_id"])
        r["target_wait_days"] = target
        r["breach"] = target is not None and r["days_waiting"] > target
    return sorted(items, key=lambda r: (r["urgency"] != "urgent", not r["breach"], -r["days_waiting"]))


async def _optional(coro: Any, default: Any) -> Any:
    """A part of the page that the API refuses to this person (403) or does not offer yet (404) is left out."""
    try:
        return await coro
    except ApiError as exc:
        if exc.status in (403, 404):
            return default
        raise


async def gather(*, me: Me, token: str, caseload: Any, referral: Any, now: datetime | None = None) -> Tasks:
    now = now or datetime.now(UTC)
    jobs: dict[str, Any] = {
        "referrals": _optional(_inbox(referral, token, now), []),
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
