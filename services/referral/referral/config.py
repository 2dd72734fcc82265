from __future__ import annotations

from tas_common.settings import CommonSettings


class ReferralSettings(CommonSettings):
    service_name: str = "referral"
    database_url: str = "sqlite+aiosqlite:///var/referral.db"
    mis_max_body_bytes: int = 8 * 1_048_576
    """An MIS batch of up to 1,000 concerns; every other route keeps `max_body_bytes` (1 MiB)."""
    public_web_url: str = "http://127.0.0.1:8000"
    """The web service's public address (TAS_PUBLIC_WEB_URL): the Open Referral UK feed links each service without
    a page of its own to its page in the local offer there."""
