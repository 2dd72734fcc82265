"""Request and response shapes of referral's API. Unknown fields are rejected, never dropped."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from tas_common.identifiers import (
    is_valid_email,
    is_valid_nhs_number,
    is_valid_upn,
    is_valid_urn,
    normalise_nhs_number,
    normalise_uk_mobile,
    year_group_fits,
    year_group_of,
)
from tas_common.identity import ChildIdentity, FamilyContactShape
from tas_common.schemas import Strict, strict_config
from tas_common.vocab import AreaOfNeed, Channel, ConsentStatus, Language, Urgency

from .directory_schemas import (
    ContactPublic,
    ContactWrite,
    CostOptionPublic,
    CostOptionWrite,
    CurrentWait,
    LocationPublic,
    LocationWrite,
    SchedulePublic,
    ScheduleWrite,
    ServiceAreaPublic,
    ServiceAreaWrite,
)
from .oruk_schemas import PageEnvelope


class LawfulBasis(StrEnum):
    """The recorded basis for sharing without consent (UK GDPR art. 6 with the information-sharing guidance)."""

    safeguarding = "safeguarding"
    """A child is or may be at risk of significant harm (Children Act 1989 s.47 / s.17)."""
    legal_obligation = "legal_obligation"
    vital_interests = "vital_interests"
    public_task = "public_task"


class OrganisationType(StrEnum):
    health = "health"
    local_authority = "local_authority"
    social_care = "social_care"
    school = "school"
    voluntary = "voluntary"


class ReferralStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    declined = "declined"
    redirected = "redirected"
    withdrawn = "withdrawn"
    completed = "completed"


_YEAR_GROUP_RE = re.compile(r"^(N1|N2|R|Y([1-9]|1[0-4]))$")


class ChildIdentityIn(ChildIdentity, Strict):
    """The child's identity as a school sends it: the shared shape (tas_common.identity) with its checks."""

    model_config = strict_config(ChildIdentity.model_config)

    @field_validator("year_group")
    @classmethod
    def _year_group(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not _YEAR_GROUP_RE.match(value.upper()):
            raise ValueError("a year group is N1, N2, R or Y1 to Y14")
        born = info.data.get("date_of_birth")  # validated before it (field order); absent when it was invalid
        if born is not None and not year_group_fits(value.upper(), born, date.today()):
            expected = year_group_of(born, date.today()) or "outside N1 to Y14"
            raise ValueError(
                f"{value.upper()} does not fit the date of birth: by age the child is in {expected} this school year "
                "(one year either side is accepted)"
            )
        return value.upper()

    @field_validator("upn", mode="before")
    @classmethod
    def _upn(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the type check names it
        value = value.strip().upper()
        if not is_valid_upn(value):
            raise ValueError("not a valid UPN: 13 characters with a correct check letter")
        return value

    @field_validator("nhs_number", mode="before")
    @classmethod
    def _nhs(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not is_valid_nhs_number(value.strip()):
            raise ValueError("not a valid NHS number: 10 digits with a correct check digit")
        return normalise_nhs_number(value.strip())

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: date) -> date:
        if value > date.today() or value.year < date.today().year - 26:
            raise ValueError("date of birth must be in the past and within 25 years (SEND covers 0-25)")
        return value


class FamilyContactIn(FamilyContactShape, Strict):
    model_config = strict_config(FamilyContactShape.model_config)

    mobile: str | None = Field(default=None, description="A UK mobile in any usual format; stored as E.164")
    preferred_channel: Channel
    language: Language = Language.en

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else normalise_uk_mobile(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_email(value):
            raise ValueError("not a valid email address")
        return value

    @model_validator(mode="after")
    def _channel_has_address(self) -> FamilyContactIn:
        if self.preferred_channel == Channel.sms and not self.mobile:
            raise ValueError("preferred channel sms needs a mobile number")
        if self.preferred_channel == Channel.email and not self.email:
            raise ValueError("preferred channel email needs an email address")
        return self


class GraduatedResponseStep(Strict):
    """One round of assess-plan-do-review the school has already run."""

    action: str = Field(min_length=1, max_length=1000, examples=["Small-group language support, 3x20 min a week"])
    started: date | None = None
    ended: date | None = None
    outcome: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _order(self) -> GraduatedResponseStep:
        if self.started and self.ended and self.ended < self.started:
            raise ValueError("ended is before started")
        return self


class ConcernCreate(Strict):
    school_urn: str
    child: ChildIdentityIn
    areas_of_need: list[AreaOfNeed] = Field(default_factory=list)
    safeguarding: bool = Field(
        default=False,
        description="A safeguarding worry: routed to the DSL and the LA's "
        "front door at once; the family is never notified",
    )
    summary: str = Field(min_length=1, max_length=4000)
    urgency: Urgency = Urgency.routine
    already_tried: str | None = Field(
        default=None, max_length=4000, description="What the school has tried (the graduated response), in brief"
    )
    graduated_response: list[GraduatedResponseStep] = Field(default_factory=list, max_length=20)
    family_contacts: list[FamilyContactIn] = Field(default_factory=list, max_length=6)
    consent_status: ConsentStatus = ConsentStatus.not_sought
    lawful_basis: LawfulBasis | None = Field(
        default=None, description="Required to share beyond the school without consent"
    )

    @field_validator("school_urn")
    @classmethod
    def _urn(cls, value: str) -> str:
        if not is_valid_urn(value):
            raise ValueError("a school URN is 6 digits")
        return value

    @field_validator("areas_of_need")
    @classmethod
    def _unique_areas(cls, value: list[AreaOfNeed]) -> list[AreaOfNeed]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consent_position(self) -> ConcernCreate:
        if self.consent_status == ConsentStatus.given and self.lawful_basis is not None:
            raise ValueError("lawful_basis is for sharing without consent; consent_status is given")
        return self


class ConsentUpdate(Strict):
    """The consent position recorded after the concern was raised (e.g. the family agreed at a meeting)."""

    consent_status: ConsentStatus
    lawful_basis: LawfulBasis | None = None

    @model_validator(mode="after")
    def _consent_position(self) -> ConsentUpdate:
        if self.consent_status == ConsentStatus.given and self.lawful_basis is not None:
            raise ValueError("lawful_basis is for sharing without consent; consent_status is given")
        return self


class MisConcernIn(ConcernCreate):
    """One item of an MIS push: a concern plus the MIS's own record id (re-sending it creates nothing twice)."""

    mis_record_id: str = Field(min_length=1, max_length=100)


class FamilyContactPublic(FamilyContactShape):
    id: str


class ChildIdentityPublic(ChildIdentity):
    """The child's identity (the shared shape, tas_common.identity)."""


class ConcernPublic(BaseModel):
    id: str
    school_urn: str
    source: str
    child: ChildIdentityPublic
    child_id: str | None
    areas_of_need: list[str]
    safeguarding: bool
    summary: str
    urgency: str
    already_tried: str | None
    graduated_response: list[dict[str, Any]] = []
    family_contacts: list[FamilyContactPublic]
    consent_status: str
    lawful_basis: str | None
    la_code: str | None = None
    school_name: str | None = None
    routed_to: list[str] = Field(
        default=[],
        description="Where the concern went at once: `dsl` and the front door referral for a safeguarding concern",
    )
    front_door_referral_id: str | None = None
    mis_record_id: str | None = None
    created_at: datetime
    version: int = Field(default=1, description="1 when raised; each change an MIS re-send made adds one")
    updated_at: datetime | None = None


# --- MIS push -----------------------------------------------------------------------------------------------


class MisItemResult(BaseModel):
    index: int
    mis_record_id: str | None
    status: Literal["created", "duplicate", "updated", "conflict", "invalid"] = Field(
        description="`created`; `duplicate` (the record id was sent before with the same content); `updated` (sent "
        "before with changed content: a new version of the concern); `conflict` (the re-send would change whose "
        "concern it is, its family contacts, or stand down safeguarding: those fields, in `conflicts`, were not "
        "applied; any others, in `changed`, were); `invalid` (see `errors`)"
    )
    concern_id: str | None = None
    version: int | None = Field(default=None, description="The concern's version after this item")
    changed: list[str] | None = Field(
        default=None, description="`updated`/`conflict`: the fields this re-send changed (names, never values)"
    )
    conflicts: list[str] | None = Field(
        default=None, description="`conflict`: the fields that differ but a re-send may not change (names only)"
    )
    errors: list[dict[str, str]] | None = None


class MisPushResult(BaseModel):
    created: int
    duplicates: int
    updated: int = 0
    conflicts: int = 0
    invalid: int
    results: list[MisItemResult]


# --- the local offer (Open Referral UK shapes) ---------------------------------------------------------------


class OrganizationPublic(BaseModel):
    id: str
    name: str
    organization_type: str
    description: str = ""
    email: str | None = None
    website: str | None = None


class TaxonomyTermPublic(BaseModel):
    id: str
    term: str
    vocabulary: str = "tas-local-offer"


class ServicePublic(BaseModel):
    """An Open Referral UK `service` with its `organization`, eligibility and taxonomy terms inlined."""

    id: str
    name: str
    description: str
    email: str
    status: str
    organization: OrganizationPublic
    la_code: str
    taxonomy_terms: list[TaxonomyTermPublic]
    areas_of_need: list[str]
    minimum_age: int
    maximum_age: int
    eligibility_description: str | None
    application_process: str = Field(description="How to refer")
    url: str | None = Field(description="The service's own web page, if it has one")
    target_wait_days: int
    current_wait_days: int | None = Field(
        description="The wait shown (`waiting.days`): the median of 5 or more recent referrals, else the service's "
        "own estimate; never a figure computed from 1 to 4 referrals"
    )
    wait_time: str | None = Field(description="The current wait in words (`waiting.text`)")
    waiting: CurrentWait
    locations: list[LocationPublic]
    contacts: list[ContactPublic]
    schedules: list[SchedulePublic]
    cost_options: list[CostOptionPublic]
    service_areas: list[ServiceAreaPublic]
    oruk_id: str = Field(description="The service's id in the Open Referral UK feed (/oruk/services/{oruk_id})")
    practitioner_roles: list[str] = Field(
        description="Token roles whose holders in the service's organisation are its practitioners: they (and the "
        "members the directory records) see and decide the referrals sent to it"
    )
    version: int
    updated_at: datetime


class ServicePage(PageEnvelope):
    """Open Referral UK's page envelope."""

    contents: list[ServicePublic]


_TAXONOMY_RE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


class ServiceWrite(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    organisation_id: str = Field(min_length=1, max_length=200)
    organisation_name: str = Field(min_length=1, max_length=200)
    organisation_type: OrganisationType
    taxonomy: list[str] = Field(min_length=1, max_length=10)
    areas_of_need: list[AreaOfNeed] = Field(default_factory=list)
    minimum_age: int = Field(default=0, ge=0, le=25)
    maximum_age: int = Field(default=25, ge=0, le=25)
    eligibility_description: str | None = Field(default=None, max_length=2000)
    how_to_refer: str = Field(default="", max_length=2000)
    email: str = Field(max_length=254, description="The team inbox (not a person's address)")
    target_wait_days: int = Field(ge=1, le=730)
    current_wait_days: int | None = Field(default=None, ge=0, le=3650)
    status: Literal["active", "inactive"] = "active"
    practitioner_roles: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Token roles whose holders in the service's organisation are its practitioners (e.g. `slt`); "
        "others of the organisation see its referrals only as members recorded under /members",
    )
    url: str | None = Field(default=None, max_length=500, pattern=r"^https://", description="Its own web page")
    organisation_description: str | None = Field(
        default=None, max_length=2000, description="What the organisation is (kept when left out)"
    )
    organisation_email: str | None = Field(default=None, max_length=254)
    organisation_website: str | None = Field(default=None, max_length=500, pattern=r"^https://")
    locations: list[LocationWrite] | None = Field(
        default=None, max_length=20, description="Where it is delivered; left out: kept as they are"
    )
    contacts: list[ContactWrite] | None = Field(default=None, max_length=20, description="Left out: kept")
    schedules: list[ScheduleWrite] | None = Field(default=None, max_length=50, description="Left out: kept")
    cost_options: list[CostOptionWrite] | None = Field(default=None, max_length=20, description="Left out: kept")
    service_areas: list[ServiceAreaWrite] | None = Field(default=None, max_length=20, description="Left out: kept")

    @field_validator("taxonomy", "practitioner_roles")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for term in value:
            if not _TAXONOMY_RE.match(term):
                raise ValueError("taxonomy terms and roles are lower_snake_case codes")
        return list(dict.fromkeys(value))

    @field_validator("email", "organisation_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_email(value):
            raise ValueError("not a valid email address")
        return value

    @model_validator(mode="after")
    def _ages(self) -> ServiceWrite:
        if self.minimum_age > self.maximum_age:
            raise ValueError("minimum_age is above maximum_age")
        return self


class ServiceMemberCreate(Strict):
    sub: str = Field(
        min_length=1, max_length=200, description="the practitioner's `sub` in their organisation's tokens"
    )
    org_id: str = Field(min_length=1, max_length=200, description="their organisation (token `org_id`)")
    name: str = Field(default="", max_length=200)


class ServiceMemberPublic(BaseModel):
    id: str
    service_id: str
    sub: str
    org_id: str
    name: str
    added_by: str
    added_at: datetime


# --- referrals ----------------------------------------------------------------------------------------------


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


# --- consent overrides ---------------------------------------------------------------------------------------------

AgencyType = Literal["health", "social_care", "local_authority", "voluntary", "school"]


class ConsentOverrideCreate(Strict):
    """Share the concern with one type of agency without (or against) consent, on a lawful basis, with a reason."""

    agency_type: AgencyType
    lawful_basis: LawfulBasis
    reason: str = Field(min_length=10, max_length=1000)


class ConsentOverrideReview(Strict):
    note: str = Field(min_length=1, max_length=1000)


class ConsentOverridePublic(BaseModel):
    id: str
    concern_id: str
    child_id: str | None
    school_urn: str
    la_code: str | None
    agency_type: str
    lawful_basis: str
    reason: str
    by_sub: str
    by_org: str
    by_org_type: str
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None
