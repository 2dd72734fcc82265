"""Where each family message leads: the exact page of the web service it is about (services/web), under
`TAS_PUBLIC_WEB_URL`. A signed-out parent who follows a link signs in and lands on that page. The shapes are
agreed with the web service (docs/web.md) and listed in docs/notify.md."""

from __future__ import annotations

from urllib.parse import quote

from ..config import NotifySettings


def _base(settings: NotifySettings) -> str:
    return settings.public_web_url.rstrip("/")


def _id(value: str) -> str:
    return quote(value, safe="")


def sign_in(settings: NotifySettings) -> str:
    return f"{_base(settings)}/family/sign-in"


def child(settings: NotifySettings, child_id: str) -> str:
    return f"{_base(settings)}/family/children/{_id(child_id)}"


def plan(settings: NotifySettings, child_id: str, version: int | None = None) -> str:
    return f"{child(settings, child_id)}/plan" + (f"?version={int(version)}" if version else "")


def review(settings: NotifySettings, child_id: str, review_id: str) -> str:
    return f"{child(settings, child_id)}/reviews/{_id(review_id)}"


def referral(settings: NotifySettings, child_id: str, referral_id: str) -> str:
    return f"{child(settings, child_id)}/referrals/{_id(referral_id)}"


# --- practitioners' pages (insights' alerts) ------------------------------------------------------------------


def practitioner_referral(settings: NotifySettings, referral_id: str) -> str:
    return f"{_base(settings)}/referrals/{_id(referral_id)}"


def practitioner_child(settings: NotifySettings, child_id: str) -> str:
    return f"{_base(settings)}/children/{_id(child_id)}"


def insights_timeliness(settings: NotifySettings, la_code: str) -> str:
    return f"{_base(settings)}/insights/timeliness?la_code={_id(la_code)}"


def insights_waiting(settings: NotifySettings, scope: str, scope_id: str) -> str:
    return f"{_base(settings)}/insights/waiting?{scope}={_id(scope_id)}"
