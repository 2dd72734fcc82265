"""A referral as a parent reads it: the service, where the request stands in plain words, and what happened when
(no one's notes or reasons: the referral API does not give them to the family)."""

from __future__ import annotations

from typing import Any

from ..i18n import _


def status_text(status: str) -> str:
    return {
        "submitted": _("Waiting for the service to reply"),
        "accepted": _("Accepted: the service is working with your child"),
        "declined": _("The service cannot help this time"),
        "redirected": _("Passed to another service"),
        "withdrawn": _("Withdrawn"),
        "completed": _("Finished"),
    }.get(status, status)


def status_colour(status: str) -> str:
    """A GOV.UK tag colour for the status."""
    return {
        "submitted": "govuk-tag--yellow",
        "accepted": "govuk-tag--green",
        "declined": "govuk-tag--red",
        "redirected": "govuk-tag--blue",
        "withdrawn": "govuk-tag--grey",
        "completed": "govuk-tag--grey",
    }.get(status, "govuk-tag--grey")


def steps(referral: dict[str, Any]) -> list[dict[str, Any]]:
    """What happened, oldest first: `{"at": ..., "text": ...}`."""
    status = referral.get("status")
    service = referral.get("service_name") or _("the service")
    found: list[dict[str, Any]] = [
        {"at": referral.get("submitted_at"), "text": _("The school asked %(service)s for support", service=service)}
    ]
    decided = {
        "accepted": _("%(service)s accepted the request", service=service),
        "declined": _("%(service)s replied that it cannot help this time", service=service),
        "redirected": _("%(service)s passed the request to %(other)s", service=service, other=_redirect(referral)),
    }
    if referral.get("decided_at") and status in ("accepted", "declined", "redirected", "completed"):
        found.append({"at": referral["decided_at"], "text": decided.get(str(status), decided["accepted"])})
    if referral.get("first_contact_at"):
        found.append(
            {"at": referral["first_contact_at"], "text": _("%(service)s first met or spoke with you", service=service)}
        )
    closed = {
        "withdrawn": _("The request was withdrawn"),
        "completed": _("%(service)s finished working with your child", service=service),
    }
    if referral.get("closed_at") and status in closed:
        found.append({"at": referral["closed_at"], "text": closed[str(status)]})
    return found


def _redirect(referral: dict[str, Any]) -> str:
    return str(referral.get("redirected_to_service_name") or _("another service"))
