"""The MIS issuer: the client-credentials token endpoint (RFC 6749 §4.4, client authentication by RFC 7523
`private_key_jwt` or a client secret) and its public keys (JWKS)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from tas_common.access import public
from tas_common.openapi import problems

from ..domain import oauth
from ..domain.mis_gate import ClientGate
from ..domain.mis_schemas import Jwks, TokenResponse
from ..keys import MisKeys
from .deps import DatabaseDep

router = APIRouter(prefix="/v1/mis/oauth", tags=["mis oauth"], dependencies=[Depends(public)])

_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_assertion_type": {"type": "string", "enum": [oauth.JWT_BEARER]},
        "client_assertion": {"type": "string", "maxLength": 8000},
        "client_id": {"type": "string", "maxLength": 100},
        "client_secret": {"type": "string", "maxLength": 200},
        "scope": {"type": "string", "maxLength": 100},
    },
}
MAX_FIELD = 8000


def _keys(request: Request) -> MisKeys:
    return request.app.state.runtime.extras["mis_keys"]  # type: ignore[no-any-return]


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="A short-lived token for a registered MIS client (OAuth 2.0 client credentials)",
    description="`application/x-www-form-urlencoded`: `grant_type=client_credentials` and either "
    "`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with `client_assertion` (a JWT "
    "signed by one of the client's registered keys: `iss` = `sub` = client_id, `aud` = this URL, `exp` within an hour, "
    "a fresh `jti`), or the client secret (HTTP Basic, or `client_id` and `client_secret`). Errors are "
    "problem+json with RFC 6749's `error` (`invalid_client` 401, `invalid_request` / `unsupported_grant_type` 400).",
    responses=problems(400, 401, 429),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": _FORM_SCHEMA}}}
    },
)
async def issue_mis_token(request: Request, db: DatabaseDep) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise oauth.OAuthError("invalid_request", "send application/x-www-form-urlencoded")
    try:
        raw = await request.form()
    except Exception as exc:  # a body the form parser cannot read
        raise oauth.OAuthError("invalid_request", "the form cannot be read") from exc
    form: dict[str, str] = {}
    for name, value in raw.multi_items():
        if not isinstance(value, str) or len(value) > MAX_FIELD or name in form:
            raise oauth.OAuthError("invalid_request", "each parameter once, as text")
        form[name] = value
    settings = request.app.state.settings
    gate: ClientGate = request.app.state.runtime.extras["mis_gate"]
    caller = form.get("client_id") or (request.client.host if request.client else "") or "anonymous"
    gate.limiter.take(f"token:{caller}")  # guessing at a secret is as slow as the rate
    async with db.transaction() as session:
        token, _ = await oauth.issue_token(
            session,
            form=form,
            authorization=request.headers.get("authorization"),
            signing_key=_keys(request).signing,
            issuer=settings.mis_issuer,
            audience=settings.jwt_audience,
            token_url=settings.mis_token_url,
            token_seconds=settings.mis_token_seconds,
            assertion_max_seconds=settings.mis_assertion_max_seconds,
        )
    return JSONResponse(token.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get(
    "/jwks",
    response_model=Jwks,
    summary="The MIS issuer's public keys (ES256), for the services that accept MIS client tokens",
)
async def get_mis_jwks(request: Request, response: Response) -> Jwks:
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks.model_validate(_keys(request).signing.jwks())
