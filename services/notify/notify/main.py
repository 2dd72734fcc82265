"""Notify: SMS and email to families and practitioners — never lost, never doubled, never misdirected."""

from __future__ import annotations

from fastapi import FastAPI

from tas_common.app import create_service_app

from .api import contacts, examples, notifications, receipts, templates
from .config import NotifySettings
from .domain.dispatch_worker import run_dispatcher
from .events.handlers import consumer_spec


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    return create_service_app(
        settings=settings,
        title="TAS notify",
        description="SMS and email to families and practitioners, with delivery status.",
        routers=[notifications.router, contacts.router, templates.router, receipts.router],
        consumers=[consumer_spec(settings)],
        request_examples=examples.EXAMPLES,
        workers=[run_dispatcher],
    )
