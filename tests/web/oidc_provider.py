"""A small OpenID Connect provider for the tests, built on Authlib's server side: discovery, a login page, the
authorization code grant with PKCE (S256, required) and OpenID Connect (nonce required), refresh tokens (rotated),
RFC 9068 JWT access tokens and ID tokens signed ES256 with a key published as a JWKS, revocation (RFC 7009) and an
end-session endpoint. It plays an organisation's provider (an NHS trust's): its tokens carry the person's `sub`,
`name` and `groups`, not TAS claims; the services map them (TAS_TRUSTED_ISSUERS).

Served by uvicorn over a real socket: the browser is really redirected to it and back, the web service exchanges
the code over HTTP and the services fetch its JWKS. Nothing of TAS's own code is stood in for."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Request
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import ECKey, KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

AUDIENCE = "tas-api"
CLIENT_ID = "tas-web"


@dataclass
class User:
    sub: str
    name: str
    groups: list[str]

    def get_user_id(self) -> str:
        return self.sub


@dataclass
class Client(ClientMixin):
    client_id: str
    redirect_uri: str
    scope: str = "openid profile offline_access"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in self.scope.split())

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # a public client: PKCE only

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Refresh:
    token: str
    client_id: str
    scope: str
    user: User
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 86400

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> User:
        return self.user

    def get_client_id(self) -> str:
        return self.client_id


class Req(OAuth2Request):
    """A Starlette request as Authlib's generic server reads it."""

    def __init__(self, method: str, url: str, headers: dict[str, str], args: dict[str, str], form: dict[str, str]):
        super().__init__(method, url, headers=headers)
        self._args, self._form = args, form
        self.payload = BasicOAuth2Payload({**args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class TestProvider:
    """`TestProvider(base_url, web_url)`; `app` is the Starlette app to serve at `base_url`."""

    __test__ = False

    def __init__(self, base_url: str, redirect_uri: str, *, access_token_seconds: int = 600) -> None:
        self.issuer = base_url
        self.key = ECKey.generate_key("P-256", parameters={"kid": "test-provider-1", "use": "sig", "alg": "ES256"})
        self.users: dict[str, User] = {}
        self.clients = {CLIENT_ID: Client(CLIENT_ID, redirect_uri)}
        self.codes: dict[str, Code] = {}
        self.refresh_tokens: dict[str, Refresh] = {}
        self.access_token_seconds = access_token_seconds
        self.refreshed = 0
        self.revoked: list[str] = []
        self.ended: list[str] = []
        self.server = self._server()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize, methods=["GET", "POST"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/revoke", self.revoke, methods=["POST"]),
                Route("/logout", self.logout),
            ]
        )

    # --- Authlib's server, with in-memory models ------------------------------------------------------------
    def _server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> Client | None:
                return provider.clients.get(client_id)

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                if token.get("refresh_token"):
                    provider.refresh_tokens[token["refresh_token"]] = Refresh(
                        token["refresh_token"], request.client.client_id, token.get("scope", ""), request.user
                    )

            def create_oauth2_request(self, request: Req) -> Req:
                return request

            def create_json_request(self, request: Req) -> Req:
                return request

            def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status_code=status, headers=dict(headers))
                return Response(body or "", status_code=status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code,
                    request.client.client_id,
                    data.get("redirect_uri", ""),
                    request.scope,
                    request.user,
                    data.get("nonce"),
                    data.get("code_challenge"),
                    data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)  # a code works once

            def authenticate_user(self, authorization_code: Code) -> User:
                return authorization_code.user

        class IdToken(OpenIDCode):
            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> ECKey:
                return provider.key

            def get_client_algorithm(self, client: Client) -> str:
                return "ES256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "ES256", "kid": provider.key.kid or ""}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id], "exp": int(time.time()) + 600}

            def generate_user_info(self, user: User, scope: str) -> UserInfo:
                return UserInfo(sub=user.sub, name=user.name)

        class Refreshing(RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token: str) -> Refresh | None:
                found = provider.refresh_tokens.get(refresh_token)
                return found if found and not found.revoked else None

            def authenticate_user(self, credential: Refresh) -> User:
                provider.refreshed += 1
                return credential.user

            def revoke_old_credential(self, credential: Refresh) -> None:
                credential.revoked = True

        class Revocation(RevocationEndpoint):
            CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

            def query_token(self, token_string: str, token_type_hint: str) -> Refresh | None:
                return provider.refresh_tokens.get(token_string)

            def revoke_token(self, token: Refresh, request: OAuth2Request) -> None:
                token.revoked = True
                provider.revoked.append(token.token)

        class AccessTokens(JWTBearerTokenGenerator):
            def get_jwks(self) -> KeySet:
                return KeySet([provider.key])

            def get_extra_claims(self, client: Client, grant_type: str, user: User, scope: str) -> dict[str, Any]:
                return {"name": user.name, "groups": user.groups}

            def get_audiences(self, client: Client, user: User, scope: str) -> str:
                return AUDIENCE

        server = Server(scopes_supported=["openid", "profile", "offline_access"])
        server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken(require_nonce=True)])
        server.register_grant(Refreshing)
        server.register_endpoint(Revocation)
        server.register_token_generator(
            "default",
            AccessTokens(
                issuer=self.issuer,
                alg="ES256",
                refresh_token_generator=lambda *args, **kwargs: generate_token(48),
                expires_generator=lambda client, grant_type: self.access_token_seconds,
            ),
        )
        return server

    # --- endpoints ---------------------------------------------------------------------------------------
    async def _req(self, request: Request) -> Req:
        form = dict(parse_qsl((await request.body()).decode())) if request.method == "POST" else {}
        return Req(request.method, str(request.url), dict(request.headers), dict(request.query_params), form)

    async def discovery(self, request: Request) -> JSONResponse:
        base = self.issuer
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "revocation_endpoint": f"{base}/revoke",
                "end_session_endpoint": f"{base}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
            }
        )

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        req = await self._req(request)
        if request.method == "GET":
            try:
                self.server.get_consent_grant(request=req, end_user=None)
            except OAuth2Error as exc:
                return HTMLResponse(f"<p>{html.escape(exc.description or exc.error)}</p>", status_code=400)
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in req.args.items()
            )
            return HTMLResponse(
                "<!DOCTYPE html><html lang=en><title>Fictional NHS Trust sign-in</title><main><h1>Sign in</h1>"
                f'<form method="post" action="/authorize">{hidden}<label for=username>Username</label>'
                "<input id=username name=username><button type=submit>Sign in</button></form></main></html>"
            )
        user = self.users.get(req.form.get("username", ""))
        query = {k: v for k, v in req.form.items() if k != "username"}
        grant_req = Req("GET", f"{self.issuer}/authorize?{urlencode(query)}", req.headers, query, {})
        return self.server.create_authorization_response(request=grant_req, grant_user=user)

    async def token(self, request: Request) -> Response:
        return self.server.create_token_response(request=await self._req(request))

    async def revoke(self, request: Request) -> Response:
        return self.server.create_endpoint_response(RevocationEndpoint.ENDPOINT_NAME, request=await self._req(request))

    async def logout(self, request: Request) -> Response:
        self.ended.append(request.query_params.get("id_token_hint", ""))
        target = request.query_params.get("post_logout_redirect_uri", "")
        return RedirectResponse(target or "/", status_code=303)
