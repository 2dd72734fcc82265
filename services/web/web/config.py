"""The web service's settings (TAS_* environment variables, validated at start)."""

from __future__ import annotations

from pathlib import Path

from pydantic import model_validator

from tas_common.settings import PLACEHOLDER_SECRETS, CommonSettings

from .domain.practice import oidc as _oidc

PACKAGE_DIR = Path(__file__).resolve().parent


class WebSettings(CommonSettings):
    service_name: str = "web"
    database_url: str = "sqlite+aiosqlite:///var/web.db"
    """Sessions only (server-side, short-lived): no domain data lives here."""

    public_web_url: str = "http://127.0.0.1:8000"
    """Where people reach these pages (TAS_PUBLIC_WEB_URL); family messages link under it."""
    referral_url: str = "http://127.0.0.1:8001"
    caseload_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    insights_url: str = "http://127.0.0.1:8004"
    api_timeout_seconds: float = 10.0
    web_forwarding_secret: str = ""
    """Shared with caseload (TAS_WEB_FORWARDING_SECRET): lets caseload trust the family's address that the web
    service passes on, for its per-address sign-in limits. Required in prod."""

    session_idle_minutes: float = 30.0
    """A session not used for this long is over (the family signs in again)."""
    session_cookie: str = "tas_session"
    cookie_secure: bool | None = None
    """Send the session cookie over HTTPS only; defaults to on in prod and off elsewhere (http://127.0.0.1)."""
    max_form_bytes: int = 65_536

    oidc_issuer: str | None = None
    """The organisation's OpenID Connect provider practitioners sign in with (TAS_OIDC_ISSUER); unset: no provider
    (the embedded default's dev personas only)."""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    """Empty: a public client (PKCE alone); otherwise sent with HTTP Basic to the token endpoint."""
    oidc_scope: str = "openid profile offline_access"
    oidc_name: str = "your organisation’s account"
    """How the sign-in button names the provider."""
    oidc_discovery_url: str | None = None
    """Defaults to the issuer's /.well-known/openid-configuration."""

    assets_dir: Path = PACKAGE_DIR.parent / "node_modules"
    """Where `npm ci` put govuk-frontend (services/web/node_modules); served under /static."""

    @property
    def secure_cookies(self) -> bool:
        return self.env == "prod" if self.cookie_secure is None else self.cookie_secure

    def oidc(self) -> _oidc.OidcSettings | None:
        if not self.oidc_issuer:
            return None
        base = self.public_web_url.rstrip("/")
        return _oidc.OidcSettings(
            issuer=self.oidc_issuer,
            client_id=self.oidc_client_id,
            client_secret=self.oidc_client_secret,
            scope=self.oidc_scope,
            display_name=self.oidc_name,
            redirect_uri=f"{base}/sign-in/callback",
            post_logout_redirect_uri=f"{base}/signed-out",
            discovery_url=self.oidc_discovery_url,
            timeout=self.api_timeout_seconds,
        )

    @model_validator(mode="after")
    def _https_in_production(self) -> WebSettings:
        if self.env == "prod":
            if not self.public_web_url.startswith("https://"):
                raise ValueError("TAS_PUBLIC_WEB_URL must be https:// in prod (cookies are Secure, HSTS is sent)")
            secret = self.web_forwarding_secret.strip()
            if secret.lower() in PLACEHOLDER_SECRETS or "change-me" in secret.lower() or len(secret) < 16:
                raise ValueError("placeholder or missing secret outside dev: TAS_WEB_FORWARDING_SECRET")
            if self.oidc_issuer and not self.oidc_issuer.startswith("https://"):
                raise ValueError("TAS_OIDC_ISSUER must be https:// in prod")
            if self.oidc_issuer and not self.oidc_client_id:
                raise ValueError("TAS_OIDC_CLIENT_ID is required with TAS_OIDC_ISSUER")
        return self
