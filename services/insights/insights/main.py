"""Insights: a read model of the event stream (ids, dates, codes and counts: no names, contacts or free text) that
answers an inspector's questions: waiting, statutory timeliness, outcomes and the school comparison."""

from __future__ import annotations

from fastapi import FastAPI

from tas_common.app import create_service_app

from .api import answers
from .config import InsightsSettings
from .events.alert_sweep import run_alert_sweep
from .events.handlers import consumer_spec


def create_app(settings: InsightsSettings | None = None) -> FastAPI:
    settings = settings or InsightsSettings()
    return create_service_app(
        settings=settings,
        title="TAS insights",
        description="Waiting, statutory timeliness, outcomes and the school comparison, from the event stream; "
        "small numbers are never shown.",
        routers=[answers.router],
        consumers=[consumer_spec(settings)],
        workers=[run_alert_sweep],
    )
