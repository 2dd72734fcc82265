"""Payloads referral publishes: a concern raised or updated, and each move of a referral (docs/events.md)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import ConfigDict, Field

from ..identity import ChildIdentity, FamilyContactShape
from .base import Channel, EventPayload


class FamilyContactV1(FamilyContactShape):
    model_config = ConfigDict(extra="ignore", frozen=True)  # type: ignore[assignment]  # SQLModel's own TypedDict
    contact_ref: str
    preferred_channel: Channel


class ConcernRaisedV1(EventPayload):
    subject: ClassVar[str] = "tas.referral.concern.raised"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "insights")
    """Insights keeps only its ids and codes (school, LA, areas of need, urgency), never the child's identity."""
    concern_id: str
    school_urn: str
    la_code: str | None = None
    raised_by_org: str
    child: ChildIdentity
    """The one shape of the child's identity (tas_common.identity): a field added there is carried here. It must
    be optional (with a default), or this payload needs a new version."""
    areas_of_need: list[str] = Field(default_factory=list)
    safeguarding: bool = False
    urgency: str = "routine"
    family_contacts: list[FamilyContactV1] = Field(default_factory=list)
    school_name: str | None = None
    school_phone: str | None = None
    school_email: str | None = None
    """The school's public contact from the schools register (the family is told how to reach the school)."""
    consent_status: str = "not_sought"
    lawful_basis: str | None = None


class ConcernUpdatedV1(EventPayload):
    """A school's MIS re-sent a concern with changed content and referral made a new version of it. Carries the
    changed fields' names and the codes that route it, never the words: `escalated` is true when this version made
    it a safeguarding concern (caseload restricts family contact and marks the child, as for a new one)."""

    subject: ClassVar[str] = "tas.referral.concern.updated"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    concern_id: str
    child_id: str | None = None
    school_urn: str
    la_code: str | None = None
    version: int
    changed_fields: list[str]
    safeguarding: bool = False
    escalated: bool = False
    urgency: str = "routine"
    areas_of_need: list[str] = Field(default_factory=list)
    consent_status: str = "not_sought"
    lawful_basis: str | None = None


class ReferralEventBase(EventPayload):
    referral_id: str
    concern_id: str
    child_id: str | None = None
    service_id: str
    school_urn: str
    safeguarding: bool = False
    service_name: str | None = None
    """The service's name in the local offer (what the family is told: "Speech and Language Therapy ...")."""
    organisation_name: str | None = None
    """The organisation that runs the service."""
    service_contact_email: str | None = None
    """The service's team inbox from the local offer (not a person's address): notify tells it of a new referral,
    and the family sees it as how to contact the service."""


class ReferralSubmittedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.submitted"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights")
    service_org_id: str
    service_org_type: str
    urgency: str = "routine"
    la_code: str | None = None
    """The concern's local authority (optional: added for insights; absent from events made before)."""
    target_wait_days: int | None = None
    """The service's target from submission to first contact when the referral was made (optional, as la_code)."""


class ReferralAcceptedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.accepted"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights", "referral")
    practitioner_sub: str
    practitioner_name: str
    practitioner_org_id: str
    practitioner_org_type: str
    practitioner_role: str | None = None


class ReferralDeclinedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.declined"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights", "referral")
    reason: str


class ReferralRedirectedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.redirected"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights", "referral")
    new_referral_id: str
    to_service_id: str
    reason: str


class ReferralWithdrawnV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.withdrawn"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights")
    reason: str


class ReferralCompletedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.completed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights")
    outcome: str | None = None


class ReferralFirstContactRecordedV1(ReferralEventBase):
    """The receiving service first saw or spoke with the child or family: the waiting clock stops. `first_contact_at`
    is when that happened (recorded afterwards, so not the event's time)."""

    subject: ClassVar[str] = "tas.referral.referral.first_contact_recorded"
    consumers: ClassVar[tuple[str, ...]] = ("insights",)
    first_contact_at: datetime
