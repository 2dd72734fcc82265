"""Bearer JWT verification (JWKS URL or the local dev issuer) giving a typed Principal.

Only ES256 and RS256 are accepted, so `alg: none` and HMAC tokens are refused; `exp`, `iss`, `aud` and `sub` are
required. The dev issuer keeps an EC P-256 key under `var/dev-issuer/` and mints tokens for `tas token`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from .errors import Unauthorized

ALGORITHMS = ["ES256", "RS256"]
DEV_KID = "tas-dev-1"


class OrgType(StrEnum):
    school = "school"
    health = "health"
    social_care = "social_care"
    local_authority = "local_authority"
    family = "family"
    mis = "mis"


class Principal(BaseModel):
    """Who is calling, as the token says. Immutable; built only from a verified token."""

    model_config = ConfigDict(frozen=True)

    sub: str
    name: str = ""
    org_id: str
    org_type: OrgType
    roles: frozenset[str] = Field(default_factory=frozenset)
    school_urns: frozenset[str] = Field(default_factory=frozenset)
    la_code: str | None = None
    child_ids: frozenset[str] = Field(default_factory=frozenset)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class TasClaims(BaseModel):
    """The TAS claims of a verified token, type-checked: a signed token with `roles: null` or `school_urns: 5` is
    refused (401), never half-read."""

    model_config = ConfigDict(extra="ignore")

    sub: StrictStr
    name: StrictStr = ""
    org_id: StrictStr
    org_type: OrgType
    roles: list[StrictStr] = Field(default_factory=list)
    school_urns: list[StrictStr | StrictInt] = Field(default_factory=list)
    la_code: StrictStr | None = None
    child_ids: list[StrictStr] = Field(default_factory=list)

    def principal(self) -> Principal:
        return Principal(
            sub=self.sub,
            name=self.name,
            org_id=self.org_id,
            org_type=self.org_type,
            roles=frozenset(self.roles),
            school_urns=frozenset(str(u) for u in self.school_urns),
            la_code=self.la_code,
            child_ids=frozenset(self.child_ids),
        )


class DevIssuer:
    """The embedded default's token issuer: one EC key on disk, created on first use."""

    def __init__(self, key_dir: Path) -> None:
        self.key_dir = Path(key_dir)
        self.private_path = self.key_dir / "private.pem"
        self.public_path = self.key_dir / "public.pem"

    def ensure(self) -> DevIssuer:
        if not self.private_path.exists():
            self.key_dir.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            self.private_path.write_bytes(pem)
            self.private_path.chmod(0o600)
            self.public_path.write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        return self

    def public_key_pem(self) -> bytes:
        return self.public_path.read_bytes()

    def mint(
        self,
        *,
        issuer: str,
        audience: str,
        sub: str,
        org_id: str,
        org_type: str,
        roles: Iterable[str] = (),
        name: str = "",
        school_urns: Iterable[str] = (),
        la_code: str | None = None,
        child_ids: Iterable[str] = (),
        ttl_seconds: int = 8 * 3600,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": sub,
            "iat": now,
            "nbf": now - 5,
            "exp": now + ttl_seconds,
            "jti": str(uuid.uuid4()),
            "name": name,
            "org_id": org_id,
            "org_type": org_type,
            "roles": sorted(roles),
            "school_urns": sorted(school_urns),
            "child_ids": sorted(child_ids),
        }
        if la_code:
            claims["la_code"] = la_code
        return jwt.encode(claims, self.private_path.read_bytes(), algorithm="ES256", headers={"kid": DEV_KID})


class TokenVerifier:
    """Verifies bearer tokens against a JWKS URL (production) or the dev issuer's public key."""

    def __init__(
        self, *, issuer: str, audience: str, jwks_url: str | None = None, public_key_pem: bytes | None = None
    ) -> None:
        if not jwks_url and not public_key_pem:
            raise ValueError("a JWKS URL or a public key is needed to verify tokens")
        self.issuer = issuer
        self.audience = audience
        # The key object, parsed once (PyJWT would parse the PEM on every request).
        self._public_key = serialization.load_pem_public_key(public_key_pem) if public_key_pem else None
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._verified: OrderedDict[str, tuple[Principal, float, float]] = OrderedDict()

    VERIFIED_CACHE_SIZE = 2048
    VERIFIED_CACHE_SECONDS = 60.0
    LEEWAY_SECONDS = 30

    def _cached(self, token: str) -> Principal | None:
        """A token whose signature and claims were verified in the last minute (the signature check is the largest
        part of a read's CPU): the same bytes verify the same way; expiry is checked again on every use, and the
        minute bounds how long a key withdrawn from the JWKS keeps being trusted."""
        hit = self._verified.get(token)
        if hit is None:
            return None
        principal, expires, verified_at = hit
        now = time.time()
        if now > expires + self.LEEWAY_SECONDS or now - verified_at > self.VERIFIED_CACHE_SECONDS:
            self._verified.pop(token, None)
            return None
        self._verified.move_to_end(token)
        return principal

    async def verify(self, token: str) -> Principal:
        cached = self._cached(token)
        if cached is not None:
            return cached
        principal, expires = await self._verify(token)
        self._verified[token] = (principal, expires, time.time())
        if len(self._verified) > self.VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise Unauthorized("token algorithm not accepted")
            if self._jwks is not None:
                signing_key = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
            else:
                signing_key = self._public_key
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=self.LEEWAY_SECONDS,
            )
        except Unauthorized:
            raise
        except (jwt.PyJWTError, ValueError, TypeError) as exc:  # TypeError: a key that does not fit the algorithm
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from exc
        try:
            return TasClaims.model_validate(claims).principal(), float(claims["exp"])
        except (ValidationError, TypeError, ValueError) as exc:
            raise Unauthorized("token lacks the TAS claims or they are malformed") from exc
