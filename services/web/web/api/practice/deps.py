"""What the practitioners' views inject: their session (signed in with their organisation's provider or, in the
embedded default, as a dev persona; its access token refreshed when it is about to expire) and who they are."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tas_common.access import GUARD_ATTR

from ...domain.practice.me import Me, me_of
from ...sessions import WebSession
from ..deps import SignInRequired

PRACTITIONER_ORGS = frozenset({"school", "health", "social_care", "local_authority"})


async def practitioner_session(request: Request) -> WebSession:
    session: WebSession | None = request.state.session
    if session is None or not session.signed_in or session.data.get("kind") != "practitioner":
        raise SignInRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else ""), sign_in_path="/sign-in"
        )
    oidc = getattr(request.app.state, "oidc", None)
    if oidc is not None and session.data.get("provider") == "oidc":
        await oidc.ensure_fresh(session)
    return session


setattr(
    practitioner_session,
    GUARD_ATTR,
    {
        "org_types": PRACTITIONER_ORGS,
        "roles": None,
        "description": "a practitioner signed in with their organisation's provider; each API then decides",
    },
)

PractitionerSession = Annotated[WebSession, Depends(practitioner_session)]


async def current_me(session: PractitionerSession) -> Me:
    return me_of(session)


MeDep = Annotated[Me, Depends(current_me)]
