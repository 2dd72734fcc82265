"""Referral's tables: the schools register, concerns raised by schools and the family contacts they name, the
local offer (services) and referrals with their workflow clocks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from tas_common.db import make_registry, utcnow
from tas_common.db import new_id as new_id  # the service's modules take it from here
from tas_common.identity import ChildIdentity, FamilyContactShape
from tas_common.tables import attach_infra

registry = make_registry()
metadata = registry.metadata
attach_infra(metadata)


class Table(SQLModel, registry=registry):
    pass


class Concern(Table, ChildIdentity, table=True):
    """A concern about a child: the child's identity (the shared shape's columns) and the worry."""

    __table_args__ = (UniqueConstraint("mis_client", "mis_record_id"), Index(None, "upn"))

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    school_urn: str = Field(index=True, max_length=6)
    la_code: str | None = Field(default=None, max_length=3)
    raised_by_sub: str = Field(max_length=200)
    raised_by_org: str = Field(max_length=200)
    source: str = Field(default="staff", max_length=10)
    mis_client: str | None = Field(default=None, max_length=200)
    mis_record_id: str | None = Field(default=None, max_length=100)
    areas_of_need: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    safeguarding: bool = False
    urgency: str = Field(default="routine", max_length=20)
    summary: str = Field(max_length=4000)
    already_tried: str | None = Field(default=None, max_length=4000)
    graduated_response: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    consent_status: str = Field(default="not_sought", max_length=20)
    lawful_basis: str | None = Field(default=None, max_length=200)
    child_id: str | None = Field(default=None, index=True, max_length=36)
    family_member_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    """Caseload's ids of the family members this concern named (concern_linked): who may read the child's
    referrals as its family."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    """1 when raised; each change a school's MIS re-sends makes a new version (`concern_version` keeps the old)."""
    mis_fields: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    """A concern pushed by an MIS: a digest per field of what the MIS sent last (field name → SHA-256), so that a
    re-send is compared with what the MIS said before, not with what the school recorded since."""
    updated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ConcernVersion(Table, table=True):
    """A concern as it was before a re-send from the school's MIS changed it: the fields that changed (by name)
    and their values before, who changed them and when. The concern row is always the newest version."""

    __tablename__ = "concern_version"
    __table_args__ = (UniqueConstraint("concern_id", "version"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    concern_id: str = Field(foreign_key="concern.id", index=True, max_length=36)
    version: int
    """The version this change made (the concern's `version` after it)."""
    changed_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    previous: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """The changed fields' values in the version before."""
    by_sub: str = Field(max_length=200)
    by_org: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class FamilyContact(Table, FamilyContactShape, table=True):
    __tablename__ = "family_contact"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    concern_id: str = Field(foreign_key="concern.id", index=True, max_length=36)


class School(Table, table=True):
    """The (fictional) register of schools: URN → name, local authority and the office's public phone and email
    (families are told how to contact the school). Seeded by data migrations."""

    urn: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=200)
    la_code: str = Field(index=True, max_length=3)
    phase: str = Field(default="primary", max_length=20)
    pupils_on_roll: int | None = Field(default=None, ge=0, description="number on roll at the January census")
    roll_census_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    senco_email: str | None = Field(default=None, max_length=254)
    """The SENCO's work inbox (a role's address, not shown to families): insights' alerts about the school's
    referrals go there."""


class LocalAuthority(Table, table=True):
    """A local authority of the directory: its name and its SEND team's inbox (insights' alerts about EHC
    milestones go there). Seeded by data migrations."""

    __tablename__ = "local_authority"

    la_code: str = Field(primary_key=True, max_length=3)
    name: str = Field(max_length=200)
    send_team_email: str | None = Field(default=None, max_length=254)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Service(Table, table=True):
    """A service of the local offer (Open Referral UK's `service` with its `organization` folded in)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    organisation_id: str = Field(index=True, max_length=200)
    organisation_name: str = Field(max_length=200)
    organisation_type: str = Field(max_length=20)
    la_code: str = Field(index=True, max_length=3)
    taxonomy: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    areas_of_need: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    minimum_age: int = 0
    maximum_age: int = 25
    eligibility_description: str | None = Field(default=None, max_length=2000)
    how_to_refer: str = Field(default="", max_length=2000)
    email: str = Field(max_length=254)
    target_wait_days: int = 126
    current_wait_days: int | None = None
    status: str = Field(default="active", max_length=10)
    practitioner_roles: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    """Token roles that make a practitioner of the service's organisation one of this service's practitioners."""
    oruk_id: str = Field(default_factory=new_id, unique=True, max_length=36)
    """The UUID the Open Referral UK feed publishes for the service (its `id` here is a readable code)."""
    url: str | None = Field(default=None, max_length=500)
    """The service's own web page, if it has one."""
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Organisation(Table, table=True):
    """An organisation that runs services of the local offer (Open Referral UK's `organization`). Its `id` is the
    `organisation_id` of its services and of its practitioners' tokens (`org_id`); `oruk_id` is the UUID the
    Open Referral UK feed publishes."""

    id: str = Field(primary_key=True, max_length=200)
    oruk_id: str = Field(default_factory=new_id, unique=True, max_length=36)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    organisation_type: str = Field(max_length=20)
    email: str | None = Field(default=None, max_length=254)
    website: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Location(Table, table=True):
    """A place where services are delivered (a clinic, a family hub, a school base); several services may share
    one. Addresses and coordinates are fictional."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    la_code: str = Field(index=True, max_length=3)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    address_1: str = Field(max_length=200)
    city: str = Field(max_length=100)
    county: str = Field(default="", max_length=100)
    postcode: str = Field(max_length=8)
    country: str = Field(default="GB", max_length=2)
    latitude: float | None = None
    longitude: float | None = None
    accessibility: str | None = Field(default=None, max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class ServiceAtLocation(Table, table=True):
    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    location_id: str = Field(foreign_key="location.id", index=True, max_length=36)


class ServiceContact(Table, table=True):
    """A way to reach a service: a team or a role (never a practitioner's own number), with its phone and inbox."""

    __tablename__ = "service_contact"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    position: int = 0
    name: str = Field(max_length=200)
    title: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)


class ServiceSchedule(Table, table=True):
    """When a service is open, as an RFC 5545 weekly or monthly rule in UK local time (at one of its locations, or
    for the service as a whole when `service_at_location_id` is empty)."""

    __tablename__ = "service_schedule"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    service_at_location_id: str | None = Field(default=None, foreign_key="service_at_location.id", max_length=36)
    position: int = 0
    freq: str = Field(default="WEEKLY", max_length=10)
    interval: int | None = None
    byday: str = Field(default="MO,TU,WE,TH,FR", max_length=40)
    bymonthday: str | None = Field(default=None, max_length=40)
    opens_at: str = Field(max_length=5)
    closes_at: str = Field(max_length=5)
    description: str = Field(default="", max_length=500)
    attending_type: str | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=500)


