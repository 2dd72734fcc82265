"""Referral's domain errors (mapped to problem+json by tas_common.errors)."""

from __future__ import annotations

from tas_common.errors import Conflict, InvalidInput, PayloadTooLarge


class IllegalTransition(Conflict):
    slug, title = "illegal-transition", "The referral is not in a state that allows this"


class ConsentRequired(Conflict):
    slug, title = "consent-required", "Sharing beyond the school needs consent or a recorded lawful basis"


class AlreadyReferred(Conflict):
    slug, title = "already-referred", "The concern already has an open referral to this service"


class ServiceUnavailable(Conflict):
    slug, title = "service-inactive", "The service does not take referrals"


class BatchTooLarge(PayloadTooLarge):
    slug, title = "batch-too-large", "Too many items in one batch"


def invalid_field(field: str, message: str) -> InvalidInput:
    """A 422 naming one field, shaped like the request-validation handler's."""
    return InvalidInput(f"1 invalid field(s): {field}", errors=[{"field": field, "message": message}])
