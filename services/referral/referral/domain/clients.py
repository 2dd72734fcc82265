"""MIS clients, registered by a local authority's integration administrators (issue 17.1): a name, the schools of
their LA it may push for, and its credentials — public keys for `private_key_jwt` (RFC 7523, preferred) or client
secrets kept only as a SHA-256 hash (a secret is 256 random bits, shown once). A rotation adds a credential and lets
the others work for an overlap before they expire; revoking a credential or the whole client takes effect at once at
the token endpoint and, for tokens already issued, on every replica within `TAS_MIS_REVOCATION_CACHE_SECONDS`.
Every change is audited; an administrator sees only the clients of their own LA (another's is 404)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import NotFound
from tas_common.paging import Key, Keyset, Page

from . import schools
from .exceptions import invalid_field
from .mis_schemas import (
    ClientCreate,
    ClientCreated,
    ClientPublic,
    CredentialCreated,
    CredentialIn,
    CredentialPublic,
    CredentialRotate,
)
from .models_mis import MisClientCredential, MisClientRegistration

SECRET_PREFIX = "tasmis_"


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the key's required members in lexicographic order, base64url."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_active(credential: MisClientCredential, now: Any = None) -> bool:
    now = now or utcnow()
    return credential.revoked_at is None and (credential.expires_at is None or credential.expires_at > now)


def _credential(client_id: str, data: CredentialIn, principal: Principal) -> tuple[MisClientCredential, str | None]:
    if data.public_key is not None:
        jwk = dict(data.public_key)
        jwk.setdefault("kid", jwk_thumbprint(jwk))
        row = MisClientCredential(
            client_id=client_id, kind="public_key", kid=jwk["kid"], public_jwk=jwk, created_by=principal.sub
        )
        return row, None
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = MisClientCredential(
        client_id=client_id, kind="client_secret", secret_sha256=secret_hash(secret), created_by=principal.sub
    )
    return row, secret


def credential_public(credential: MisClientCredential, secret: str | None = None) -> CredentialCreated:
    return CredentialCreated(
        id=credential.id,
        kind=credential.kind,
        kid=credential.kid,
        created_at=credential.created_at,
        expires_at=credential.expires_at,
        revoked_at=credential.revoked_at,
        active=is_active(credential),
        client_secret=secret,
    )


async def credentials_of(session: AsyncSession, client_id: str) -> list[MisClientCredential]:
    query = select(MisClientCredential).where(MisClientCredential.client_id == client_id)
    return list((await session.exec(query.order_by(MisClientCredential.created_at))).all())  # type: ignore[arg-type]


async def _public(session: AsyncSession, client: MisClientRegistration) -> ClientPublic:
    return ClientPublic(
        id=client.id,
        name=client.name,
        la_code=client.la_code,
        school_urns=list(client.school_urns),
        status=client.status,
        created_at=client.created_at,
        revoked_at=client.revoked_at,
        credentials=[
            CredentialPublic.model_validate(credential_public(c).model_dump())
            for c in await credentials_of(session, client.id)
        ],
    )


async def _audit(session: AsyncSession, principal: Principal, action: str, client_id: str, reason: str) -> None:
    await audit.record(
        session, actor=principal, action=action, resource_type="mis_client", resource_id=client_id, reason=reason
    )


async def register(session: AsyncSession, *, principal: Principal, data: ClientCreate) -> ClientCreated:
    """A new client for schools of the administrator's own LA (a URN not in the register, or of another LA: 422)."""
    registry = await schools.lookup_many(session, set(data.school_urns))
    for index, urn in enumerate(data.school_urns):
        school = registry.get(urn)
        if school is None or school.la_code != principal.la_code:
            raise invalid_field(f"body.school_urns.{index}", "not a school of your local authority in the register")
    client = MisClientRegistration(
        name=data.name, la_code=principal.la_code or "", school_urns=data.school_urns, created_by=principal.sub
    )
    session.add(client)
    await session.flush()  # before its credential (the foreign key)
    credential, secret = _credential(client.id, data, principal)
    session.add(credential)
    await session.flush()
    await _audit(session, principal, "mis_client_register", client.id, f"{len(data.school_urns)} school(s)")
    public = await _public(session, client)
    return ClientCreated(**public.model_dump(), client_secret=secret)


async def _own(session: AsyncSession, principal: Principal, client_id: str) -> MisClientRegistration:
    client = await session.get(MisClientRegistration, client_id)
    if client is None or client.la_code != principal.la_code:
        raise NotFound("no such MIS client")
    return client


async def get_client(session: AsyncSession, *, principal: Principal, client_id: str) -> ClientPublic:
    return await _public(session, await _own(session, principal, client_id))


CLIENT_ORDER = Keyset("mis-clients", Key(MisClientRegistration.created_at), Key(MisClientRegistration.id))


async def list_clients(
    session: AsyncSession, *, principal: Principal, limit: int, cursor: str | None
) -> Page[ClientPublic]:
    query = select(MisClientRegistration).where(MisClientRegistration.la_code == principal.la_code)
    if cursor:
        query = query.where(CLIENT_ORDER.after(cursor))
    rows = list((await session.exec(query.order_by(*CLIENT_ORDER.order_by()).limit(limit + 1))).all())
    more, rows = len(rows) > limit, rows[:limit]
    return Page[ClientPublic](
        items=[await _public(session, c) for c in rows],
        next_cursor=CLIENT_ORDER.cursor((rows[-1].created_at, rows[-1].id)) if more else None,
    )


async def add_credential(
    session: AsyncSession, *, principal: Principal, client_id: str, data: CredentialRotate
) -> CredentialCreated:
    """Rotation: the new credential works at once; the client's other active ones expire after the overlap."""
    client = await _own(session, principal, client_id)
    credential, secret = _credential(client.id, data, principal)
    now = utcnow()
    retire_at = now + timedelta(hours=data.retire_others_after_hours)
    for other in await credentials_of(session, client.id):
        if is_active(other, now) and (other.expires_at is None or other.expires_at > retire_at):
            other.expires_at = retire_at
            session.add(other)
    session.add(credential)
    await session.flush()
    await _audit(
        session,
        principal,
        "mis_client_rotate",
        client.id,
        f"{credential.kind} added; others expire {retire_at:%Y-%m-%d %H:%M}",
    )
    return credential_public(credential, secret)


async def revoke_credential(
    session: AsyncSession, *, principal: Principal, client_id: str, credential_id: str
) -> CredentialCreated:
    client = await _own(session, principal, client_id)
    credential = await session.get(MisClientCredential, credential_id)
    if credential is None or credential.client_id != client.id:
        raise NotFound("no such credential")
    if credential.revoked_at is None:
        credential.revoked_at = utcnow()
        session.add(credential)
        await _audit(session, principal, "mis_client_revoke_credential", client.id, f"credential {credential.id}")
    return credential_public(credential)


async def revoke(session: AsyncSession, *, principal: Principal, client_id: str) -> ClientPublic:
    """The client gets no more tokens, and the tokens it holds are refused (within the revocation cache)."""
    client = await _own(session, principal, client_id)
    if client.status != "revoked":
        client.status, client.revoked_at, client.revoked_by = "revoked", utcnow(), principal.sub
        session.add(client)
        await _audit(session, principal, "mis_client_revoke", client.id, "revoked")
    return await _public(session, client)
