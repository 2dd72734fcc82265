from __future__ import annotations

from tas_common.settings import CommonSettings


class ReferralSettings(CommonSettings):
    service_name: str = "referral"
    database_url: str = "sqlite+aiosqlite:///var/referral.db"
