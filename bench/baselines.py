"""The baselines the intake is compared with, served by uvicorn with the same settings as the service.

- `bare`: a FastAPI endpoint that returns JSON and does nothing else (it does not even read the body): the
  ceiling that FastAPI + uvicorn allow on this machine.
- `naive`: what a first FastAPI + SQLModel tutorial would write: a synchronous `def` route (run in FastAPI's
  thread pool), the body parsed into a model, one row with columns like referral's `concern` inserted through a
  synchronous SQLModel session: into SQLite with SQLite's default settings (rollback journal, synchronous=FULL
  by default, SQLAlchemy's default pool and 5-second busy timeout), or into PostgreSQL through psycopg (the
  server's durable defaults, SQLAlchemy's default pool of 5 + 10). No auth check, no outbox, no audit.
- `floor`: the bare endpoint plus the rows the intake writes, written with the raw driver in one transaction per
  request on referral's own migrated schema: the school looked up, the concern, its family contacts, the audit
  row linked to the chain's head, the outbox row. The body is parsed with `json.loads` and not validated; no
  auth, no framework dependencies, no relay, no group commit. On SQLite `sqlite3` (WAL, synchronous=FULL, as the
  service; each request commits, fsync included, on the event loop); on PostgreSQL asyncpg, a pool of 10 as the
  services have, the chain head read under tas_common/audit.py's advisory lock. How close the intake can get in
  this stack.
- `floor_validated` (a diagnostic, not a target's baseline): the floor whose route takes referral's
  `ConcernCreate`, so FastAPI validates the body as it does for referral before the same writes; bench/intake.py
  runs it when an intake target misses.

All four accept the intake's request (`POST /v1/concerns` with the same body and headers).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlmodel import Field, Session, SQLModel, create_engine

from referral.domain.concern_schemas import ConcernCreate


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/concerns", status_code=201)
    async def create() -> dict[str, str]:
        return {"status": "accepted"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    return app


class NaiveChild(SQLModel):
    upn: str
    nhs_number: str | None = None
    given_name: str
    family_name: str
    date_of_birth: date
    year_group: str | None = None


class NaiveContact(SQLModel):
    name: str
    relationship: str
    parental_responsibility: bool
    mobile: str | None = None
    email: str | None = None
    preferred_channel: str
    language: str = "en"


class NaiveConcernIn(SQLModel):
    school_urn: str
    child: NaiveChild
    areas_of_need: list[str]
    safeguarding: bool = False
    summary: str
    urgency: str = "routine"
    already_tried: str | None = None
    family_contacts: list[NaiveContact] = []
    consent_status: str = "not_sought"


class NaiveConcern(SQLModel, table=True):
    __tablename__ = "naive_concern"

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True)
    school_urn: str = Field(index=True)
    upn: str = Field(index=True)
    nhs_number: str | None = None
    given_name: str
    family_name: str
    date_of_birth: date
    year_group: str | None = None
    areas_of_need: str
    safeguarding: bool
    urgency: str
    summary: str
    already_tried: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_mobile: str | None = None
    consent_status: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def naive_app() -> FastAPI:
    """BENCH_NAIVE_URL (PostgreSQL through psycopg, the tutorial's synchronous driver) or BENCH_NAIVE_DB (a
    SQLite file)."""
    url = os.environ.get("BENCH_NAIVE_URL") or f"sqlite:///{os.environ.get('BENCH_NAIVE_DB', 'naive.db')}"
    engine = create_engine(url)
    SQLModel.metadata.create_all(engine)
    app = FastAPI()

    @app.post("/v1/concerns", status_code=201)
    def create(body: NaiveConcernIn) -> dict[str, str]:
        contact = body.family_contacts[0] if body.family_contacts else None
        row = NaiveConcern(
            school_urn=body.school_urn,
            upn=body.child.upn,
            nhs_number=body.child.nhs_number,
            given_name=body.child.given_name,
            family_name=body.child.family_name,
            date_of_birth=body.child.date_of_birth,
            year_group=body.child.year_group,
            areas_of_need=",".join(body.areas_of_need),
            safeguarding=body.safeguarding,
            urgency=body.urgency,
            summary=body.summary,
            already_tried=body.already_tried,
            consent_status=body.consent_status,
            contact_name=contact.name if contact else None,
            contact_email=contact.email if contact else None,
            contact_mobile=contact.mobile if contact else None,
        )
        with Session(engine) as session:
            session.add(row)
            session.commit()
            return {"id": row.id}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "alive"}

    return app


_FLOOR_AUDIT = ("at", "actor", "actor_org", "actor_org_type", "action", "resource_type", "resource_id", "child_id")
AUDIT_LOCK = 727401
"""tas_common/audit.py's advisory lock on PostgreSQL: one chain head at a time."""


