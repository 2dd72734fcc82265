"""Referral's tables: concerns raised by schools and the family contacts they name."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from tas_common.db import make_registry, utcnow
from tas_common.tables import attach_infra

registry = make_registry()
metadata = registry.metadata
attach_infra(metadata)


class Table(SQLModel, registry=registry):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class Concern(Table, table=True):
    __table_args__ = (UniqueConstraint("mis_client", "mis_record_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    school_urn: str = Field(index=True, max_length=6)
    la_code: str | None = Field(default=None, max_length=3)
    raised_by_sub: str = Field(max_length=200)
    raised_by_org: str = Field(max_length=200)
    source: str = Field(default="staff", max_length=10)
    mis_client: str | None = Field(default=None, max_length=200)
    mis_record_id: str | None = Field(default=None, max_length=100)
    upn: str = Field(index=True, max_length=13)
    nhs_number: str | None = Field(default=None, max_length=10)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    year_group: str | None = Field(default=None, max_length=10)
    areas_of_need: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    safeguarding: bool = False
    urgency: str = Field(default="routine", max_length=20)
    summary: str = Field(max_length=4000)
    already_tried: str | None = Field(default=None, max_length=4000)
    consent_status: str = Field(default="not_sought", max_length=20)
    lawful_basis: str | None = Field(default=None, max_length=200)
    child_id: str | None = Field(default=None, index=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class FamilyContact(Table, table=True):
    __tablename__ = "family_contact"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    concern_id: str = Field(foreign_key="concern.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    relationship: str = Field(max_length=50)
    parental_responsibility: bool
    mobile: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    preferred_channel: str = Field(max_length=5)
    language: str = Field(default="en", max_length=5)
