from __future__ import annotations

from pydantic import model_validator

from tas_common.settings import PLACEHOLDER_SECRETS, CommonSettings


class CaseloadSettings(CommonSettings):
    service_name: str = "caseload"
    database_url: str = "sqlite+aiosqlite:///var/caseload.db"
    break_glass_hours: float = 4.0
    """How long a break-glass grant lets its holder read a child's record (TAS_BREAK_GLASS_HOURS)."""

    family_signing_key: str | None = None
    """PEM of the EC P-256 key that signs family tokens (production). Without it (dev) `TAS_FAMILY_KEY_DIR`."""
    signin_pepper: str | None = None
    """Secret key of the HMACs that stand in for one-time codes, contacts and client addresses in the database
    (production). Without it (dev) a key file under `TAS_FAMILY_KEY_DIR`."""
    family_token_minutes: int = 60
    signin_code_minutes: int = 10
    signin_code_attempts: int = 5
    signin_window_minutes: int = 15
    signin_codes_per_contact: int = 3
    """Codes one email address or mobile number may be sent per window."""
    signin_requests_per_address: int = 20
    """Code requests and code checks one client address may make per window (each counted on its own)."""
    plan_comment_days: int = 14
    """How long a plan shared for comment takes comments when it is not an EHC draft (15 days by law)."""

    @model_validator(mode="after")
    def _family_issuer_secrets_in_production(self) -> CaseloadSettings:
        if self.env == "prod":
            missing = sorted(
                name
                for name, value in (
                    ("TAS_FAMILY_SIGNING_KEY", self.family_signing_key),
                    ("TAS_SIGNIN_PEPPER", self.signin_pepper),
                    ("TAS_SIGNIN_CODE_KEY", self.signin_code_key),
                    ("TAS_WEB_FORWARDING_SECRET", self.web_forwarding_secret),
                )
                if not value or value.strip().lower() in PLACEHOLDER_SECRETS or len(value.strip()) < 16
            )
            if missing:
                raise ValueError(f"placeholder or missing secrets outside dev: {', '.join(missing)}")
        return self
