"""Referral's tables for school MIS vendors (issue 17): the clients the LA registers, their credentials (public keys
for `private_key_jwt`, client secrets kept only as hashes), the client assertions already used (replay), and the
webhook subscriptions and deliveries. Imported by models.py, so that the one metadata holds them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field

from tas_common.db import utcnow

from .models import Table, new_id


class MisClientRegistration(Table, table=True):
    """An MIS client registered by a local authority's integration administrator: the schools it may push for and
    read back. Its `id` is the OAuth `client_id` and the `sub` of its tokens."""

    __tablename__ = "mis_client"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    la_code: str = Field(index=True, max_length=3)
    school_urns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=10)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    revoked_by: str | None = Field(default=None, max_length=200)


class MisClientCredential(Table, table=True):
    """A credential of an MIS client: a public key (JWK) for `private_key_jwt`, or a client secret kept only as its
    SHA-256 (a secret is 256 random bits, shown once). Rotation adds one and gives the old an `expires_at`: both
    work until then. `revoked_at` ends one at once."""

    __tablename__ = "mis_client_credential"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    client_id: str = Field(foreign_key="mis_client.id", index=True, max_length=36)
    kind: str = Field(max_length=20)
    kid: str | None = Field(default=None, max_length=100)
    public_jwk: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    secret_sha256: str | None = Field(default=None, max_length=64)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class MisClientAssertion(Table, table=True):
    """A client assertion's `jti`, kept until the assertion expires: the same assertion is not accepted twice."""

    __tablename__ = "mis_client_assertion"
    __table_args__ = (Index(None, "expires_at"),)

    client_id: str = Field(primary_key=True, max_length=36)
    jti: str = Field(primary_key=True, max_length=200)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WebhookSubscription(Table, table=True):
    """An MIS client's HTTPS endpoint for some event types. Its signing secret is kept sealed (AES-256-GCM under
    the service's key): it must be read to sign, so it cannot be a hash."""

    __tablename__ = "webhook_subscription"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    client_id: str = Field(index=True, max_length=200)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sealed_secret: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    status: str = Field(default="active", max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class WebhookDelivery(Table, table=True):
    """One message to one subscription, written by the event consumer in the transaction that handles the event
    (unique per subscription and event: a redelivered event adds nothing) and sent by the delivery worker:
    `pending` (due at `next_attempt_at`) → `delivered`, or `dead` after the last retry (the dead-letter list, from
    which the client or the LA replays it)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index(None, "status", "next_attempt_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    """The message id (`webhook-id`): the same on every attempt and replay, so a receiver can drop a repeat."""
    subscription_id: str = Field(foreign_key="webhook_subscription.id", index=True, max_length=36)
    client_id: str = Field(index=True, max_length=200)
    event_id: str = Field(max_length=36)
    event_type: str = Field(max_length=50)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    leased_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
