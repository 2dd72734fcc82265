"""The local offer's details (where, who to contact, when, what it costs, which area) and its current wait, as
`GET /v1/services` shows them and as an offer administrator writes them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from tas_common.identifiers import checked_email
from tas_common.schemas import Strict

POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
"""A UK postcode (outward code, optional space, inward code), upper case."""
DISTRICT_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
"""A postcode district (the outward code): `ZX1`, `ZX10`."""
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_PHONE_RE = re.compile(r"^0[0-9 ]{9,13}$")


def normalise_postcode(value: str) -> str | None:
    """`zx1 4ab` → `ZX1 4AB`; a district alone (`zx1`) stays a district; anything else is None."""
    compact = re.sub(r"\s+", "", value.upper())
    if DISTRICT_RE.match(compact):
        return compact
    match = POSTCODE_RE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else None


def district_of(postcode: str) -> str:
    return postcode.split(" ")[0]


# --- what GET /v1/services shows ---------------------------------------------------------------------------------


class AddressPublic(BaseModel):
    address_1: str
    city: str
    county: str
    postcode: str
    country: str


class LocationPublic(BaseModel):
    id: str
    name: str
    description: str
    address: AddressPublic
    latitude: float | None
    longitude: float | None
    accessibility: str | None


class ContactPublic(BaseModel):
    name: str = Field(description="A team or a role, never a practitioner's own line")
    title: str
    phone: str | None
    email: str | None


class SchedulePublic(BaseModel):
    location_id: str | None = Field(description="The location it applies to; none for the service as a whole")
    freq: Literal["WEEKLY", "MONTHLY"]
    interval: int | None
    byday: str
    bymonthday: str | None
    opens_at: str = Field(description="HH:MM, UK local time")
    closes_at: str = Field(description="HH:MM, UK local time")
    description: str
    attending_type: str | None
    notes: str | None


class CostOptionPublic(BaseModel):
    option: str
    amount: float = Field(description="In pounds; 0 for free")
    amount_description: str | None


class ServiceAreaPublic(BaseModel):
    name: str
    description: str
    postcode_districts: list[str]


class CurrentWait(BaseModel):
    """The wait a family can expect, honest about small numbers: a median measured from fewer than 5 referrals
    could identify the children behind it, so it is never shown; the service's own estimate may be."""

    basis: Literal["measured", "fewer_than_5_referrals", "service_estimate", "not_known"] = Field(
        description="`measured`: the median of 5 or more referrals that reached first contact in the last 12 "
        "months; `fewer_than_5_referrals`: 1 to 4 such referrals, so no figure is computed from them; "
        "`service_estimate`: none measured, the service's own published figure; `not_known`"
    )
    days: int | None = Field(description="The wait shown: the measured median, else the service's estimate")
    referrals_measured: int | None = Field(description="How many referrals the median is of (5 or more); else none")
    service_estimate_days: int | None = Field(description="The service's own published estimate, if any")
    text: str = Field(description="In words, e.g. 'about 6 weeks (median of 12 referrals in the last 12 months)'")


# --- what an offer administrator writes --------------------------------------------------------------------------


class LocationWrite(Strict):
    """A location of the service: an existing one (`id`, shared with other services) or a new one (its address)."""

    id: str | None = Field(default=None, max_length=36, description="An existing location's id, to share it")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    address_1: str | None = Field(default=None, min_length=1, max_length=200)
    city: str | None = Field(default=None, min_length=1, max_length=100)
    county: str = Field(default="", max_length=100)
    postcode: str | None = Field(default=None, max_length=8)
    latitude: float | None = Field(default=None, ge=49.0, le=61.0)
    longitude: float | None = Field(default=None, ge=-9.0, le=2.0)
    accessibility: str | None = Field(default=None, max_length=1000)

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normal = normalise_postcode(value)
        if normal is None or " " not in normal:
            raise ValueError("not a UK postcode")
        return normal

    @model_validator(mode="after")
    def _new_or_existing(self) -> LocationWrite:
        if self.id is None and not (self.name and self.address_1 and self.city and self.postcode):
            raise ValueError("a new location needs name, address_1, city and postcode (or give an existing id)")
        return self


class ContactWrite(Strict):
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20, description="A UK number starting 0")
    email: str | None = Field(default=None, max_length=254)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE_RE.match(value):
            raise ValueError("a UK phone number starting 0")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return checked_email(value)


class ScheduleWrite(Strict):
    location_index: int | None = Field(
        default=None, ge=0, le=19, description="The position in `locations` this applies to; none for the service"
    )
    freq: Literal["WEEKLY", "MONTHLY"] = "WEEKLY"
    interval: int | None = Field(default=None, ge=1, le=52)
    byday: str = Field(default="MO,TU,WE,TH,FR", max_length=40)
    bymonthday: str | None = Field(default=None, max_length=40, pattern=r"^-?[0-9]{1,2}(,-?[0-9]{1,2})*$")
    opens_at: str = Field(description="HH:MM, UK local time")
    closes_at: str = Field(description="HH:MM, UK local time")
    description: str = Field(default="", max_length=500)
    attending_type: Literal["in_person", "phone", "online"] | None = None
    notes: str | None = Field(default=None, max_length=500)

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME_RE.match(value):
            raise ValueError("a time as HH:MM")
        return value

    @field_validator("byday")
    @classmethod
    def _days(cls, value: str) -> str:
        days = [d.strip().upper() for d in value.split(",") if d.strip()]
        if not days or any(re.sub(r"^[+-]?[1-5]", "", d) not in _DAYS for d in days):
            raise ValueError("days as MO,TU,WE,TH,FR,SA,SU (a MONTHLY rule may say 2MO)")
        return ",".join(days)

    @model_validator(mode="after")
    def _order(self) -> ScheduleWrite:
        if self.opens_at >= self.closes_at:
            raise ValueError("opens_at is not before closes_at")
        return self


class CostOptionWrite(Strict):
    option: str = Field(min_length=1, max_length=200)
    amount: float = Field(default=0.0, ge=0, le=100_000)
    amount_description: str | None = Field(default=None, max_length=200)


class ServiceAreaWrite(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=1000)
    postcode_districts: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("postcode_districts")
    @classmethod
    def _districts(cls, value: list[str]) -> list[str]:
        out = [d.strip().upper() for d in value]
        if any(not DISTRICT_RE.match(d) for d in out):
            raise ValueError("postcode districts are outward codes, e.g. ZX1")
        return list(dict.fromkeys(out))
