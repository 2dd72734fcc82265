"""Bearer JWT verification giving a typed Principal, against several trusted issuers.

Only ES256 and RS256 are accepted, so `alg: none` and HMAC tokens are refused; `exp`, `iss`, `aud` and `sub` are
required. Each trusted issuer (`TrustedIssuer`) has its own keys (a JWKS URL, or a public key) and may be limited to
the organisation types it may vouch for: the organisations' OIDC provider (or, in the embedded default, the dev
issuer, which keeps an EC P-256 key under `var/dev-issuer/` and mints tokens for `tas token`); caseload's family
issuer, for `org_type: family` only; and referral's client-credentials issuer for registered MIS clients, for
`org_type: mis` only, plugs in the same way. A token from an issuer not trusted, or vouching for an organisation type
its issuer may not, is refused (401).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    member_ids: frozenset[str] = Field(default_factory=frozenset)
    """A family token: the family member records (one per child) of the person signed in; `sub` is one of them."""

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def family_member_ids(self) -> frozenset[str]:
        """The family member records a family token speaks for: `sub` and `member_ids`."""
        return self.member_ids | {self.sub}


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
    member_ids: list[StrictStr] = Field(default_factory=list)

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
            member_ids=frozenset(self.member_ids),
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


KeySource = Callable[[], Any]
"""Returns the issuer's public key object, or None while it is not available (e.g. a file not written yet)."""


@dataclass(frozen=True)
class ClaimMapping:
    """How an organisation's identity provider's token becomes TAS claims: `names` reads a TAS claim from another
    claim of the provider's (`{"roles": "groups"}`), `roles` turns the provider's values into TAS roles (values not
    listed are dropped), and `fixed` sets claims from configuration (`{"org_type": "health", "org_id": "nhs-trust-1"}`:
    the provider of one organisation vouches for that organisation only, whatever its token says)."""

    names: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, claims: dict[str, Any]) -> dict[str, Any]:
        mapped = dict(claims)
        for tas, theirs in self.names.items():
            if theirs in claims:
                mapped[tas] = claims[theirs]
        if self.roles:
            given = mapped.get("roles")
            values = [given] if isinstance(given, str) else given if isinstance(given, list) else []
            mapped["roles"] = sorted({self.roles[v] for v in values if isinstance(v, str) and v in self.roles})
        mapped.update(self.fixed)
        return mapped


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens a service accepts: its `iss`, its keys (a JWKS URL, or a public key source), the
    organisation types it may vouch for (None: any), the audience its tokens carry (None: the service's) and how its
    claims become TAS claims (None: they are TAS claims already)."""

    issuer: str
    org_types: frozenset[OrgType] | None = None
    jwks_url: str | None = None
    public_key: KeySource | None = None
    audience: str | None = None
    claims: ClaimMapping | None = None

    def __post_init__(self) -> None:
        if not self.jwks_url and self.public_key is None:
            raise ValueError(f"issuer {self.issuer}: a JWKS URL or a public key is needed to verify its tokens")


def pem_key(public_key_pem: bytes) -> KeySource:
    """A key source for a PEM, parsed once (PyJWT would parse the PEM on every request)."""
    key = serialization.load_pem_public_key(public_key_pem)
    return lambda: key


class TokenVerifier:
    """Verifies bearer tokens against their issuer's keys: the issuer is read from the token (`iss`), must be one of
    the trusted ones, and must be allowed to vouch for the token's `org_type`.

    `TokenVerifier(issuer=..., audience=..., jwks_url=... | public_key_pem=...)` trusts one issuer for every
    organisation type; `TokenVerifier(audience=..., issuers=[TrustedIssuer(...), ...])` trusts several."""

    def __init__(
        self,
        *,
        audience: str,
        issuer: str | None = None,
        jwks_url: str | None = None,
        public_key_pem: bytes | None = None,
        issuers: Sequence[TrustedIssuer] = (),
    ) -> None:
        trusted = list(issuers)
        if issuer is not None:
            if not jwks_url and not public_key_pem:
                raise ValueError("a JWKS URL or a public key is needed to verify tokens")
            trusted.insert(
                0,
                TrustedIssuer(
                    issuer=issuer, jwks_url=jwks_url, public_key=pem_key(public_key_pem) if public_key_pem else None
                ),
            )
        if not trusted:
            raise ValueError("trust at least one issuer")
        self.audience = audience
        self.issuers = {t.issuer: t for t in trusted}
        if len(self.issuers) != len(trusted):
            raise ValueError("an issuer is trusted twice")
        self.issuer = trusted[0].issuer
        self._jwks = {
            t.issuer: jwt.PyJWKClient(t.jwks_url, cache_keys=True, lifespan=300) for t in trusted if t.jwks_url
        }
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

    async def _signing_key(self, trusted: TrustedIssuer, token: str) -> Any:
        client = self._jwks.get(trusted.issuer)
        if client is not None:
            return (await asyncio.to_thread(client.get_signing_key_from_jwt, token)).key
        assert trusted.public_key is not None
        key = trusted.public_key()
        if key is None:
            raise Unauthorized(f"the keys of issuer {trusted.issuer} are not available yet")
        return key

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise Unauthorized("token algorithm not accepted")
            unverified = jwt.decode(token, options={"verify_signature": False})
            claimed = unverified.get("iss")
            trusted = self.issuers.get(claimed) if isinstance(claimed, str) else None
            if trusted is None:
                raise Unauthorized("token issuer not trusted")
            claims = jwt.decode(
                token,
                await self._signing_key(trusted, token),
                algorithms=ALGORITHMS,
                audience=trusted.audience or self.audience,
                issuer=trusted.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=self.LEEWAY_SECONDS,
            )
        except Unauthorized:
            raise
        except (jwt.PyJWTError, ValueError, TypeError) as exc:  # TypeError: a key that does not fit the algorithm
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from exc
        if trusted.claims is not None:
            claims = trusted.claims.apply(claims)
        try:
            principal = TasClaims.model_validate(claims).principal()
        except (ValidationError, TypeError, ValueError) as exc:
            raise Unauthorized("token lacks the TAS claims or they are malformed") from exc
        if trusted.org_types is not None and principal.org_type not in trusted.org_types:
            raise Unauthorized(f"issuer {trusted.issuer} may not vouch for organisation type {principal.org_type}")
        return principal, float(claims["exp"])
