"""Bodies and answers of who may see the child's record: consent, break-glass, the access log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# --- consent, break-glass, access log ------------------------------------------------------------------------------

AgencyType = Literal["health", "social_care", "local_authority", "voluntary", "school"]
"""Who the child's information is shared with: the organisation type of the receiving service (another school's
service, e.g. a special school's outreach, is `school`)."""
LawfulBasisName = Literal["safeguarding", "legal_obligation", "vital_interests", "public_task"]


class ConsentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_type: AgencyType
    status: Literal["given", "refused", "withdrawn"]
    lawful_basis: LawfulBasisName | None = Field(
        default=None, description="a basis for sharing without consent (practitioners only)"
    )
    note: str | None = Field(default=None, max_length=1000)


class ConsentPublic(BaseModel):
    agency_type: str
    status: str
    lawful_basis: str | None
    note: str | None
    recorded_by_org: str
    recorded_by_org_type: str
    recorded_at: datetime


class ConsentRecord(BaseModel):
    child_id: str
    current: list[ConsentPublic] = Field(description="the newest position per agency type")
    history: list[ConsentPublic] = Field(description="every change, newest first")


class BreakGlassRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=10, max_length=1000, description="why you need this child's record now (shown to the reviewers)"
    )


class BreakGlassReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=1000)


class BreakGlassPublic(BaseModel):
    id: str
    child_id: str
    sub: str
    name: str
    org_id: str
    org_type: str
    roles: list[str]
    kind: Literal["grant", "discovery"] = Field(
        description="`grant`: read-only access until `expires_at`; `discovery`: a UPN search told the caller that "
        "the child exists (no access: it expires as it is made)"
    )
    reason: str
    granted_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


class AccessLogEntry(BaseModel):
    at: datetime
    action: str
    resource_type: str
    actor: str | None = Field(description="the person (not shown to the family)")
    actor_org: str | None = Field(description="the organisation's id (not shown to the family: it sees the name)")
    actor_org_type: str
    organisation_name: str = Field(
        description="the organisation's name as caseload knows it, else what kind of organisation it is "
        "(`A health service`, `The local authority`); `You` / `Your family` for the family's own visits"
    )
    role: str | None = Field(
        description="the person's role in plain words (their role on the team, else their kind of work: "
        "`School staff`); never their name"
    )
    summary: str = Field(description="what happened, in plain English (`Looked at the plan`)")
    break_glass: bool
    reason: str | None = Field(description="not shown to the family")
