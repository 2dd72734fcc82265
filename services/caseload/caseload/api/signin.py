"""Signing in without an account (open routes: the family has no token yet) and the family issuer's JWKS.

The web service calls these for the family. It proves itself with `X-TAS-Web-Secret` (`TAS_WEB_FORWARDING_SECRET`;
in the embedded default a file under `TAS_FAMILY_KEY_DIR` that both read)
and then names the family's own address in `X-TAS-Client-Address`, which the per-address rate limits count; from
any other caller that header is ignored and the connection's address counts."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status

from tas_common.access import public
from tas_common.openapi import problems

from ..domain import signin
from ..domain.signin_schemas import CodeExchange, CodeRequest, CodeRequested, FamilyToken, Jwks
from ..keys import FamilyKeys, family_keys_of
from .deps import DatabaseDep

router = APIRouter(prefix="/v1/family/sign-in", tags=["family sign-in"], dependencies=[Depends(public)])
wellknown = APIRouter(tags=["family sign-in"], dependencies=[Depends(public)])

WebSecret = Annotated[str | None, Header(alias="X-TAS-Web-Secret", max_length=200, include_in_schema=False)]
ClientAddress = Annotated[
    str | None,
    Header(
        alias="X-TAS-Client-Address",
        max_length=64,
        description="the family's own address, trusted only from the web service (with X-TAS-Web-Secret)",
    ),
]


def client_address(request: Request, web_secret: str | None, forwarded: str | None) -> str:
    expected = _keys(request).web_secret
    if expected and web_secret and forwarded and hmac.compare_digest(web_secret.encode(), expected.encode()):
        try:
            return str(ipaddress.ip_address(forwarded.strip()))
        except ValueError:
            pass
    return request.client.host if request.client else "unknown"


def _keys(request: Request) -> FamilyKeys:
    return family_keys_of(request.app.state.runtime)


@router.post(
    "/codes",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CodeRequested,
    summary="Ask for a one-time code: the same answer whether or not the details are held (429 over the limits)",
    responses=problems(429),
)
async def request_sign_in_code(
    body: CodeRequest,
    request: Request,
    db: DatabaseDep,
    web_secret: WebSecret = None,
    forwarded: ClientAddress = None,
) -> CodeRequested:
    async with db.transaction() as session:
        outcome = await signin.request_code(
            session,
            keys=_keys(request),
            settings=request.app.state.settings,
            contact=body.contact,
            client_address=client_address(request, web_secret, forwarded),
        )
    if isinstance(outcome, signin.TooManyRequests):
        raise outcome  # after the commit: what was counted stays counted
    return outcome


@router.post(
    "/tokens",
    response_model=FamilyToken,
    summary="Exchange a one-time code for a short-lived family token (400 code-expired, code-used, "
    "code-incorrect or code-attempts-exhausted; 429 over the limits)",
    responses=problems(400, 429),
)
async def exchange_sign_in_code(
    body: CodeExchange,
    request: Request,
    db: DatabaseDep,
    response: Response,
    web_secret: WebSecret = None,
    forwarded: ClientAddress = None,
) -> FamilyToken:
    async with db.transaction() as session:
        outcome = await signin.exchange_code(
            session,
            keys=_keys(request),
            settings=request.app.state.settings,
            contact=body.contact,
            code=body.code,
            client_address=client_address(request, web_secret, forwarded),
        )
    if isinstance(outcome, signin.CodeRefused | signin.TooManyRequests):
        raise outcome  # after the commit: the spent attempt stays spent
    response.headers["Cache-Control"] = "no-store"
    return outcome


@wellknown.get(
    "/.well-known/jwks.json",
    response_model=Jwks,
    summary="The family issuer's public keys (ES256), for the services that accept family tokens",
)
async def get_family_jwks(request: Request, response: Response) -> Jwks:
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks.model_validate(_keys(request).signing.jwks())
