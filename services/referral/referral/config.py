from __future__ import annotations

from pydantic import Field, model_validator

from tas_common.settings import PLACEHOLDER_SECRETS, CommonSettings


class ReferralSettings(CommonSettings):
    service_name: str = "referral"
    database_url: str = "sqlite+aiosqlite:///var/referral.db"
    mis_max_body_bytes: int = 8 * 1_048_576
    """An MIS batch of up to 1,000 concerns; every other route keeps `max_body_bytes` (1 MiB)."""
    consumer_linger_seconds: float = 0.2
    """Referral's consumer lingers longer than the others (TAS_CONSUMER_LINGER_SECONDS, 0.02 s elsewhere): nothing
    it handles is on a family's or a practitioner's path (a concern's link to its child, consent changes, referral
    decisions for MIS webhooks, whose delivery target is 2 s), and a batch of ~30 links costs far less than ten
    of three. At 150 concerns/s on PostgreSQL the pipeline's CPU fell ~0.6–1.1 ms a concern (bench/NOTES.md,
    issue 18 session 12)."""
    outbox_linger_seconds: float = 0.02
    """Referral's relay waits 20 ms after a round that published less than a batch (TAS_OUTBOX_LINGER_SECONDS; 0 for
    caseload, 0.2 for notify), so that the events committed meanwhile go in the next round together. The first event
    after a pause goes at once; one that follows another within 20 ms waits at most that long. At 150 concerns/s a
    round then carries ~3 concerns' events instead of ~1, and each round saved is a transaction of three round trips
    (BEGIN, the claim, COMMIT with its WAL flush) and a publish: switched on and off every 10 s within one run on
    PostgreSQL, referral spent ~0.37 ms less CPU a concern, nats-server ~0.10, the pipeline ~0.5–0.7 (bench/NOTES.md,
    issue 18 session 19). Caseload's relay already carries a consumer batch's events a round; lingering it too saved
    nothing there and would delay the family's message."""
    public_web_url: str = "http://127.0.0.1:8000"
    """The web service's public address (TAS_PUBLIC_WEB_URL): the Open Referral UK feed links each service without
    a page of its own to its page in the local offer there."""

    mis_signing_key: str | None = None
    """PEM of the EC P-256 key that signs MIS client tokens (production). Without it (dev) `TAS_MIS_KEY_DIR`."""
    mis_token_url: str = "http://127.0.0.1:8001/v1/mis/oauth/token"
    """The token endpoint's URL as MIS clients call it: a client assertion's `aud` must be this URL."""
    mis_token_seconds: int = Field(default=300, ge=30, le=3600)
    """How long an MIS client token lives (TAS_MIS_TOKEN_SECONDS)."""
    mis_assertion_max_seconds: int = Field(default=3600, ge=30, le=3600)
    """The longest a client assertion may live (its `exp` minus now; standard client libraries default to an hour)."""
    mis_revocation_cache_seconds: float = Field(default=15.0, ge=0.0, le=60.0)
    """How long a replica trusts what it last read about a client's registration (revoked, its schools): revocation
    takes effect on every replica within this, and tokens already issued are refused from then on."""
    mis_rate_per_minute: int = Field(default=600, ge=1)
    """Requests one MIS client may make per minute to the MIS routes, per replica (TAS_MIS_RATE_PER_MINUTE)."""
    mis_rate_burst: int = Field(default=60, ge=1)
    """Requests one MIS client may make at once before the per-minute rate applies."""

    webhook_retry_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 36000.0]
    )
    """The waits before each retry of a webhook delivery that failed (≈ 25.7 hours in all); after the last, the
    delivery goes to the dead-letter list (TAS_WEBHOOK_RETRY_SECONDS, a JSON list)."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    """How long one delivery may take (connect, send, answer) before it counts as failed."""
    webhook_concurrency: int = Field(default=64, ge=1, le=512)
    """Deliveries in flight at once in one replica."""
    webhook_per_subscription: int = Field(default=8, ge=1, le=64)
    """Deliveries in flight at once per subscription (per replica): a slow receiver holds at most these slots."""
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    """A delivery claimed by a replica that stopped mid-send is tried again after this (same webhook-id)."""
    webhook_poll_seconds: float = Field(default=0.5, gt=0)
    """How often the delivery worker looks for due retries (new deliveries wake it at once)."""
    webhook_secret_key: str | None = None
    """Base64 of 32 random bytes: seals webhook signing secrets at rest (production). Without it, a key file under
    `TAS_MIS_KEY_DIR` (dev)."""

    @model_validator(mode="after")
    def _mis_issuer_key_in_production(self) -> ReferralSettings:
        if self.env == "prod":
            missing = sorted(
                name
                for name, value in (
                    ("TAS_MIS_SIGNING_KEY", self.mis_signing_key),
                    ("TAS_WEBHOOK_SECRET_KEY", self.webhook_secret_key),
                )
                if not value or value.strip().lower() in PLACEHOLDER_SECRETS or len(value.strip()) < 16
            )
            if missing:
                raise ValueError(f"placeholder or missing secrets outside dev: {', '.join(missing)}")
            if not self.mis_token_url.startswith("https://"):
                raise ValueError("TAS_MIS_TOKEN_URL must be an https:// URL outside dev")
        return self
