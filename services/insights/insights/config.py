from __future__ import annotations

from pydantic import Field

from tas_common.settings import CommonSettings


class InsightsSettings(CommonSettings):
    service_name: str = "insights"
    database_url: str = "sqlite+aiosqlite:///var/insights.db"
    public_base_url: str = "http://127.0.0.1:8004"

    alert_interval_seconds: float = Field(default=300.0, gt=0)
    """How often the alert sweep looks for referrals past their target and EHC milestones due or overdue."""
    alert_due_within_days: int = Field(default=7, ge=0, le=60)
    """An EHC milestone this many days from its due date (or overdue) raises an alert."""
    alert_digest_from: int = Field(default=4, ge=2)
    """A sweep that finds this many alerts or more for one recipient sends them as one digest."""
    alert_catch_up_hours: float = Field(default=24.0, gt=0)
    """While the newest fact insights holds is older than this, it is catching up (a replay, a backlog): the sweep
    judges waits as of that fact's time, not the clock's, so that it never alarms about a wait its unread facts
    may already have ended."""
