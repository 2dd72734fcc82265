"""Caseload: the child's record, the team around the child, the one plan, reviews and the chronology."""

from __future__ import annotations

from fastapi import FastAPI

from tas_common.app import create_service_app

from .api import access, caseload, children, ehc, examples, plan, reviews, team
from .config import CaseloadSettings
from .events.handlers import consumer_spec


def create_app(settings: CaseloadSettings | None = None) -> FastAPI:
    settings = settings or CaseloadSettings()
    return create_service_app(
        settings=settings,
        title="TAS caseload",
        description="The child's record, the team around the child, the one co-produced plan and the chronology.",
        routers=[
            children.router,
            team.router,
            plan.router,
            reviews.router,
            ehc.router,
            ehc.clocks,
            access.router,
            access.queue,
            caseload.router,
        ],
        consumers=[consumer_spec(settings)],
        request_examples=examples.EXAMPLES,
    )
