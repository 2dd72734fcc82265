"""Caseload's tables: the child's record, family members, the team around the child, the plan and its versions,
reviews, statutory (EHC) clocks and the chronology."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Index, Integer, String, UniqueConstraint, false, func
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


class Child(Table, ChildIdentity, table=True):
    """The child's record: the child's identity (the shared shape's columns), school and LA, and flags."""

    __table_args__ = (
        UniqueConstraint("upn"),
        Index(None, "nhs_number"),
        # a school's or an LA's children by name: the caseload list pages along these (keyset), and they serve
        # every lookup by school or LA alone
        Index("ix_child_school_urn_name", "school_urn", "family_name", "given_name", "id"),
        Index("ix_child_la_code_name", "la_code", "family_name", "given_name", "id"),
        # finding a child on one's caseload by name, accents and case aside (domain/search.py): prefix ranges
        # a concern's child by name and date of birth (domain/child_matching.py: a possible duplicate)
        Index("ix_child_identity", "date_of_birth", "family_name", "given_name"),
        Index("ix_child_school_urn_family_key", "school_urn", "family_name_key"),
        Index("ix_child_school_urn_given_key", "school_urn", "given_name_key"),
        Index("ix_child_la_code_family_key", "la_code", "family_name_key"),
        Index("ix_child_la_code_given_key", "la_code", "given_name_key"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    school_urn: str = Field(max_length=6)
    la_code: str | None = Field(default=None, max_length=3)
    possible_duplicate_of: str | None = Field(default=None, max_length=36)
    given_name_key: str = Field(
        default="", sa_column=Column(String(100), nullable=False, server_default=""), description="folded, for search"
    )
    family_name_key: str = Field(
        default="", sa_column=Column(String(100), nullable=False, server_default=""), description="folded, for search"
    )
    safeguarding: bool = Field(default=False, description="a safeguarding concern has been raised about the child")
    family_contact_restricted: bool = Field(
        default=False,
        sa_column_kwargs={"server_default": false()},
        description="no message and no sign-in code goes to the family for this child (set when a safeguarding "
        "concern is raised; the DSL or the LA's front door lifts it with a reason)",
    )
    merged_into: str | None = Field(default=None, max_length=36, description="survivor, once merged as a duplicate")
    merged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class FamilyMember(Table, FamilyContactShape, table=True):
    """A parent or carer. Caseload owns who they are and their addresses; their preferred channel, language,
    opt-out and reachability are a replica of notify's, which owns them (tas.notify.contact.preferences_changed):
    the school's intake seeds them, the family changes them in notify."""

    __tablename__ = "family_member"
    __table_args__ = (
        # a family signing in gives an email address or a mobile number: the members it reaches
        Index("ix_family_member_mobile", "mobile"),
        Index("ix_family_member_email_lower", func.lower(Column("email"))),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", index=True, max_length=36)
    opted_out: bool = False
    suppressed: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, default=list, server_default="[]")
    )
    """Channels notify cannot use for them and why: [{"channel": "sms", "reason": "sms-stop"}, ...]."""
    reachable: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True, server_default="1"))
    """False when notify has no channel left for them (opted out, or every address stopped, bounced or missing)."""
    preferences_version: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, default=0, server_default="0")
    )
    """The `version` of the last preferences_changed applied: an older one is ignored."""


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
    org_id: str | None = Field(default=None, max_length=100, description="the authoring organisation")
    org_type: str | None = Field(default=None, max_length=20)


