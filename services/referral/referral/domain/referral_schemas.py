"""Request and response shapes of referrals: creating one, the receiving service's decisions, what the referrer,
the service and the family see, and the waiting times. Unknown fields are rejected, never dropped."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from tas_common.schemas import Strict
from tas_common.vocab import Urgency

from .concern_schemas import ChildIdentityPublic, FamilyContactPublic


class ReferralStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    declined = "declined"
    redirected = "redirected"
    withdrawn = "withdrawn"
    completed = "completed"


class ReferralCreate(Strict):
    concern_id: str = Field(min_length=1, max_length=36)
    service_ids: list[str] = Field(min_length=1, max_length=10)
    urgency: Urgency | None = Field(default=None, description="Defaults to the concern's urgency")
    note: str | None = Field(default=None, max_length=4000, description="What the school is asking for")

    @field_validator("service_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each service once")
        return value


class AcceptIn(Strict):
    first_contact_at: datetime | None = Field(
        default=None, description="When the service first contacted the family, if it already has"
    )


class ReasonIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class RedirectIn(Strict):
    to_service_id: str = Field(min_length=1, max_length=36)
    reason: str = Field(min_length=1, max_length=2000)


class CompleteIn(Strict):
    outcome: str | None = Field(default=None, max_length=2000)


class FirstContactIn(Strict):
    contacted_at: datetime | None = Field(default=None, description="Defaults to now")


class ReferralConcernPublic(BaseModel):
    """What the receiving service is told about the child and the worry (shared under consent or a lawful
    basis)."""

    child: ChildIdentityPublic
    areas_of_need: list[str]
    summary: str
    already_tried: str | None
    graduated_response: list[dict[str, Any]]
    family_contacts: list[FamilyContactPublic]


class FamilyReferral(BaseModel):
    """A referral as the child's family sees it: the service and where the request stands, no words of anyone's."""

    id: str
    service_id: str
    service_name: str
    organisation_name: str
    service_email: str = Field(description="the service's team inbox from the local offer (not a person's)")
    status: str = Field(description="submitted, accepted, declined, redirected, withdrawn or completed")
    submitted_at: datetime
    decided_at: datetime | None
    first_contact_at: datetime | None
    closed_at: datetime | None
    redirected_from_id: str | None
    redirected_to_id: str | None
    redirected_to_service_name: str | None = Field(description="when redirected: the service it went to")


class FamilyReferralList(BaseModel):
    items: list[FamilyReferral]


class ReferralPublic(BaseModel):
    id: str
    concern_id: str
    child_id: str | None
    service_id: str
    service_name: str
    school_urn: str
    la_code: str | None
    status: str
    urgency: str
    safeguarding: bool
    note: str | None
    consent_status: str
    lawful_basis: str | None
    referred_by_sub: str
    referred_by_name: str
    referred_by_org: str
    redirected_from_id: str | None
    redirected_to_id: str | None
    decision_reason: str | None = Field(description="Why it was declined or redirected; shown to the referrer")
    decided_by_name: str | None
    outcome: str | None
    submitted_at: datetime
    decided_at: datetime | None
    first_contact_at: datetime | None
    closed_at: datetime | None
    days_to_decision: float | None
    days_to_first_contact: float | None
    days_waiting: int | None = Field(
        description="Whole days from the day it was submitted to the day of first contact, or to today while it "
        "waits; null when it closed without first contact"
    )
    target_wait_days: int = Field(description="The service's target from submission to first contact, in days")
    breached: bool = Field(description="It waited (or has waited so far) longer than the service's target")
    concern: ReferralConcernPublic | None = None


class ReferralList(BaseModel):
    items: list[ReferralPublic]


# --- waiting times -------------------------------------------------------------------------------------------


class WaitFigures(BaseModel):
    count: int = Field(description="Referrals measured")
    median_days: float | None
    p90_days: float | None


class WaitingTimes(BaseModel):
    scope: Literal["service", "school"]
    id: str
    name: str | None
    target_wait_days: int | None = Field(
        description="The service's target from submission to first contact; per-referral targets apply for a school"
    )
    referrals: int
    to_decision: WaitFigures
    to_first_contact: WaitFigures
    open_count: int = Field(description="Submitted and undecided, or accepted and not yet contacted")
    awaiting_decision: int
    awaiting_first_contact: int
    breaches: int = Field(description="Waits to first contact over the target, finished or still open")
    open_breaches: int
    as_of: datetime
