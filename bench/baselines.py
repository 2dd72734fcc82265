"""The two baselines the intake is compared with, served by uvicorn with the same settings as the service.

- `bare`: a FastAPI endpoint that returns JSON and does nothing else (it does not even read the body): the
  ceiling that FastAPI + uvicorn allow on this machine.
- `naive`: what a first FastAPI + SQLModel tutorial would write: a synchronous `def` route (run in FastAPI's
  thread pool), the body parsed into a model, one row with columns like referral's `concern` inserted through a
  synchronous SQLModel session into SQLite with SQLite's default settings (rollback journal, synchronous=FULL
  by default, SQLAlchemy's default pool and 5-second busy timeout). No auth check, no outbox, no audit.

Both accept the intake's request (`POST /v1/concerns` with the same body and headers).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime

from fastapi import FastAPI
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