class TeamMember(Table, table=True):
    """One practitioner on the team around the child; `left_at` set when they leave (their access ends)."""

    __tablename__ = "team_member"
    __table_args__ = (
        Index("ix_team_member_child_sub", "child_id", "sub", "org_id"),
        Index("ix_team_member_sub_org", "sub", "org_id"),
    )  # a practitioner's caseload

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", max_length=36)
    sub: str = Field(max_length=200)
    name: str = Field(max_length=200)
    org_id: str = Field(max_length=100)
    org_type: str = Field(max_length=20)
    role: str | None = Field(default=None, max_length=100)
    referral_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """The open referrals that keep this member on the team; empty for a member the SENCO added by hand."""
    lead: bool = False
    service_name: str | None = Field(default=None, max_length=200, description="the service that brought them")
    contact_email: str | None = Field(default=None, max_length=254, description="the service's team inbox")
    shared_phone: str | None = Field(default=None, max_length=30, description="a work number they chose to share")
    shared_email: str | None = Field(default=None, max_length=254, description="a work address they chose to share")
    added_by: str = Field(max_length=200)
    joined_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    left_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Plan(Table, table=True):
    """The one co-produced plan per child. `content` is the working copy (sections of items, each with its
    sensitivity and author); `revision` is its ETag; `pending_changes` what changed since the last version."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", unique=True, max_length=36)
    status: str = Field(default="draft", max_length=20)
    revision: int = 1
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pending_changes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    published_version: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class PlanVersion(Table, table=True):
    """An immutable published version of the plan."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_plan_version_plan_id_number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    plan_id: str = Field(foreign_key="plan.id", index=True, max_length=36)
    number: int
    status: str = Field(max_length=20)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    changes: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    changed_sections: list[str] = Field(sa_column=Column(JSON, nullable=False))
    published_by: str = Field(max_length=200)
    published_by_org: str = Field(max_length=100)
    published_by_org_type: str = Field(max_length=20)
    published_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Review(Table, table=True):
    __table_args__ = (Index("ix_review_status_scheduled_for", "status", "scheduled_for"),)  # reviews coming up

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", index=True, max_length=36)
    scheduled_for: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    place: str = Field(max_length=200)
    attendees: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="scheduled", max_length=20)
    created_by: str = Field(max_length=200)
    created_by_org: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    held_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class EhcRequest(Table, table=True):
    """An EHC needs assessment request and the dates of its statutory milestones (the clock is computed)."""

    __tablename__ = "ehc_request"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", index=True, max_length=36)
    la_code: str | None = Field(default=None, index=True, max_length=3)
    requested_on: date = Field(sa_column=Column(Date, nullable=False))
    decision: str | None = Field(default=None, max_length=20)
    decision_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    advice_requested_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    advice_received_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    draft_issued_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    final_issued_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    annual_review_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    decision_exception: str | None = Field(default=None, max_length=40)
    """vocab.EhcException: why the 6-week decision's time limit did not apply, if it did not (SEN2 counts apart)."""
    final_exception: str | None = Field(default=None, max_length=40)
    """vocab.EhcException: why the 20-week time limit did not apply, if it did not."""
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0, server_default="0"))
    """Grows with every change; tas.caseload.ehc_request.recorded carries it (a consumer keeps the newest)."""
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Consent(Table, table=True):
    """The consent (or lawful basis) to share the child's information with one type of agency. Append-only: each
    change is a new row, the newest row per agency type is the current position (withdrawal is a row too)."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", index=True, max_length=36)
    agency_type: str = Field(max_length=20)
    status: str = Field(max_length=20)
    lawful_basis: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=1000)
    recorded_by: str = Field(max_length=200)
    recorded_by_org: str = Field(max_length=200)
    recorded_by_org_type: str = Field(max_length=20)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class BreakGlass(Table, table=True):
    """A time-limited, audited grant to read a child's record outside one's relationships, with the reason given;
    flagged for review by the school's DSL and the LA until someone reviews it."""

    __tablename__ = "break_glass"
    __table_args__ = (Index("ix_break_glass_child_sub", "child_id", "sub", "org_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", max_length=36)
    sub: str = Field(max_length=200)
    name: str = Field(default="", max_length=200)
    org_id: str = Field(max_length=200)
    org_type: str = Field(max_length=20)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    kind: str = Field(default="grant", sa_column=Column(String(10), nullable=False, server_default="grant"))
    """`grant` (read-only access until `expires_at`) or `discovery` (a UPN search told the caller that the child
    exists; no access: `expires_at` = `granted_at`)."""
    reason: str = Field(max_length=1000)
    granted_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_note: str | None = Field(default=None, max_length=1000)


class FamilyContactRestriction(Table, table=True):
    """Each time the child's "family contact restricted" flag was set or lifted: by whom, why (append-only)."""

    __tablename__ = "family_contact_restriction"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", index=True, max_length=36)
    restricted: bool
    reason: str = Field(max_length=1000)
    source: str = Field(max_length=30, description="safeguarding_concern (set by the system) or practitioner")
    by_sub: str = Field(max_length=200)
    by_org: str = Field(max_length=200)
    by_org_type: str = Field(max_length=20)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class SignInChallenge(Table, table=True):
    """A one-time code asked for with an email address or mobile number. Nothing here names the contact: its
    key is an HMAC (`TAS_SIGNIN_PEPPER`), the code is kept only as an HMAC, and the contact and the code sealed
    for the dispatcher and for notify are cleared as soon as the code is handed to the outbox."""

    __tablename__ = "signin_challenge"
    __table_args__ = (
        Index("ix_signin_challenge_contact", "contact_key", "created_at"),
        Index("ix_signin_challenge_dispatch", "dispatched_at", "expires_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    contact_key: str = Field(max_length=64)
    channel: str = Field(max_length=5)
    code_hash: str = Field(max_length=64)
    sealed_contact: str | None = Field(default=None, max_length=600)
    sealed_code: str | None = Field(default=None, max_length=200)
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    dispatched_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class SignInThrottle(Table, table=True):
    """A fixed-window counter per contact or client address (both as HMACs), shared by every replica."""

    __tablename__ = "signin_throttle"

    key: str = Field(primary_key=True, max_length=80)
    window_started: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    count: int = 0


class PlanComment(Table, table=True):
    """A comment by the family on a need, outcome or provision of a plan version shared for comment, or a reply in
    its thread (`in_reply_to`: the comment that starts it). Kept with the version it was made on."""

    __tablename__ = "plan_comment"
    __table_args__ = (Index("ix_plan_comment_child_version", "child_id", "version", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str = Field(foreign_key="child.id", max_length=36)
    plan_id: str = Field(foreign_key="plan.id", max_length=36)
    version: int
    section: str = Field(max_length=20)
    item_id: str = Field(max_length=36)
    in_reply_to: str | None = Field(default=None, max_length=36)
    text: str = Field(max_length=2000)
    author_sub: str = Field(max_length=200)
    author_org_id: str = Field(max_length=200)
    author_org_type: str = Field(max_length=20)
    author_member_id: str | None = Field(default=None, max_length=36, description="a family member's own record")
    author_name: str = Field(default="", max_length=200)
    author_role: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Organisation(Table, table=True):
    """The organisations caseload has heard of (schools from concerns, services from referrals), by the `org_id`
    their people's tokens carry: their names and public contact, for the family's view of the team and of who
    looked at the record. Never a person's details."""

    id: str = Field(primary_key=True, max_length=200)
    name: str = Field(max_length=200)
    org_type: str = Field(max_length=20)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class School(Table, table=True):
    """The schools caseload has heard of (from concerns): name and the office's public contact, so that the family
    is told how to contact the school."""

    urn: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
