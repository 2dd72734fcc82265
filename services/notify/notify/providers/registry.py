"""The providers and rate limits configured in settings: each channel's providers in failover order."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..config import NotifySettings
from .base import Provider
from .govuk_notify import NotifySmsProvider
from .outbox import SmsOutboxProvider
from .ratelimit import TokenBucket
from .smtp import SmtpProvider
from .twilio import TwilioSmsProvider


def providers_from(settings: NotifySettings) -> dict[str, list[Provider]]:
    """The providers for each channel, in failover order, from settings."""
    timeout = settings.provider_timeout_seconds

    def sms(name: str) -> Provider:
        if name == "outbox":
            return SmsOutboxProvider(settings.sms_outbox_path)
        if name == "notify":
            return NotifySmsProvider(
                base_url=settings.notify_api_url,
                service_id=settings.notify_service_id,
                secret=settings.notify_secret,
                template_id=settings.notify_sms_template_id,
                timeout=timeout,
            )
        return TwilioSmsProvider(
            base_url=settings.twilio_api_url,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=settings.twilio_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=f"{settings.public_base_url.rstrip('/')}/v1/receipts/twilio",
            timeout=timeout,
        )

    email: list[Provider] = [
        SmtpProvider(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            domain=settings.smtp_message_id_domain,
            timeout=timeout,
            pool_size=settings.send_concurrency,  # a connection kept for each send that may be in flight
        )
    ]
    return {"email": email, "sms": [sms(name) for name in settings.sms_provider_names]}


def buckets_from(settings: NotifySettings, clock: Callable[[], float] | None = None) -> dict[str, TokenBucket]:
    return {name: TokenBucket(rate, clock=clock or time.monotonic) for name, rate in settings.provider_rates.items()}
