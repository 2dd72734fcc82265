"""The three baselines the intake is compared with, served by uvicorn with the same settings as the service.

- `bare`: a FastAPI endpoint that returns JSON and does nothing else (it does not even read the body): the
  ceiling that FastAPI + uvicorn allow on this machine.
- `naive`: what a first FastAPI + SQLModel tutorial would write: a synchronous `def` route (run in FastAPI's
  thread pool), the body parsed into a model, one row with columns like referral's `concern` inserted through a
  synchronous SQLModel session into SQLite with SQLite's default settings (rollback journal, synchronous=FULL
  by default, SQLAlchemy's default pool and 5-second busy timeout). No auth check, no outbox, no audit.
- `floor`: the bare endpoint plus the rows the intake writes, written with the raw driver (`sqlite3`) in one
  transaction per request on referral's own migrated schema (WAL, synchronous=FULL, as the service): the school
  looked up, the concern, its family contacts, the audit row linked to the chain's head, the outbox row. The body
  is parsed with `json.loads` and not validated; no auth, no framework dependencies, no relay, no group commit
  (each request commits, fsync included, on the event loop). How close the intake can get in this stack.

All three accept the intake's request (`POST /v1/concerns` with the same body and headers).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlmodel import Field, Session, SQLModel, create_engine


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
    engine = create_engine(f"sqlite:///{os.environ.get('BENCH_NAIVE_DB', 'naive.db')}")
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


def _insert(table: str, row: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())


def floor_app() -> FastAPI:
    """BENCH_FLOOR_DB: a SQLite file migrated with referral's migrations (schools register included)."""
    conn = sqlite3.connect(os.environ["BENCH_FLOOR_DB"], isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    app = FastAPI()

    @app.post("/v1/concerns")
    async def create(request: Request) -> Response:
        body = json.loads(await request.body())
        now = datetime.now(UTC).isoformat()
        concern_id = str(uuid.uuid4())
        conn.execute("BEGIN IMMEDIATE")
        try:
            school = conn.execute("SELECT name, la_code FROM school WHERE urn = ?", (body["school_urn"],)).fetchone()
            child = body["child"]
            concern = {
                **{k: child.get(k) for k in ("upn", "nhs_number", "given_name", "family_name", "date_of_birth")},
                "year_group": child.get("year_group"),
                "id": concern_id,
                "school_urn": body["school_urn"],
                "la_code": school[1],
                "raised_by_sub": "floor",
                "raised_by_org": "school-" + body["school_urn"],
                "source": "staff",
                "areas_of_need": json.dumps(body["areas_of_need"]),
                "safeguarding": int(body.get("safeguarding", False)),
                "urgency": body.get("urgency", "routine"),
                "summary": body["summary"],
                "already_tried": body.get("already_tried"),
                "graduated_response": "[]",
                "consent_status": body.get("consent_status", "not_sought"),
                "created_at": now,
            }
            conn.execute(*_insert("concern", concern))
            for contact in body.get("family_contacts", []):
                conn.execute(*_insert("family_contact", {**contact, "id": str(uuid.uuid4()), "concern_id": concern_id}))
            head = conn.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            prev = head[0] if head else "0" * 64
            audit = dict(
                zip(_FLOOR_AUDIT, (now, "floor", "floor", "school", "create", "concern", concern_id, None), strict=True)
            )
            digest = hashlib.sha256((prev + json.dumps(audit, sort_keys=True)).encode()).hexdigest()
            conn.execute(*_insert("audit_log", {**audit, "prev_hash": prev, "hash": digest}))
            event = {"id": str(uuid.uuid4()), "type": "concern.raised", "data": {**concern, "family": body}}
            outbox = {
                "event_id": event["id"],
                "subject": "tas.referral.concern.raised",
                "event_type": "concern.raised",
                "payload": json.dumps(event).encode(),
                "created_at": now,
            }
            conn.execute(*_insert("outbox", outbox))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return Response(json.dumps({"id": concern_id}), status_code=201, media_type="application/json")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    return app
