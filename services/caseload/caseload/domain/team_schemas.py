"""Bodies and answers about the people around the child: the family members (contacts) and the team."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from tas_common.identifiers import checked_email, normalise_uk_mobile
from tas_common.identity import FamilyContactShape
from tas_common.schemas import Strict
from tas_common.vocab import Channel, Language

# --- family --------------------------------------------------------------------------------------------------


def _mobile(value: str | None) -> str | None:
    return None if value is None else normalise_uk_mobile(value)


def _email(value: str | None) -> str | None:
    return checked_email(value)


class FamilyMemberCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=50, examples=["mother", "father", "carer"])
    parental_responsibility: bool
    mobile: str | None = Field(default=None, description="a UK mobile; stored in E.164 (+447700900123)")
    email: str | None = Field(default=None, max_length=254)
    preferred_channel: Channel
    language: Language = Language.en
    opted_out: bool = False

    _m = field_validator("mobile")(classmethod(lambda cls, v: _mobile(v)))
    _e = field_validator("email")(classmethod(lambda cls, v: _email(v)))

    @model_validator(mode="after")
    def _channel_has_address(self) -> FamilyMemberCreate:
        check_channel(self.preferred_channel, self.mobile, self.email)
        return self


def check_channel(channel: str, mobile: str | None, email: str | None) -> None:
    if channel == Channel.sms and not mobile:
        raise ValueError("preferred channel sms needs a mobile number")
    if channel == Channel.email and not email:
        raise ValueError("preferred channel email needs an email address")


class FamilyMemberUpdate(Strict):
    """Who the family member is and how to reach them. Their preferred channel, language and opting out are
    theirs, changed in notify (`PATCH /v1/contacts/{id}/preferences`), which owns them: sent here they are an
    unknown field (422)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    relationship: str | None = Field(default=None, min_length=1, max_length=50)
    parental_responsibility: bool | None = None
    mobile: str | None = None
    email: str | None = Field(default=None, max_length=254)

    _m = field_validator("mobile")(classmethod(lambda cls, v: _mobile(v)))
    _e = field_validator("email")(classmethod(lambda cls, v: _email(v)))


class ChannelBlockPublic(BaseModel):
    channel: Channel
    reason: str
    """`opt-out`, `sms-stop` (replied STOP), `hard-bounce` (bounced), `complaint`."""


class FamilyMemberPublic(FamilyContactShape):
    """A family member. `preferred_channel`, `language`, `opted_out`, `suppressed` and `reachable` are what notify
    (which owns them) last said: the family member's own choices and what the networks reported."""

    id: str
    opted_out: bool
    suppressed: list[ChannelBlockPublic] = Field(default_factory=list)
    reachable: bool = True


# --- team ----------------------------------------------------------------------------------------------------


class TeamMemberCreate(Strict):
    sub: str = Field(min_length=1, max_length=200, description="the practitioner's subject in their token")
    name: str = Field(min_length=1, max_length=200)
    org_id: str = Field(min_length=1, max_length=100)
    org_type: Literal["school", "health", "social_care", "local_authority"]
    role: str | None = Field(default=None, max_length=100)


class LeadProfessional(Strict):
    member_id: str = Field(min_length=1, max_length=36)


class TeamMemberPublic(BaseModel):
    id: str
    sub: str | None = Field(description="their subject in their token (not shown to the family)")
    name: str
    org_id: str | None = Field(description="not shown to the family: it sees the organisation's name")
    org_type: str
    organisation_name: str | None = Field(default=None, description="the organisation's name, when caseload knows it")
    service_name: str | None = Field(default=None, description="the service of the local offer that brought them")
    contact_email: str | None = Field(default=None, description="the service's team inbox")
    shared_phone: str | None = Field(default=None, description="a work number the practitioner chose to share")
    shared_email: str | None = Field(default=None, description="a work address the practitioner chose to share")
    role: str | None
    referral_id: str | None
    referral_ids: list[str]
    lead: bool
    joined_at: datetime
    left_at: datetime | None


class SchoolContact(BaseModel):
    urn: str
    name: str | None
    phone: str | None
    email: str | None


class TeamPublic(BaseModel):
    members: list[TeamMemberPublic]
    lead: TeamMemberPublic | None
    former_members: list[TeamMemberPublic] = Field(description="(not shown to the family)")
    school: SchoolContact | None = Field(default=None, description="how to contact the child's school")


class TeamMemberContact(Strict):
    """What a practitioner chooses to share with the family about how to reach them (null: nothing)."""

    shared_phone: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9 ()-]{7,30}$")
    shared_email: str | None = Field(default=None, max_length=254)

    _e = field_validator("shared_email")(classmethod(lambda cls, v: _email(v)))
