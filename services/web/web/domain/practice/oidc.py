"""Practitioners sign in with their organisation's identity provider: OpenID Connect, authorization code with PKCE
(Authlib's client). The session holds the provider's access token (the services verify it: TAS_TRUSTED_ISSUERS maps
its claims to TAS claims), its refresh token and its ID token; the access token is refreshed shortly before it
expires; signing out ends the session here and at the provider (RP-initiated logout), after revoking the refresh
token where the provider allows it.

No I/O at construction: the provider's metadata (discovery) and keys are fetched when first needed, then kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # Authlib announces it will move to the `httpx2` package; its client works on httpx as it is (pinned).
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from ...clients.base import SignedOut

REFRESH_BEFORE_SECONDS = 60
ID_TOKEN_ALGORITHMS = ["RS256", "ES256", "PS256"]


class SignInFailed(Exception):
    """The provider's answer could not be used (state, code, ID token): the person is asked to sign in again."""


@dataclass
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    scope: str
    display_name: str
    redirect_uri: str
    post_logout_redirect_uri: str
    discovery_url: str | None = None
    timeout: float = 10.0


class OidcProvider:
    def __init__(self, settings: OidcSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.display_name = settings.display_name
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: jwt.PyJWKClient | None = None
        self._lock = asyncio.Lock()

    def _client(self, **kwargs: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret or None,
            token_endpoint_auth_method="client_secret_basic" if self.settings.client_secret else "none",
            scope=self.settings.scope,
            redirect_uri=self.settings.redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.timeout,
            transport=self._transport,
            **kwargs,
        )

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    url = self.settings.discovery_url or (
                        self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
                    )
                    async with httpx.AsyncClient(timeout=self.settings.timeout, transport=self._transport) as http:
                        response = await http.get(url)
                        response.raise_for_status()
                    found = response.json()
                    if found.get("issuer") != self.settings.issuer:
                        raise SignInFailed("the provider's metadata names another issuer")
                    self._metadata = found
                    self._keys = jwt.PyJWKClient(found["jwks_uri"], cache_keys=True, lifespan=300)
        return self._metadata

    async def start(self, session: Any, *, return_to: str) -> str:
        """The provider's authorization URL; the state, nonce and PKCE verifier wait in the session."""
        meta = await self.metadata()
        verifier, state, nonce = generate_token(64), generate_token(32), generate_token(32)
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
            )
        session.data["oidc"] = {"state": state, "nonce": nonce, "verifier": verifier, "return_to": return_to}
        return str(url)

    async def finish(self, session: Any, *, code: str, state: str) -> dict[str, Any]:
        """Exchange the code (with the PKCE verifier) and check the ID token; returns the session's token data."""
        pending = session.data.pop("oidc", None)
        if not pending or not code or state != pending.get("state"):
            raise SignInFailed("the sign-in did not start here, or it was answered twice")
        meta = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending["verifier"],
                    redirect_uri=self.settings.redirect_uri,
                )
            except Exception as exc:  # an OAuth error answer or the provider unreachable
                raise SignInFailed(f"the code was not accepted: {type(exc).__name__}") from exc
        claims = await self._id_token_claims(token.get("id_token"), nonce=pending["nonce"])
        return {**self._token_data(token), "subject": claims.get("sub"), "return_to": pending.get("return_to")}

    async def _id_token_claims(self, id_token: str | None, *, nonce: str) -> dict[str, Any]:
        if not id_token:
            raise SignInFailed("no ID token")
        assert self._keys is not None
        try:
            key = (await asyncio.to_thread(self._keys.get_signing_key_from_jwt, id_token)).key
            claims = jwt.decode(
                id_token,
                key,
                algorithms=ID_TOKEN_ALGORITHMS,
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise SignInFailed(f"the ID token is not valid: {type(exc).__name__}") from exc
        if claims.get("nonce") != nonce:
            raise SignInFailed("the ID token is not the answer to this sign-in")
        return dict(claims)

    @staticmethod
    def _token_data(token: dict[str, Any]) -> dict[str, Any]:
        expires_at = token.get("expires_at") or time.time() + float(token.get("expires_in") or 300)
        return {
            "token": token["access_token"],
            "token_expires_at": float(expires_at),
            "refresh_token": token.get("refresh_token"),
            "id_token": token.get("id_token"),
        }

    async def ensure_fresh(self, session: Any) -> None:
        """Refresh the access token when it expires within a minute; a refused refresh signs the person out."""
        expires_at = float(session.data.get("token_expires_at") or 0)
        if expires_at - time.time() > REFRESH_BEFORE_SECONDS:
            return
        refresh_token = session.data.get("refresh_token")
        if not refresh_token:
            raise SignedOut(401, {"detail": "the sign-in has expired"})
        meta = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.refresh_token(meta["token_endpoint"], refresh_token=refresh_token)
            except Exception as exc:
                raise SignedOut(401, {"detail": "the provider did not renew the sign-in"}) from exc
        fresh = self._token_data(token)
        session.data.update(
            token=fresh["token"],
            token_expires_at=fresh["token_expires_at"],
            refresh_token=fresh["refresh_token"] or refresh_token,
            id_token=fresh["id_token"] or session.data.get("id_token"),
        )

    async def end_session(self, session: Any) -> str | None:
        """Revoke the refresh token (RFC 7009) where the provider offers it, and the provider's end-session URL
        (RP-initiated logout) to send the browser to, if it has one."""
        meta = await self.metadata()
        refresh_token = session.data.get("refresh_token")
        if refresh_token and meta.get("revocation_endpoint"):
            async with self._client() as client:
                with contextlib.suppress(Exception):  # the session ends here whatever the provider says
                    await client.revoke_token(
                        meta["revocation_endpoint"], token=refresh_token, token_type_hint="refresh_token"
                    )
        end = meta.get("end_session_endpoint")
        if not end:
            return None
        query = {
            "client_id": self.settings.client_id,
            "post_logout_redirect_uri": self.settings.post_logout_redirect_uri,
        }
        if session.data.get("id_token"):
            query["id_token_hint"] = session.data["id_token"]
        return f"{end}?{urlencode(query)}"
