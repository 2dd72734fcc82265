"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4) for registered MIS clients, with client authentication by
`private_key_jwt` (RFC 7523 §2.2; preferred) or a client secret (`client_secret_basic` / `client_secret_post`).

A client assertion must be signed (ES256 or RS256) by one of the client's active public keys, with `iss` = `sub` =
its `client_id`, `aud` = the token endpoint's URL, an `exp` at most `TAS_MIS_ASSERTION_MAX_SECONDS` away, and a `jti`
not used before (kept until the assertion expires). The token is a short-lived ES256 JWT from TAS's MIS issuer
(`iss` = `TAS_MIS_ISSUER`), `org_type: mis`, role `mis_client` and the registration's `school_urns`; the services
trust that issuer for `org_type: mis` only. Failures are RFC 6749 §5.2 errors (`error`: `invalid_request`,
`invalid_client`, `unsupported_grant_type`), carried as members of a problem+json body."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.errors import DomainError
from tas_common.issuers import SigningKey

from .clients import credentials_of, is_active, secret_hash
from .mis_schemas import TokenResponse
from .models_mis import MisClientAssertion, MisClientRegistration

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["ES256", "RS256"]


class OAuthError(DomainError):
    """An RFC 6749 §5.2 error: `error` (and `error_description`) beside the problem members."""

    status, slug, title = 400, "oauth-error", "The token request was refused"

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description, error=error, error_description=description)
        self.status = status


def invalid_client(description: str = "client authentication failed") -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


def _basic(authorization: str | None) -> tuple[str, str] | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_client("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise invalid_client("malformed Basic credentials")
    from urllib.parse import unquote_plus

    return unquote_plus(client_id), unquote_plus(secret)


async def _client(session: AsyncSession, client_id: str) -> MisClientRegistration:
    client = await session.get(MisClientRegistration, client_id) if 0 < len(client_id) <= 36 else None
    if client is None or client.status != "active":
        raise invalid_client()
    return client


async def _by_secret(session: AsyncSession, client_id: str, secret: str) -> MisClientRegistration:
    client = await _client(session, client_id)
    wanted = secret_hash(secret)
    now = utcnow()
    if not any(
        c.kind == "client_secret" and is_active(c, now) and hmac.compare_digest(c.secret_sha256 or "", wanted)
        for c in await credentials_of(session, client.id)
    ):
        raise invalid_client()
    return client


async def _by_assertion(
    session: AsyncSession, assertion: str, *, audience: list[str], max_seconds: int
) -> MisClientRegistration:
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise invalid_client("the client assertion is not a JWT") from exc
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or unverified.get("sub") != client_id:
        raise invalid_client("the client assertion's iss and sub must be the client_id")
    if header.get("alg") not in ASSERTION_ALGORITHMS:
        raise invalid_client("the client assertion must be signed with ES256 or RS256")
    client = await _client(session, client_id)
    now = utcnow()
    keys = [
        c.public_jwk
        for c in await credentials_of(session, client.id)
        if c.kind == "public_key" and is_active(c, now) and c.public_jwk
    ]
    if header.get("kid"):
        keys = [k for k in keys if k.get("kid") == header["kid"]]
    claims: dict[str, Any] | None = None
    for jwk in keys:
        try:
            claims = jwt.decode(
                assertion,
                jwt.PyJWK(jwk).key,
                algorithms=ASSERTION_ALGORITHMS,
                audience=audience,
                issuer=client_id,
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
                leeway=30,
            )
            break
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
    if claims is None:
        raise invalid_client("the client assertion is not signed by an active key of the client, or is not valid")
    expires = datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
    if (expires - now).total_seconds() > max_seconds + 30:
        raise invalid_client(f"the client assertion must expire within {max_seconds} seconds")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 200:
        raise invalid_client("the client assertion's jti must be a string of 1 to 200 characters")
    await session.exec(delete(MisClientAssertion).where(MisClientAssertion.expires_at < now))  # type: ignore[arg-type]
    try:
        async with session.begin_nested():
            session.add(MisClientAssertion(client_id=client.id, jti=jti, expires_at=expires))
            await session.flush()
    except IntegrityError as exc:
        raise invalid_client("this client assertion was used before") from exc
    return client


async def issue_token(
    session: AsyncSession,
    *,
    form: dict[str, str],
    authorization: str | None,
    signing_key: SigningKey,
    issuer: str,
    audience: str,
    token_url: str,
    token_seconds: int,
    assertion_max_seconds: int,
) -> tuple[TokenResponse, MisClientRegistration]:
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", "only grant_type=client_credentials is supported")
    basic = _basic(authorization)
    if form.get("client_assertion") or form.get("client_assertion_type"):
        if form.get("client_assertion_type") != JWT_BEARER or not form.get("client_assertion"):
            raise OAuthError("invalid_request", f"client_assertion_type must be {JWT_BEARER}, with client_assertion")
        if basic or form.get("client_secret"):
            raise OAuthError("invalid_request", "use one client authentication method")
        client = await _by_assertion(
            session,
            form["client_assertion"],
            audience=[token_url, token_url.removesuffix("/token")],
            max_seconds=assertion_max_seconds,
        )
        if form.get("client_id") not in (None, client.id):
            raise invalid_client("client_id does not match the client assertion")
    elif basic is not None:
        client = await _by_secret(session, *basic)
    elif form.get("client_id") and form.get("client_secret"):
        client = await _by_secret(session, form["client_id"], form["client_secret"])
    else:
        raise invalid_client("authenticate with a client assertion (private_key_jwt) or the client secret")
    token, _ = signing_key.mint(
        {
            "iss": issuer,
            "aud": audience,
            "sub": client.id,
            "client_id": client.id,
            "name": client.name,
            "org_id": f"mis-client-{client.id}",
            "org_type": "mis",
            "roles": ["mis_client"],
            "school_urns": list(client.school_urns),
        },
        ttl_seconds=token_seconds,
    )
    return TokenResponse(access_token=token, expires_in=token_seconds), client
