"""The practitioners' menu (what each role opens first) and their return paths after signing in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from ...i18n import _
from .me import me_of

PRACTICE_HOME = "/"


def menu(request: Request, session: Any) -> list[dict[str, Any]]:
    me = me_of(session)
    path = request.url.path
    items: list[tuple[str, str]] = [("/", _("My tasks")), ("/caseload", _("My caseload"))]
    if me.school_staff:
        items.append(("/concerns", _("Concerns")))
    if me.service_practitioner:
        items.append(("/referrals", _("Referrals")))
    if me.send_officer:
        items.append(("/ehc", _("EHC assessments")))
    if me.may_break_glass or me.reviewer:
        items.append(("/break-glass", _("Emergency access")))
    if me.send_officer or me.school_lead or me.service_practitioner:  # whom insights answers (docs/insights.md)
        items.append(("/insights", _("Insights")))
    return [
        {"href": href, "text": text, "active": path == href or (href != "/" and path.startswith(href + "/"))}
        for href, text in items
    ]


def practitioner_defaults(request: Request, session: Any) -> dict[str, Any]:
    return {"navigation": menu(request, session), "service_url": PRACTICE_HOME, "sign_out_action": "/sign-out"}


def safe_practice_return(candidate: str | None) -> str:
    """`candidate` if it is a practitioner's page on this site (not a family page, not signing in or out)."""
    if not candidate or len(candidate) > 500 or not candidate.startswith("/"):
        return PRACTICE_HOME
    if (
        candidate.startswith(("//", "/\\"))
        or "\\" in candidate
        or any(ord(ch) < 0x20 or ch == "\x7f" for ch in candidate)
    ):
        return PRACTICE_HOME
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return PRACTICE_HOME
    if parts.path.startswith(("/family", "/sign-in", "/sign-out", "/signed-out", "/static/", "/language")):
        return PRACTICE_HOME
    return parts.path + (f"?{parts.query}" if parts.query else "")
