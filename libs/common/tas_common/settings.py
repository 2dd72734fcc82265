"""Settings shared by every service, read from `TAS_*` environment variables and validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev"}


class IssuerConfig(BaseModel):
    """An organisation's OpenID Connect provider that the services trust (`TAS_TRUSTED_ISSUERS`, a JSON list): its
    `issuer` (`iss`), `jwks_url`, the `org_types` it may vouch for, the `audience` of its access tokens, and how its
    claims become TAS claims: `claim_names` (TAS claim → the provider's claim), `role_map` (the provider's role or
    group → a TAS role) and `claims` (fixed TAS claims from configuration, e.g. `org_type`, `org_id`, `la_code`)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str
    jwks_url: str
    org_types: list[str] = Field(min_length=1)
    audience: str | None = None
    claim_names: dict[str, str] = Field(default_factory=dict)
    role_map: dict[str, str] = Field(default_factory=dict)
    claims: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _never_families(self) -> IssuerConfig:
        if "family" in self.org_types or self.claims.get("org_type") == "family":
            raise ValueError("an organisation's provider does not vouch for families: caseload's family issuer does")
        return self


class CommonSettings(BaseSettings):
    """Every service process reads its own copy; one process runs one service."""

    model_config = SettingsConfigDict(env_prefix="TAS_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    service_name: str = "tas"
    database_url: str = "sqlite+aiosqlite:///var/tas.db"

    nats_url: str = "nats://127.0.0.1:4222"
    stream_name: str = "TAS"
    stream_max_age_days: float = 30.0
    stream_replicas: int = 1

    jwt_issuer: str = "tas-dev"
    jwt_audience: str = "tas"
    jwks_url: str | None = None
    dev_key_dir: Path | None = Path("var/dev-issuer")

    max_body_bytes: int = 1_048_576
    consumer_max_deliver: int = 5
    consumer_max_deliver_not_yet: int = 20
    """Deliveries of an event whose handler waits for another (RetryLater) before it is dead-lettered."""
    consumer_backoff_seconds: list[float] = [1.0, 5.0, 30.0, 120.0]
    consumer_ack_wait_seconds: float = 30.0
    consumer_linger_seconds: float = 0.02
    """A busy consumer's wait before its next fetch, so that what arrives meanwhile is handled as one batch
    (consumer_spec.ConsumerSpec.linger_seconds); 0 fetches again at once."""
    consumer_linger_longest_seconds: float = 0.04
    """The longest a consumer lingers when messages come slowly (ConsumerSpec.linger_longest_seconds). A value at or
    below `consumer_linger_seconds` keeps the linger fixed at `consumer_linger_seconds`."""
    outbox_poll_seconds: float = 1.0
    outbox_linger_seconds: float = 0.0
    """After a round that published events but less than a batch, the outbox relay waits this long before the next
    (OutboxRelay.linger_seconds), so that what is committed meanwhile is published in one round; 0 publishes again at
    once. The first event after a pause always goes at once. Referral's is 0.02 and notify's 0.2 (their config.py
    says why); caseload's is 0: its relay already carries a consumer batch's events a round, and they are on the way
    to the family's message."""
    outage_log_seconds: float = 60.0
    """While NATS (or a consumer, the relay) keeps failing: one line when it starts, then a summary this often."""

    public_base_url: str = "http://127.0.0.1:8002"

    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Serve /metrics on this port, a listener of its own, instead of the API port (TAS_METRICS_PORT): for the
    Prometheus scrape inside the cluster, never through the public host. In prod this or a token is required."""
    metrics_host: str = "0.0.0.0"
    """The address the metrics port listens on."""
    metrics_token: str | None = None
    """When set, a scrape of /metrics (on either port) needs `Authorization: Bearer <token>` (TAS_METRICS_TOKEN)."""

    otlp_endpoint: str | None = None
    """A collector's OTLP/HTTP base URL (TAS_OTLP_ENDPOINT, e.g. http://otel-collector:4318): set, the service exports
    its spans there (telemetry.py); unset, the default, nothing is exported (the traceparent still travels)."""
    otlp_export_seconds: float = Field(default=5.0, gt=0, le=60)
    """How often finished spans are sent, in a batch."""
    otlp_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long one export (and the last one, at shutdown) may take before it is dropped."""

    gc_freeze: bool = True
    """Once started, move every object alive then (modules, the app, its pydantic and SQLAlchemy machinery: ~160,000
    in referral) out of the cyclic collector's reach with `gc.freeze()` (TAS_GC_FREEZE). Each full collection
    otherwise walks them all, 100-200 ms with the event loop stopped, several times a minute under load: the
    intake's p99 (bench/NOTES.md, issue 18 session 7). Off in the test suite, which starts many apps in one process."""

    trusted_issuers: list[IssuerConfig] = []
    """Organisations' OIDC providers trusted beside the main issuer (TAS_TRUSTED_ISSUERS, JSON): practitioners
    signed in to the web pages with their own organisation's provider call the APIs with its access token."""

    family_issuer: str = "tas-family"
    """`iss` of the family tokens caseload mints after a one-time code; trusted for `org_type: family` only."""
    family_jwks_url: str | None = None
    """Caseload's `/.well-known/jwks.json`, where the other services fetch the family issuer's keys (production).
    Without it they read the public key from `TAS_FAMILY_KEY_DIR` (the embedded default)."""
    family_key_dir: Path | None = Path("var/family-issuer")
    """The embedded default's family issuer key (and the sign-in code sealing key), created on first use."""
    mis_issuer: str = "tas-mis"
    """`iss` of the tokens referral's client-credentials endpoint issues to registered MIS clients; trusted for
    `org_type: mis` only."""
    mis_jwks_url: str | None = None
    """Referral's `/v1/mis/oauth/jwks`, where the other services fetch the MIS issuer's keys (production). Without it
    they read the public key from `TAS_MIS_KEY_DIR` (the embedded default)."""
    mis_key_dir: Path | None = Path("var/mis-issuer")
    """The embedded default's MIS issuer key (and the key that seals webhook secrets), created on first use."""
    signin_code_key: str | None = None
    """Base64 of 32 random bytes, shared by caseload and notify only: the one-time sign-in code travels sealed
    with it (AES-256-GCM) from caseload to notify. Without it (dev) a key file under `TAS_FAMILY_KEY_DIR`."""
    web_forwarding_secret: str | None = None
    """Shared with the web service: a request that carries it in `X-TAS-Web-Secret` may name the family's own
    address in `X-TAS-Client-Address` (for rate limits). From anyone else that header is ignored."""

    @model_validator(mode="after")
    def _refuse_dev_shortcuts_in_production(self) -> CommonSettings:
        if len({self.jwt_issuer, self.family_issuer, self.mis_issuer}) != 3:
            raise ValueError(
                "TAS_JWT_ISSUER, TAS_FAMILY_ISSUER and TAS_MIS_ISSUER must differ: each issuer vouches for its own"
            )
        if self.env == "prod":
            if not self.jwks_url:
                raise ValueError("TAS_JWKS_URL is required outside dev: the dev issuer is for local use only")
            if self.database_url.startswith("sqlite"):
                raise ValueError("production runs on PostgreSQL; set TAS_DATABASE_URL")
        return self

    @property
    def stream_max_age_seconds(self) -> float:
        return self.stream_max_age_days * 86400.0
