"""The child's identity and a family contact named on a concern: one shape each.

A concern carries them from referral's API to referral's rows, the `tas.referral.concern.raised` event, and caseload's
rows and views. Every one of those is one of these classes or a subclass of it (a table model adds its keys and
indexes, an input model its validators, the event its versioned payload), and rows are made with `row_of`, never by
listing fields, so a field added here reaches them all: only the two services' migrations are left to write.
(tests/caseload/test_concern_fields.py proves that every field of the event reaches caseload.)

The lengths are the columns' and are checked wherever the shape is validated; an input model that accepts a looser
form (an NHS number with spaces, a mobile in any UK format) normalises it in a `mode="before"` validator or declares
its own input type for that field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Field, SQLModel


class ChildIdentity(SQLModel):
    """Who the child is: what matches a concern to a child record (UPN, then NHS number; names, date of birth and
    school flag a possible duplicate) and what a practitioner needs to recognise them."""

    upn: str = Field(max_length=13, description="Unique Pupil Number, 13 characters with its DfE check letter")
    nhs_number: str | None = Field(default=None, max_length=10, description="10 digits, modulus-11 check digit")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    year_group: str | None = Field(default=None, max_length=10, description="N1, N2, R (reception), Y1 ... Y14")


class FamilyContactShape(SQLModel):
    """A parent or carer named on a concern, as the school knows them."""

    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=50, schema_extra={"examples": ["mother", "father", "carer"]})
    parental_responsibility: bool
    mobile: str | None = Field(default=None, max_length=20, description="E.164")
    email: str | None = Field(default=None, max_length=254)
    preferred_channel: str = Field(max_length=5)
    language: str = Field(default="en", max_length=5)


def row_of(shape: type[SQLModel], source: Any, **more: Any) -> dict[str, Any]:
    """`source` (a model, an ORM object or a mapping with at least the shape's fields) as a plain row of the shape's
    fields, validated and with enums as their values, plus `more` (keys, foreign keys, service columns)."""
    return {**shape.model_validate(source).model_dump(), **more}
