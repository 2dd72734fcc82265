"""Request and response shapes of the local offer's services (Open Referral UK shapes) and their members."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from tas_common.identifiers import checked_email
from tas_common.schemas import Strict
from tas_common.vocab import AreaOfNeed

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


class OrganisationType(StrEnum):
    health = "health"
    local_authority = "local_authority"
    social_care = "social_care"
    school = "school"
    voluntary = "voluntary"


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
        return checked_email(value)

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
