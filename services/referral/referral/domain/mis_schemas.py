"""The API's shapes for MIS clients: the push (a concern with the MIS's record id, the result per item),
registration and credentials (the LA), tokens, read back and webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import jwt
from pydantic import BaseModel, Field, field_validator, model_validator

from tas_common.identifiers import is_valid_urn
from tas_common.schemas import Strict

from .concern_schemas import ConcernCreate

WEBHOOK_EVENT_TYPES = ("concern.linked", "referral.decided", "review.scheduled")
WebhookEventType = Literal["concern.linked", "referral.decided", "review.scheduled"]


def public_jwk(value: dict[str, Any]) -> dict[str, Any]:
    """A public signing key as a JWK (EC P-256 or RSA of at least 2048 bits), never a private one."""
    if not isinstance(value, dict) or value.get("kty") not in ("EC", "RSA"):
        raise ValueError("a public JWK with kty EC (P-256) or RSA")
    if any(private in value for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise ValueError("this is a private key: send only its public half")
    if value["kty"] == "EC" and value.get("crv") != "P-256":
        raise ValueError("an EC key must be on curve P-256 (ES256)")
    try:
        key = jwt.PyJWK(value)
    except Exception as exc:  # PyJWKError, a malformed member
        raise ValueError("not a usable public JWK") from exc
    if value["kty"] == "RSA" and getattr(key.key, "key_size", 0) < 2048:
        raise ValueError("an RSA key must have at least 2048 bits")
    allowed = {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
    return {name: member for name, member in value.items() if name in allowed}


class CredentialIn(Strict):
    """A credential to add: a public key for `private_key_jwt` (preferred), or `client_secret: true` for TAS to make
    a secret (shown once, kept only as a hash)."""

    public_key: dict[str, Any] | None = Field(default=None, description="A public JWK: EC P-256 or RSA ≥ 2048 bits")
    client_secret: bool = Field(default=False, description="Make a client secret (shown once in the answer)")

    @field_validator("public_key")
    @classmethod
    def _public(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else public_jwk(value)

    @model_validator(mode="after")
    def _one(self) -> CredentialIn:
        if (self.public_key is None) == (not self.client_secret):
            raise ValueError("send either public_key or client_secret: true")
        return self


class CredentialRotate(CredentialIn):
    retire_others_after_hours: int = Field(
        default=168,
        ge=0,
        le=720,
        description="The client's other active credentials keep working this long, then expire (0: at once)",
    )


class ClientCreate(CredentialIn):
    name: str = Field(min_length=1, max_length=200, description="The vendor and the product, as the LA knows them")
    school_urns: list[str] = Field(min_length=1, max_length=1000, description="The schools it may push for")

    @field_validator("school_urns")
    @classmethod
    def _urns(cls, value: list[str]) -> list[str]:
        for urn in value:
            if not is_valid_urn(urn):
                raise ValueError("a school URN is 6 digits")
        return sorted(set(value))


class CredentialPublic(BaseModel):
    id: str
    kind: Literal["public_key", "client_secret"]
    kid: str | None = Field(default=None, description="A public key's `kid` (its RFC 7638 thumbprint if it had none)")
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    active: bool


class CredentialCreated(CredentialPublic):
    client_secret: str | None = Field(default=None, description="Shown once: TAS keeps only its hash")


class ClientPublic(BaseModel):
    id: str = Field(description="The OAuth `client_id` (and the `sub` of its tokens)")
    name: str
    la_code: str
    school_urns: list[str]
    status: Literal["active", "revoked"]
    created_at: datetime
    revoked_at: datetime | None = None
    credentials: list[CredentialPublic] = []


class ClientCreated(ClientPublic):
    client_secret: str | None = Field(default=None, description="Shown once: TAS keeps only its hash")


class TokenResponse(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str = "mis"


class Jwks(BaseModel):
    keys: list[dict[str, str]]


class MisReferralStatus(BaseModel):
    """What became of a referral made from a concern the MIS pushed: the service and the decision's dates, never
    the reasons, notes or outcomes (another agency's words)."""

    referral_id: str
    service_id: str
    service_name: str
    status: str
    submitted_at: datetime
    decided_at: datetime | None = None
    first_contact_at: datetime | None = None
    closed_at: datetime | None = None


class MisConcernStatus(BaseModel):
    mis_record_id: str
    concern_id: str
    school_urn: str
    status: Literal["stored", "linked"] = Field(
        description="`stored`; `linked` once caseload has matched or created the child's record"
    )
    version: int
    stored_at: datetime
    updated_at: datetime | None = None
    safeguarding: bool
    referrals: list[MisReferralStatus] = Field(
        default=[],
        description="Its referrals and their decisions. A safeguarding concern's are not shown (the DSL follows "
        "them in TAS): `referrals_withheld` is true",
    )
    referrals_withheld: bool = False


class WebhookCreate(Strict):
    url: str = Field(
        min_length=8,
        max_length=2000,
        description="Your HTTPS endpoint (http://127.0.0.1 or localhost only outside production)",
    )
    event_types: list[WebhookEventType] = Field(min_length=1, max_length=len(WEBHOOK_EVENT_TYPES))
    description: str = Field(default="", max_length=200)

    @field_validator("event_types")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookPublic(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str
    status: Literal["active", "deleted"]
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="`whsec_...`: verify each delivery's `webhook-signature` with it. Shown once")


class DeliveryPublic(BaseModel):
    id: str = Field(description="The message id: the `webhook-id` of every attempt and replay")
    subscription_id: str
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime | None = None
    last_status: int | None = Field(default=None, description="The receiver's last HTTP status, if it answered")
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    payload: dict[str, Any]


# --- the push ----------------------------------------------------------------------------------------------


class MisConcernIn(ConcernCreate):
    """One item of an MIS push: a concern plus the MIS's own record id (re-sending it creates nothing twice)."""

    mis_record_id: str = Field(min_length=1, max_length=100)


class MisItemResult(BaseModel):
    index: int
    mis_record_id: str | None
    status: Literal["created", "duplicate", "updated", "conflict", "invalid"] = Field(
        description="`created`; `duplicate` (the record id was sent before with the same content); `updated` (sent "
        "before with changed content: a new version of the concern); `conflict` (the re-send would change whose "
        "concern it is, its family contacts, or stand down safeguarding: those fields, in `conflicts`, were not "
        "applied; any others, in `changed`, were); `invalid` (see `errors`)"
    )
    concern_id: str | None = None
    version: int | None = Field(default=None, description="The concern's version after this item")
    changed: list[str] | None = Field(
        default=None, description="`updated`/`conflict`: the fields this re-send changed (names, never values)"
    )
    conflicts: list[str] | None = Field(
        default=None, description="`conflict`: the fields that differ but a re-send may not change (names only)"
    )
    errors: list[dict[str, str]] | None = None


class MisPushResult(BaseModel):
    created: int
    duplicates: int
    updated: int = 0
    conflicts: int = 0
    invalid: int
    results: list[MisItemResult]
