"""Referral: concerns from schools and MIS, referrals to the local offer, waiting times."""

from __future__ import annotations

from fastapi import FastAPI

from tas_common.app import create_service_app

from .api import concerns, examples, mis, oruk, overrides, referrals, schools, services
from .config import ReferralSettings
from .events.handlers import consumer_spec


def create_app(settings: ReferralSettings | None = None) -> FastAPI:
    settings = settings or ReferralSettings()
    app = create_service_app(
        settings=settings,
        title="TAS referral",
        description="Concerns raised by schools and their MIS, referrals to the local offer, waiting times.",
        routers=[
            concerns.router,
            mis.router,
            referrals.router,
            services.router,
            schools.router,
            overrides.router,
            oruk.router,
        ],
        consumers=[consumer_spec(settings)],
        request_examples=examples.EXAMPLES,
        path_body_limits={"/v1/mis/concerns": settings.mis_max_body_bytes},
    )
    app.add_middleware(oruk.OrukCors)  # outermost: the feed's every answer, errors too, may be read cross-origin
    return app
