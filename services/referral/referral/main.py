"""Referral: concerns from schools and MIS, referrals to the local offer, waiting times; the MIS clients' issuer."""

from __future__ import annotations

from fastapi import FastAPI

from tas_common.app import create_service_app
from tas_common.auth import OrgType, TrustedIssuer

from .api import (
    concerns,
    examples,
    mis,
    mis_clients,
    mis_oauth,
    mis_webhooks,
    oruk,
    overrides,
    referrals,
    schools,
    services,
)
from .config import ReferralSettings
from .domain.mis_gate import ClientGate
from .events.handlers import consumer_spec
from .events.webhook_worker import run_webhook_worker
from .keys import MisKeys


def create_app(settings: ReferralSettings | None = None) -> FastAPI:
    settings = settings or ReferralSettings()
    keys = MisKeys(settings)
    app = create_service_app(
        settings=settings,
        title="TAS referral",
        description="Concerns raised by schools and their MIS, referrals to the local offer, waiting times; MIS "
        "client registrations, their token endpoint, read back and webhooks.",
        routers=[
            concerns.router,
            mis.router,
            mis_clients.router,
            mis_oauth.router,
            mis_webhooks.router,
            mis_webhooks.la_router,
            referrals.router,
            services.router,
            schools.router,
            overrides.router,
            oruk.router,
        ],
        consumers=[consumer_spec(settings)],
        workers=[run_webhook_worker],
        request_examples=examples.EXAMPLES,
        path_body_limits={"/v1/mis/concerns": settings.mis_max_body_bytes},
        form_paths=("/v1/mis/oauth/token",),
        # referral verifies the MIS client tokens it issues with its own key (the others fetch its JWKS)
        own_issuers=[
            TrustedIssuer(settings.mis_issuer, org_types=frozenset({OrgType.mis}), public_key=keys.signing.public_key)
        ],
    )
    app.add_middleware(oruk.OrukCors)  # outermost: the feed's every answer, errors too, may be read cross-origin
    runtime = app.state.runtime
    runtime.extras["mis_keys"] = keys
    runtime.extras["mis_gate"] = ClientGate(
        runtime.db,
        cache_seconds=settings.mis_revocation_cache_seconds,
        per_minute=settings.mis_rate_per_minute,
        burst=settings.mis_rate_burst,
    )
    return app
