from __future__ import annotations

from tas_common.settings import CommonSettings


class CaseloadSettings(CommonSettings):
    service_name: str = "caseload"
    database_url: str = "sqlite+aiosqlite:///var/caseload.db"
