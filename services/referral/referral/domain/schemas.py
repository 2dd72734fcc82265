"""Request and response shapes of referral's API. Unknown fields are rejected, never dropped."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tas_common.identifiers import (is_valid_email, is_valid_nhs_number, is_valid_upn, is_valid_urn,
                                    normalise_nhs_number, normalise_uk_mobile)
from tas_common.vocab import AreaOfNeed, Channel, ConsentStatus, Language, Urgency


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChildIdentityIn(Strict):
    upn: str = Field(description="Unique Pupil Number, 13 characters with its DfE check letter")
    nhs_number: str | None = Field(default=None, description="10 digits, modulus-11 check digit")
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    date_of_birth: date
    year_group: str | None = Field(default=None, max_length=10)

    @field_validator("upn")
    @classmethod
    def _upn(cls, value: str) -> str:
        value = value.upper()
        if not is_valid_upn(value):
            raise ValueError("not a valid UPN: 13 characters with a correct check letter")
        return value

    @field_validator("nhs_number")
    @classmethod
    def _nhs(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_valid_nhs_number(value):
            raise ValueError("not a valid NHS number: 10 digits with a correct check digit")
        return normalise_nhs_number(value)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: date) -> date:
        if value > date.today() or value.year < date.today().year - 26:
            raise ValueError("date of birth must be in the past and within 25 years (SEND covers 0-25)")
        return value


class FamilyContactIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=50, examples=["mother", "father", "carer"])
    parental_responsibility: bool
    mobile: str | None = None
    email: str | None = Field(default=None, max_length=254)
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
    def _channel_has_address(self) -> "FamilyContactIn":
        if self.preferred_channel == Channel.sms and not self.mobile:
            raise ValueError("preferred channel sms needs a mobile number")
        if self.preferred_channel == Channel.email and not self.email:
            raise ValueError("preferred channel email needs an email address")
        return self


class ConcernCreate(Strict):
    school_urn: str
    child: ChildIdentityIn
    areas_of_need: list[AreaOfNeed] = Field(default_factory=list)
    safeguarding: bool = False
    summary: str = Field(min_length=1, max_length=4000)
    urgency: Urgency = Urgency.routine
    already_tried: str | None = Field(default=None, max_length=4000,
                                      description="What the school has tried (the graduated response)")
    family_contacts: list[FamilyContactIn] = Field(default_factory=list, max_length=6)
    consent_status: ConsentStatus = ConsentStatus.not_sought
    lawful_basis: str | None = Field(default=None, max_length=200)

    @field_validator("school_urn")
    @classmethod
    def _urn(cls, value: str) -> str:
        if not is_valid_urn(value):
            raise ValueError("a school URN is 6 digits")
        return value


class FamilyContactPublic(BaseModel):
    id: str
    name: str
    relationship: str
    parental_responsibility: bool
    mobile: str | None
    email: str | None
    preferred_channel: str
    language: str


class ChildIdentityPublic(BaseModel):
    upn: str
    nhs_number: str | None
    given_name: str
    family_name: str
    date_of_birth: date
    year_group: str | None


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
    family_contacts: list[FamilyContactPublic]
    consent_status: str
    lawful_basis: str | None
    created_at: datetime


