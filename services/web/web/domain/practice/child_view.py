"""The child's record for a practitioner: the chronology's filters, the banner of emergency access."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...templating import N_
from . import words

CHRONOLOGY_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "concerns": (N_("Concerns"), ("concern_raised",)),
    "referrals": (
        N_("Referrals"),
        (
            "referral_submitted",
            "referral_accepted",
            "referral_declined",
            "referral_redirected",
            "referral_withdrawn",
            "referral_completed",
        ),
    ),
    "team": (N_("Team"), ("team_member_added", "team_member_removed", "lead_changed")),
    "plan": (N_("Plan and reviews"), ("plan_published", "review_scheduled", "review_progress")),
    "ehc": (N_("EHC needs assessment"), ("ehc_requested", "ehc_milestone")),
    "consent": (N_("Consent and access"), ("consent_changed", "discovery", "child_merged")),
    "messages": (N_("Messages to the family"), ("notification_delivered", "notification_failed", "family_changed")),
}


def kinds_of(groups: list[str]) -> list[str]:
    return [kind for g in groups if g in CHRONOLOGY_GROUPS for kind in CHRONOLOGY_GROUPS[g][1]]


def active_grant(session: Any, child_id: str) -> dict[str, Any] | None:
    """The break-glass grant this session opened on the child, while it lasts (with the time left in words)."""
    grant = (session.data.get("grants") or {}).get(child_id)
    if not grant or datetime.fromisoformat(grant["expires_at"]) <= datetime.now(UTC):
        return None
    return {**grant, "time_left": words.time_left(grant["expires_at"])}


def remember_grant(session: Any, grant: dict[str, Any]) -> None:
    grants = {
        cid: g
        for cid, g in (session.data.get("grants") or {}).items()
        if datetime.fromisoformat(g["expires_at"]) > datetime.now(UTC)
    }
    grants[grant["child_id"]] = {"id": grant["id"], "expires_at": grant["expires_at"]}
    session.data["grants"] = grants


def lead_of(team: dict[str, Any] | None) -> dict[str, Any] | None:
    return (team or {}).get("lead")