class ServiceCostOption(Table, table=True):
    __tablename__ = "service_cost_option"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    position: int = 0
    option: str = Field(max_length=200)
    amount: float = 0.0
    amount_description: str | None = Field(default=None, max_length=200)


class ServiceArea(Table, table=True):
    """Where a service is available: named, described, and the postcode districts it covers (how a postcode
    search finds it)."""

    __tablename__ = "service_area"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)
    postcode_districts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class PostcodeDistrict(Table, table=True):
    """The (fictional) gazetteer of the postcode districts the local offer covers: the centre of each, so that a
    postcode can be placed for a distance search without asking an outside service."""

    __tablename__ = "postcode_district"

    district: str = Field(primary_key=True, max_length=4)
    la_code: str = Field(index=True, max_length=3)
    name: str = Field(max_length=100)
    latitude: float
    longitude: float


class ServiceMember(Table, table=True):
    """An explicit member of a service's team, recorded in the directory by the LA's offer administrators: the
    practitioner (token `sub` + `org_id`) sees and decides the service's referrals whatever their role."""

    __tablename__ = "service_member"
    __table_args__ = (UniqueConstraint("service_id", "sub", "org_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    sub: str = Field(max_length=200)
    org_id: str = Field(index=True, max_length=200)
    name: str = Field(default="", max_length=200)
    added_by: str = Field(max_length=200)
    added_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Referral(Table, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    concern_id: str = Field(foreign_key="concern.id", index=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=36)
    school_urn: str = Field(index=True, max_length=6)
    la_code: str | None = Field(default=None, max_length=3)
    status: str = Field(default="submitted", index=True, max_length=12)
    urgency: str = Field(default="routine", max_length=20)
    safeguarding: bool = False
    note: str | None = Field(default=None, max_length=4000)
    consent_status: str = Field(max_length=20)
    lawful_basis: str | None = Field(default=None, max_length=40)
    referred_by_sub: str = Field(max_length=200)
    referred_by_name: str = Field(default="", max_length=200)
    referred_by_org: str = Field(max_length=200)
    redirected_from_id: str | None = Field(default=None, max_length=36)
    redirected_to_id: str | None = Field(default=None, max_length=36)
    decision_reason: str | None = Field(default=None, max_length=2000)
    decided_by_sub: str | None = Field(default=None, max_length=200)
    decided_by_name: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, max_length=2000)
    submitted_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    first_contact_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ChildConsent(Table, table=True):
    """Caseload's current consent position per child and agency type (from `tas.caseload.consent.changed`)."""

    __tablename__ = "child_consent"

    child_id: str = Field(primary_key=True, max_length=36)
    agency_type: str = Field(primary_key=True, max_length=20)
    status: str = Field(max_length=20)
    lawful_basis: str | None = Field(default=None, max_length=40)
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ConsentOverride(Table, table=True):
    """Sharing a concern with one type of agency without (or against) consent, on a lawful basis, by a DSL or the
    LA's SEND officer with a reason; flagged for review until someone reviews it."""

    __tablename__ = "consent_override"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    concern_id: str = Field(foreign_key="concern.id", index=True, max_length=36)
    school_urn: str = Field(index=True, max_length=6)
    la_code: str | None = Field(default=None, index=True, max_length=3)
    child_id: str | None = Field(default=None, max_length=36)
    agency_type: str = Field(max_length=20)
    lawful_basis: str = Field(max_length=40)
    reason: str = Field(max_length=1000)
    by_sub: str = Field(max_length=200)
    by_org: str = Field(max_length=200)
    by_org_type: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_note: str | None = Field(default=None, max_length=1000)


from . import models_mis as _mis_tables  # noqa: E402,F401  (the MIS tables join this metadata)
