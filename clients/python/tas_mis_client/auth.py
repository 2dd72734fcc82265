"""Tokens for an MIS client: OAuth 2.0 client credentials (RFC 6749 §4.4) against TAS's token endpoint, with
`private_key_jwt` (RFC 7523; the client's EC P-256 or RSA private key signs a short assertion) or a client secret,
through Authlib's httpx client. A token is kept until a minute before it expires."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import authlib.deprecate  # noqa: F401  (sets Authlib's own warning filter on import: ours goes after it)
import httpx

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Authlib prefers httpx2 and falls back to httpx with a deprecation warning
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey, RSAKey


class ClientCredentials:
    """`ClientCredentials(token_url, client_id, private_key_pem=...)` (preferred) or `(..., client_secret=...)`;
    `await creds.token()` gives a bearer token, fetched again when the last is about to expire."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        *,
        private_key_pem: bytes | None = None,
        client_secret: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if (private_key_pem is None) == (client_secret is None):
            raise ValueError("give a private key (private_key_jwt) or a client secret")
        self.token_url, self.client_id = token_url, client_id
        self._key = private_key_pem
        self._secret = client_secret
        self._transport = transport
        self._token: str | None = None
        self._expires = 0.0

    @classmethod
    def from_key_file(cls, token_url: str, client_id: str, key_file: Path | str, **kwargs: Any) -> ClientCredentials:
        return cls(token_url, client_id, private_key_pem=Path(key_file).read_bytes(), **kwargs)

    def _client(self) -> AsyncOAuth2Client:
        kwargs: dict[str, Any] = {"transport": self._transport} if self._transport is not None else {}
        if self._key is not None:
            key: Any
            try:
                key, alg = ECKey.import_key(self._key), "ES256"
            except Exception:
                key, alg = RSAKey.import_key(self._key), "RS256"
            client = AsyncOAuth2Client(self.client_id, key, token_endpoint_auth_method="private_key_jwt", **kwargs)
            client.register_client_auth_method(PrivateKeyJWT(self.token_url, alg=alg))
            return client
        return AsyncOAuth2Client(
            self.client_id, self._secret, token_endpoint_auth_method="client_secret_basic", **kwargs
        )

    async def token(self) -> str:
        if self._token is None or time.time() > self._expires - 60:
            async with self._client() as client:
                answer = await client.fetch_token(self.token_url, grant_type="client_credentials")
            self._token = str(answer["access_token"])
            self._expires = time.time() + float(answer.get("expires_in", 300))
        return self._token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token()}"}
