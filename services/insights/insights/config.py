from __future__ import annotations

from pydantic import Field

from tas_common.settings import CommonSettings


class InsightsSettings(CommonSettings):
    service_name: str = "insights"
    database_url: str = "sqlite+aiosqlite:///var/insights.db"
    public_base_url: str = "http://127.0.0.1:8004"

    alert_interval_seconds: float = Field(default=300.0, gt=0)
    """How often the alert sweep looks for referrals past their target and EHC milestones due or overdue (only once
    insights has read the stream to its end: never about a wait an unread event may have ended)."""
    alert_due_within_days: int = Field(default=7, ge=0, le=60)
    """An EHC milestone this many days from its due date (or overdue) raises an alert."""
    alert_digest_from: int = Field(default=4, ge=2)
    """A sweep that finds this many alerts or more for one recipient sends them as one digest."""
