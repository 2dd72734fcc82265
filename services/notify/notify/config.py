from __future__ import annotations

from pathlib import Path

from tas_common.settings import CommonSettings


class NotifySettings(CommonSettings):
    service_name: str = "notify"
    database_url: str = "sqlite+aiosqlite:///var/notify.db"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_from: str = "Team Around the School <no-reply@tas.example.org>"
    sms_outbox_path: Path = Path("var/sms-outbox.jsonl")
    family_portal_url: str = "https://tas.example.org/family"
    send_budget: int = 5
    """How many times a temporarily failing message is tried before it is a technical failure."""
