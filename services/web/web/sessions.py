"""Server-side sessions: the cookie holds a random id, the table holds its hash, the family's token, a CSRF
token and when it was last used. A session idle for `session_idle_minutes` is over; signing in rotates the id."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from tas_common.db import Database, utcnow

from .domain.models import web_session

TOUCH_EVERY = timedelta(minutes=1)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class WebSession:
    id_hash: str
    csrf: str
    data: dict[str, Any] = field(default_factory=dict)
    cookie_value: str | None = None
    """Set when the cookie must be (re)sent: a new or rotated session."""
    last_seen_at: datetime | None = None
    saved_data: str = ""
    """The data as stored: a request that changed nothing writes only to move the idle clock on, at most once a
    minute (each write is an fsync)."""

    def needs_saving(self, now: datetime) -> bool:
        if json.dumps(self.data, sort_keys=True) != self.saved_data:
            return True
        return self.last_seen_at is None or now - self.last_seen_at >= TOUCH_EVERY

    @property
    def token(self) -> str | None:
        return self.data.get("token")

    @property
    def bearer(self) -> str:
        """The token to call the APIs with ('' when there is none: the API answers 401, the person signs in)."""
        return str(self.data.get("token") or "")

    @property
    def signed_in(self) -> bool:
        expires = self.data.get("token_expires_at")
        return bool(self.token) and (expires is None or expires > utcnow().timestamp())

    @property
    def child_ids(self) -> list[str]:
        return list(self.data.get("child_ids", []))

    def csrf_ok(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf, submitted or "")


@dataclass
class Loaded:
    session: WebSession | None
    expired: bool = False
    """The cookie named a session that timed out (the page says so)."""


class SessionStore:
    def __init__(self, db: Database, *, idle: timedelta) -> None:
        self.db = db
        self.idle = idle

    async def load(self, cookie_value: str | None, *, now: datetime | None = None) -> Loaded:
        if not cookie_value or len(cookie_value) > 100:
            return Loaded(None)
        now = now or utcnow()
        id_hash = _hash(cookie_value)
        async with self.db.reader() as session:
            row = (await session.execute(select(web_session).where(web_session.c.id_hash == id_hash))).first()
        if row is None:
            return Loaded(None)
        last_seen = row.last_seen_at if row.last_seen_at.tzinfo else row.last_seen_at.replace(tzinfo=now.tzinfo)
        if now - last_seen > self.idle:
            await self.destroy(id_hash)
            return Loaded(None, expired=bool(json.loads(row.data).get("token")))
        data = json.loads(row.data)
        return Loaded(
            WebSession(
                id_hash=id_hash,
                csrf=row.csrf,
                data=data,
                last_seen_at=last_seen,
                saved_data=json.dumps(data, sort_keys=True),
            )
        )

    async def create(self, data: dict[str, Any] | None = None) -> WebSession:
        value = secrets.token_urlsafe(32)
        now = utcnow()
        created = WebSession(
            id_hash=_hash(value),
            csrf=secrets.token_urlsafe(32),
            data=dict(data or {}),
            cookie_value=value,
            last_seen_at=now,
            saved_data=json.dumps(dict(data or {}), sort_keys=True),
        )
        async with self.db.transaction() as session:
            await session.execute(
                insert(web_session).values(
                    id_hash=created.id_hash,
                    csrf=created.csrf,
                    data=json.dumps(created.data),
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return created

    async def save(self, current: WebSession) -> None:
        """Store the data and mark the session used now (the idle clock restarts)."""
        now = utcnow()
        if not current.needs_saving(now):
            return
        current.last_seen_at, current.saved_data = now, json.dumps(current.data, sort_keys=True)
        async with self.db.transaction() as session:
            await session.execute(
                update(web_session)
                .where(web_session.c.id_hash == current.id_hash)
                .values(data=json.dumps(current.data), last_seen_at=now)
            )

    async def rotate(self, current: WebSession, data: dict[str, Any]) -> WebSession:
        """A new id and CSRF token for a session changing privilege (sign-in): the old id stops working."""
        await self.destroy(current.id_hash)
        return await self.create(data)

    async def destroy(self, id_hash: str) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(web_session).where(web_session.c.id_hash == id_hash))

    async def purge(self, *, now: datetime | None = None) -> int:
        cutoff = (now or utcnow()) - self.idle
        async with self.db.transaction() as session:
            result = await session.execute(delete(web_session).where(web_session.c.last_seen_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
