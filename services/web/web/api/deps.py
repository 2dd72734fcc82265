"""What the views inject: the person's session, the API clients, and the guards the structure test reads."""

from __future__ import annotations

import uuid
from typing import Annotated, TypeVar

from fastapi import Depends, Form, Request

from tas_common.access import GUARD_ATTR

from ..clients.caseload import CaseloadClient, NewComment
from ..clients.notify import NotifyClient
from ..clients.referral import ReferralClient
from ..sessions import SessionStore, WebSession


class SignInRequired(Exception):
    """The page needs a signed-in person: sign in (a family member at `/family/sign-in`, a practitioner at
    `/sign-in`), then come back to `return_to`."""

    def __init__(self, return_to: str, *, sign_in_path: str = "/family/sign-in") -> None:
        self.return_to = return_to
        self.sign_in_path = sign_in_path


async def family_session(request: Request) -> WebSession:
    session: WebSession | None = request.state.session
    if session is None or not session.signed_in:
        raise SignInRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return session


setattr(
    family_session,
    GUARD_ATTR,
    {
        "org_types": frozenset({"family"}),
        "roles": None,
        "description": "a family member signed in with a one-time code; each API then checks the child",
    },
)


_Part = TypeVar("_Part")


def _app_part(request: Request, name: str, kind: type[_Part]) -> _Part:
    """What create_app keeps on `app.state` under `name` (which is untyped), checked to be a `kind`."""
    part = getattr(request.app.state, name)
    if not isinstance(part, kind):
        raise TypeError(f"app.state.{name} is not a {kind.__name__}")
    return part


async def get_caseload(request: Request) -> CaseloadClient:
    return _app_part(request, "caseload", CaseloadClient)


async def get_notify(request: Request) -> NotifyClient:
    return _app_part(request, "notify", NotifyClient)


async def get_referral(request: Request) -> ReferralClient:
    return _app_part(request, "referral", ReferralClient)


async def get_sessions(request: Request) -> SessionStore:
    return _app_part(request, "sessions", SessionStore)


FamilySession = Annotated[WebSession, Depends(family_session)]
Caseload = Annotated[CaseloadClient, Depends(get_caseload)]
Notify = Annotated[NotifyClient, Depends(get_notify)]
Referral = Annotated[ReferralClient, Depends(get_referral)]
Sessions = Annotated[SessionStore, Depends(get_sessions)]


async def comment_form(
    section: Annotated[str, Form(max_length=20)] = "",
    item_id: Annotated[str, Form(max_length=36)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    idempotency_key: Annotated[str, Form(max_length=64)] = "",
) -> NewComment:
    """A plan comment's form (the family's and the practitioner's plan pages); a form without a key gets a new one."""
    key = idempotency_key or str(uuid.uuid4())
    return NewComment(section=section, item_id=item_id, text=text.strip(), idempotency_key=key)


CommentForm = Annotated[NewComment, Depends(comment_form)]


async def ensure_session(request: Request) -> WebSession:
    """A session for a page with a form (an anonymous one before sign-in): forms need its CSRF token."""
    session: WebSession | None = request.state.session
    if session is None:
        session = await _app_part(request, "sessions", SessionStore).create()
        request.state.session = session
    return session


AnySession = Annotated[WebSession, Depends(ensure_session)]


class CsrfFailed(Exception):
    pass


CsrfField = Annotated[str | None, Form(alias="csrf_token", max_length=100)]
"""The CSRF token a form posts back (check_csrf compares it with the session's)."""


def check_csrf(session: WebSession | None, submitted: str | None) -> None:
    if session is None or not session.csrf_ok(submitted):
        raise CsrfFailed
