from __future__ import annotations

from datetime import date, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class ChildPublic(BaseModel):
    id: str
    upn: str
    nhs_number: str | None
    given_name: str
    family_name: str
    date_of_birth: date
    year_group: str | None
    school_urn: str
    la_code: str | None
    possible_duplicate_of: str | None
    created_at: datetime


class ChronologyEntryPublic(BaseModel):
    id: str
    at: datetime
    kind: str
    summary: str
    sensitivity: str
    ref_type: str | None
    ref_id: str | None