def _insert(table: str, row: dict[str, Any], *, numbered: bool = False) -> tuple[str, tuple[Any, ...]]:
    marks = [f"${i}" for i in range(1, len(row) + 1)] if numbered else ["?"] * len(row)
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(marks)})", tuple(row.values())


def _floor_rows(body: dict[str, Any], la_code: str, now: datetime) -> dict[str, Any]:
    """The rows the intake writes for one request, in the driver's native types (PostgreSQL's): the concern, its
    family contacts, the audit row without its chain link, the outbox row."""
    concern_id = str(uuid.uuid4())
    child = body["child"]
    concern = {
        **{k: child.get(k) for k in ("upn", "nhs_number", "given_name", "family_name")},
        "date_of_birth": date.fromisoformat(child["date_of_birth"]),
        "year_group": child.get("year_group"),
        "id": concern_id,
        "school_urn": body["school_urn"],
        "la_code": la_code,
        "raised_by_sub": "floor",
        "raised_by_org": "school-" + body["school_urn"],
        "source": "staff",
        "areas_of_need": json.dumps(body["areas_of_need"]),
        "safeguarding": bool(body.get("safeguarding", False)),
        "urgency": body.get("urgency", "routine"),
        "summary": body["summary"],
        "already_tried": body.get("already_tried"),
        "graduated_response": "[]",
        "consent_status": body.get("consent_status", "not_sought"),
        "created_at": now,
    }
    contacts = [{**c, "id": str(uuid.uuid4()), "concern_id": concern_id} for c in body.get("family_contacts", [])]
    audit = dict(
        zip(_FLOOR_AUDIT, (now, "floor", "floor", "school", "create", "concern", concern_id, None), strict=True)
    )
    event_id = str(uuid.uuid4())
    event = {"id": event_id, "type": "concern.raised", "data": {**concern, "family": body}}
    outbox = {
        "event_id": event_id,
        "subject": "tas.referral.concern.raised",
        "event_type": "concern.raised",
        "payload": json.dumps(event, default=str).encode(),
        "created_at": now,
    }
    return {"id": concern_id, "concern": concern, "contacts": contacts, "audit": audit, "outbox": outbox}


def _chained(audit: dict[str, Any], prev: str | None) -> dict[str, Any]:
    prev = prev or "0" * 64
    digest = hashlib.sha256((prev + json.dumps(audit, sort_keys=True, default=str)).encode()).hexdigest()
    return {**audit, "prev_hash": prev, "hash": digest}


def _as_sqlite(row: dict[str, Any]) -> dict[str, Any]:
    """SQLite's storage of the same values (as referral's SQLAlchemy types store them: ISO text, 0/1)."""
    return {k: v.isoformat() if isinstance(v, date) else int(v) if isinstance(v, bool) else v for k, v in row.items()}


def created(concern_id: str) -> Response:
    return Response(json.dumps({"id": concern_id}), status_code=201, media_type="application/json")


