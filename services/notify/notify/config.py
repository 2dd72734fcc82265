from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from tas_common.settings import PLACEHOLDER_SECRETS, CommonSettings

SMS_PROVIDERS = ("outbox", "notify", "twilio")
EMAIL_PROVIDERS = ("smtp",)


class NotifySettings(CommonSettings):
    service_name: str = "notify"
    database_url: str = "sqlite+aiosqlite:///var/notify.db"
    outbox_linger_seconds: float = 0.2
    """Notify's relay waits 0.2 s after a round that published less than a batch (TAS_OUTBOX_LINGER_SECONDS; 0.02
    for referral, 0 for the others): its events — a message's outcome, a contact's preferences, a family's
    reachability — update caseload's chronology and replicas, and no one waits on them within a second. At 150 concerns/s it publishes
    them in a few rounds a second instead of one per event or two (bench/NOTES.md, issue 18 session 12)."""
    public_base_url: str = "http://127.0.0.1:8003"
    """Where providers reach this service: delivery receipts go to `<public_base_url>/v1/receipts/<provider>`,
    and Twilio signs exactly that URL."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_from: str = "Team Around the School <no-reply@tas.example.org>"
    smtp_message_id_domain: str = "tas.example.org"
    smtp_receipt_token: str = "dev"
    """Bearer token the mail relay's bounce processor sends to `POST /v1/receipts/smtp`."""
    sms_outbox_path: Path = Path("var/sms-outbox.jsonl")
    public_web_url: str = "http://127.0.0.1:8000"
    """Where families reach the web pages (TAS_PUBLIC_WEB_URL): every family message links to its page under it
    (domain/links.py, docs/notify.md)."""
    family_portal_url: str = "https://tas.example.org/family"
    """Superseded by TAS_PUBLIC_WEB_URL (the family pages are `<public_web_url>/family/...`)."""
    practitioner_portal_url: str = "https://tas.example.org/referrals"

    sms_providers: str = "outbox"
    """Comma-separated, in failover order: `outbox` (dev), `notify` (GOV.UK Notify), `twilio`."""
    email_providers: str = "smtp"
    provider_timeout_seconds: float = 10.0
    provider_rates: dict[str, float] = Field(default_factory=dict)
    """Messages per second per provider (token bucket, burst = one second's worth, at least 1), e.g.
    `TAS_PROVIDER_RATES='{"notify": 50, "twilio": 10}'`. A provider not named is not limited."""

    notify_api_url: str = "https://api.notifications.service.gov.uk"
    notify_api_key: str = ""
    """GOV.UK Notify API key: `<key name>-<service id>-<secret>` (both ids are UUIDs)."""
    notify_sms_template_id: str = ""
    """A Notify template whose whole content is `((body))`: TAS renders the text, Notify delivers it."""
    notify_callback_token: str = ""
    """The bearer token configured for delivery-status (and received-text) callbacks in Notify."""

    twilio_api_url: str = "https://api.twilio.com"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""

    send_budget: int = 5
    """How many times a temporarily failing message is tried before it is a technical failure."""
    retry_base_seconds: float = 30.0
    send_concurrency: int = Field(default=16, ge=1, le=500)
    """Provider calls in flight at once in one notify process (a kill -9 can double at most these, for providers
    that cannot be asked whether they have a message)."""
    send_lease_seconds: float = Field(default=15.0, gt=0)
    """A claimed message belongs to the notify process that claimed it this long, renewed while it works on it;
    after a crash, another (or the restarted) notify takes it over when the lease runs out."""
    receipt_timeout_seconds: float = Field(default=72 * 3600.0, gt=0)
    """A message a provider accepted (Notify, Twilio) whose delivery receipt never comes is a technical failure
    this long after it was accepted (GOV.UK Notify gives up on a receipt after 72 hours too)."""
    review_reminder_days: int = 2
    alert_digest_from: int = Field(default=4, ge=2)
    """Insights' alerts for one recipient: this many or more not yet told, in one event (one sweep of insights,
    `TAS_ALERT_INTERVAL_SECONDS`), go as one digest email listing them (the same setting as insights')."""
    quiet_hours_start: int = 21
    quiet_hours_end: int = 8
    quiet_hours_zone: str = "Europe/London"
    sms_max_fragments: int = 3

    @property
    def sms_provider_names(self) -> list[str]:
        return [p.strip() for p in self.sms_providers.split(",") if p.strip()]

    @property
    def email_provider_names(self) -> list[str]:
        return [p.strip() for p in self.email_providers.split(",") if p.strip()]

    @property
    def notify_service_id(self) -> str:
        return self.notify_api_key[-73:-37] if len(self.notify_api_key) >= 74 else ""

    @property
    def notify_secret(self) -> str:
        return self.notify_api_key[-36:] if len(self.notify_api_key) >= 74 else ""

    @model_validator(mode="after")
    def _check_providers(self) -> NotifySettings:
        unknown = [p for p in self.sms_provider_names if p not in SMS_PROVIDERS] + [
            p for p in self.email_provider_names if p not in EMAIL_PROVIDERS
        ]
        if unknown:
            raise ValueError(f"unknown provider(s) {unknown}; SMS: {SMS_PROVIDERS}, email: {EMAIL_PROVIDERS}")
        if not self.sms_provider_names or not self.email_provider_names:
            raise ValueError("configure at least one SMS and one email provider")
        if self.env == "prod":
            secrets: dict[str, str] = {
                "TAS_SMTP_RECEIPT_TOKEN": self.smtp_receipt_token,
                "TAS_SIGNIN_CODE_KEY": self.signin_code_key or "",  # opens the sign-in codes caseload sends
            }
            if "outbox" in self.sms_provider_names:
                raise ValueError("the dev SMS outbox is not a provider for production")
            if "notify" in self.sms_provider_names:
                secrets |= {
                    "TAS_NOTIFY_API_KEY": self.notify_secret,
                    "TAS_NOTIFY_CALLBACK_TOKEN": self.notify_callback_token,
                }
            if "twilio" in self.sms_provider_names:
                secrets |= {"TAS_TWILIO_AUTH_TOKEN": self.twilio_auth_token}
            weak = sorted(
                k
                for k, v in secrets.items()
                if v.strip().lower() in PLACEHOLDER_SECRETS or "change-me" in v.lower() or len(v) < 16
            )
            if weak:
                raise ValueError(f"placeholder or missing secrets outside dev: {', '.join(weak)}")
        return self
