"""Caseload's tables: the child's record, family members and the chronology."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index
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


class Child(Table, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    upn: str = Field(unique=True, max_length=13)
    nhs_number: str | None = Field(default=None, index=True, max_length=10)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    year_group: str | None = Field(default=None, max_length=10)
    school_urn: str = Field(index=True, max_length=6)
    la_code: str | None = Field(default=None, index=True, max_length=3)
    possible_duplicate_of: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class FamilyMember(Table, table=True):
    __tablename__ = "family_member"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    relationship: str = Field(max_length=50)
    parental_responsibility: bool
    mobile: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    preferred_channel: str = Field(max_length=5)
    language: str = Field(default="en", max_length=5)
    opted_out: bool = False


class ChronologyEntry(Table, table=True):
    __tablename__ = "chronology_entry"
    __table_args__ = (Index("ix_chronology_entry_child_at", "child_id", "at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", max_length=36)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    kind: str = Field(max_length=50)
    summary: str = Field(max_length=500)
    sensitivity: str = Field(default="team", max_length=20)
    ref_type: str | None = Field(default=None, max_length=30)
    ref_id: str | None = Field(default=None, max_length=36)
    source_event_id: str | None = Field(default=None, max_length=36)