def floor_sqlite_writes(conn: sqlite3.Connection, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The floor's statements for one request on SQLite, in the caller's transaction: the school looked up, the
    concern, its contacts, the audit row linked to the chain's head, the outbox row. Returns `_floor_rows`'s rows."""
    school = conn.execute("SELECT name, la_code FROM school WHERE urn = ?", (body["school_urn"],)).fetchone()
    rows = _floor_rows(body, school[1], now)
    conn.execute(*_insert("concern", _as_sqlite(rows["concern"])))
    for contact in rows["contacts"]:
        conn.execute(*_insert("family_contact", _as_sqlite(contact)))
    head = conn.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    conn.execute(*_insert("audit_log", _as_sqlite(_chained(rows["audit"], head[0] if head else None))))
    conn.execute(*_insert("outbox", _as_sqlite(rows["outbox"])))
    return rows


LOCK_RETRY_SECONDS = 0.0005
"""How long a floor transaction waits on the event loop before trying again for a write lock another connection
holds (in bench/raw_storage.py referral's relay or checkpointer; a blocking wait would stall the loop they need)."""


async def floor_sqlite_commit(conn: sqlite3.Connection, body: dict[str, Any]) -> Response:
    """The floor's transaction on SQLite for one request: BEGIN IMMEDIATE (tried again while the database is locked),
    `floor_sqlite_writes`, COMMIT (its fsync on the event loop, as the floor's), the 201 answer. Any other error, and
    any error of the writes, is raised (the writes rolled back)."""
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            await asyncio.sleep(LOCK_RETRY_SECONDS)
    try:
        rows = floor_sqlite_writes(conn, body, datetime.now(UTC))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return created(rows["id"])


def floor_app() -> FastAPI:
    """BENCH_FLOOR_PG (an asyncpg DSN) or BENCH_FLOOR_DB (a SQLite file): a database migrated with referral's
    migrations (schools register included)."""
    return _floor(validated=False)


def floor_validated_app() -> FastAPI:
    """The floor whose route takes referral's `ConcernCreate` as its body, so that FastAPI parses and validates it
    exactly as it does for referral's route (pydantic, email-validator, libphonenumber) before the same raw writes of
    the same rows. Not a target's baseline: a diagnostic of the intake's targets (bench/intake.py), the least a
    FastAPI process pays for the validation the issue keeps. Same environment as `floor_app`."""
    return _floor(validated=True)


Write = Callable[[dict[str, Any]], Awaitable[Response]]


def _floor(*, validated: bool) -> FastAPI:
    dsn = os.environ.get("BENCH_FLOOR_PG")
    app, write = _floor_pg(dsn) if dsn else _floor_sqlite(os.environ["BENCH_FLOOR_DB"])
    if validated:

        @app.post("/v1/concerns")
        async def create_validated(body: ConcernCreate) -> Response:
            return await write(body.model_dump(mode="json"))

    else:

        @app.post("/v1/concerns")
        async def create(request: Request) -> Response:
            return await write(json.loads(await request.body()))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    return app


def _floor_sqlite(path: str) -> tuple[FastAPI, Write]:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")

    async def write(body: dict[str, Any]) -> Response:
        return await floor_sqlite_commit(conn, body)

    return FastAPI(), write


def _floor_pg(dsn: str) -> tuple[FastAPI, Write]:
    """asyncpg, a pool of 10 connections (the services' pool_size); the audit chain's head under the same
    advisory lock as tas_common/audit.py, taken just before it is read."""
    import asyncpg

    pool: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool["pool"] = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        try:
            yield
        finally:
            await pool["pool"].close()

    app = FastAPI(lifespan=lifespan)

    async def insert(conn: Any, table: str, row: dict[str, Any]) -> None:
        sql, values = _insert(table, row, numbered=True)
        await conn.execute(sql, *values)

    async def write(body: dict[str, Any]) -> Response:
        async with pool["pool"].acquire() as conn, conn.transaction():
            la_code = await conn.fetchval("SELECT la_code FROM school WHERE urn = $1", body["school_urn"])
            rows = _floor_rows(body, la_code, datetime.now(UTC))
            await insert(conn, "concern", rows["concern"])
            for contact in rows["contacts"]:
                await insert(conn, "family_contact", contact)
            await conn.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK)
            head = await conn.fetchval("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            await insert(conn, "audit_log", _chained(rows["audit"], head))
            await insert(conn, "outbox", rows["outbox"])
        return created(rows["id"])

    return app, write
