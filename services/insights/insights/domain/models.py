"""Insights' tables: the facts it learned from the stream (ids, dates and codes only: no name, contact or free text)
and the tallies built from them, which the answers read.

Each fact row's contribution to the tallies is a pure function of the row (tally.py): when an event changes a row,
the old contribution is taken away and the new one added. So the figures depend only on the facts, never on the
order in which events arrived, and a rebuild from a replay of the stream gives the same tallies.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, Index
from sqlmodel import Field, SQLModel

from tas_common.db import make_registry
from tas_common.tables import attach_infra

registry = make_registry()
metadata = registry.metadata
attach_infra(metadata)


class Table(SQLModel, registry=registry):
    pass


def _when(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def _day(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Date, nullable=nullable))


class School(Table, table=True):
    """A school of the register (tas.referral.school.updated)."""

    urn: str = Field(primary_key=True, max_length=6)
    la_code: str = Field(index=True, max_length=3)
    phase: str = Field(max_length=20)
    pupils_on_roll: int | None = None
    roll_census_on: date | None = _day()
    updated_at: datetime = _when(nullable=False)


class Service(Table, table=True):
    """A service of the local offer (tas.referral.service.updated): who its practitioners are, and its target."""

    id: str = Field(primary_key=True, max_length=36)
    la_code: str = Field(index=True, max_length=3)
    organisation_id: str = Field(max_length=200)
    organisation_type: str = Field(max_length=20)
    practitioner_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    taxonomy: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    target_wait_days: int
    status: str = Field(max_length=10)
    updated_at: datetime = _when(nullable=False)


class Concern(Table, table=True):
    """A concern a school raised: where, when, about which areas of need; whether it was referred on and when the
    child was first helped (the earliest first contact of its referrals)."""

    id: str = Field(primary_key=True, max_length=36)
    school_urn: str | None = Field(default=None, max_length=6)
    la_code: str | None = Field(default=None, max_length=3)
    raised_at: datetime | None = _when()
    areas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    urgency: str | None = Field(default=None, max_length=20)
    child_id: str | None = Field(default=None, index=True, max_length=36)
    referred_at: datetime | None = _when()
    first_help_at: datetime | None = _when()


class Referral(Table, table=True):
    """A referral's clocks: submitted, decided (how), first contact, closed. `waiting` is true while it waits for
    first contact (submitted or accepted, no contact yet): the referrals waiting now are read by it."""

    __table_args__ = (
        Index("ix_referral_la_waiting", "la_code", "waiting", "submitted_at"),
        Index("ix_referral_school_waiting", "school_urn", "waiting", "submitted_at"),
        Index("ix_referral_service_waiting", "service_id", "waiting", "submitted_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    concern_id: str | None = Field(default=None, index=True, max_length=36)
    child_id: str | None = Field(default=None, index=True, max_length=36)
    service_id: str | None = Field(default=None, max_length=36)
    school_urn: str | None = Field(default=None, max_length=6)
    la_code: str | None = Field(default=None, max_length=3)
    urgency: str | None = Field(default=None, max_length=20)
    target_days: int | None = None
    status: str | None = Field(default=None, max_length=20)
    submitted_at: datetime | None = _when()
    decided_at: datetime | None = _when()
    decision: str | None = Field(default=None, max_length=20)
    first_contact_at: datetime | None = _when()
    closed_at: datetime | None = _when()
    waiting: bool = False


class EhcRequest(Table, table=True):
    """An EHC needs assessment request's dates as they stand (tas.caseload.ehc_request.recorded, newest version)."""

    __tablename__ = "ehc_request"

    id: str = Field(primary_key=True, max_length=36)
    child_id: str = Field(index=True, max_length=36)
    la_code: str | None = Field(default=None, index=True, max_length=3)
    school_urn: str | None = Field(default=None, max_length=6)
    requested_on: date = _day(nullable=False)
    decision: str | None = Field(default=None, max_length=20)
    decision_on: date | None = _day()
    advice_requested_on: date | None = _day()
    advice_received_on: date | None = _day()
    draft_issued_on: date | None = _day()
    final_issued_on: date | None = _day()
    annual_review_on: date | None = _day()
    decision_exception: str | None = Field(default=None, max_length=40)
    final_exception: str | None = Field(default=None, max_length=40)
    version: int = 0


class OutcomeObservation(Table, table=True):
    """An outcome's achievement status recorded at a review, with what is derived from the child's other facts:
    the review cycle (the child's 1st, 2nd, ... review) and the services supporting the child during that cycle."""

    __tablename__ = "outcome_observation"

    review_id: str = Field(primary_key=True, max_length=36)
    outcome_id: str = Field(primary_key=True, max_length=36)
    child_id: str = Field(index=True, max_length=36)
    la_code: str | None = Field(default=None, max_length=3)
    school_urn: str | None = Field(default=None, max_length=6)
    held_at: datetime = _when(nullable=False)
    area: str | None = Field(default=None, max_length=40)
    status: str = Field(max_length=20)
    cycle: int | None = None
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SupportEnd(Table, table=True):
    """Progress after support ends: for a completed referral and an outcome of the child, the outcome's status when
    the service finished and at the first review after."""

    __tablename__ = "support_end"

    referral_id: str = Field(primary_key=True, max_length=36)
    outcome_id: str = Field(primary_key=True, max_length=36)
    child_id: str = Field(index=True, max_length=36)
    service_id: str | None = Field(default=None, max_length=36)
    la_code: str | None = Field(default=None, max_length=3)
    school_urn: str | None = Field(default=None, max_length=6)
    completed_at: datetime = _when(nullable=False)
    area: str | None = Field(default=None, max_length=40)
    status_at_end: str = Field(max_length=20)
    status_after: str | None = Field(default=None, max_length=20)


class Tally(Table, table=True):
    """A count: of `metric`, for a scope (`la`, `school`, `service` and its id), in a month (`YYYY-MM`, UTC), by up to
    two keys (e.g. days waited and whether the target was broken). The answers sum these over a period."""

    metric: str = Field(primary_key=True, max_length=30)
    scope: str = Field(primary_key=True, max_length=10)
    scope_id: str = Field(primary_key=True, max_length=36)
    month: str = Field(primary_key=True, max_length=7)
    k1: str = Field(primary_key=True, max_length=40)
    k2: str = Field(primary_key=True, max_length=40)
    n: int = 0


class Alert(Table, table=True):
    """An alert raised (once): a referral past its service's target, an EHC milestone due within 7 days or overdue.
    Kept through a rebuild: it records what was sent, not what the facts say."""

    key: str = Field(primary_key=True, max_length=120)
    kind: str = Field(max_length=30)
    ref_id: str = Field(max_length=36)
    recipient: str = Field(max_length=60)
    due_on: date | None = _day()
    raised_at: datetime = _when(nullable=False)
    event_id: str = Field(max_length=36)
