from __future__ import annotations

from tas_common.settings import CommonSettings


class CaseloadSettings(CommonSettings):
    service_name: str = "caseload"
    database_url: str = "sqlite+aiosqlite:///var/caseload.db"
    break_glass_hours: float = 4.0
    """How long a break-glass grant lets its holder read a child's record (TAS_BREAK_GLASS_HOURS)."""
