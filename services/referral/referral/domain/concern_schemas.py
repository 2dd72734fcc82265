"""Request and response shapes of a concern: the child's identity and family contacts as a school sends them,
the concern, its consent position and the consent overrides. Unknown fields are rejected, never dropped."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from tas_common.identifiers import (
    checked_email,
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


class LawfulBasis(StrEnum):
    """The recorded basis for sharing without consent (UK GDPR art. 6 with the information-sharing guidance)."""

    safeguarding = "safeguarding"
    """A child is or may be at risk of significant harm (Children Act 1989 s.47 / s.17)."""
    legal_obligation = "legal_obligation"
    vital_interests = "vital_interests"
    public_task = "public_task"


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
        return checked_email(value)

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
