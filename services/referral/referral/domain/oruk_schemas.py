"""The Open Referral UK 3.0 shapes the feed serves: the objects of the UK profile (OpenReferralUK/uk-profile,
`schema/compiled/`, pinned with tests/referral/oruk_schema/), with only the fields TAS fills. Routes serve them
with `response_model_exclude_none`, so an empty field is left out rather than sent as null (the profile's fields
are not nullable); `tests/referral/test_oruk.py` checks every response against the profile's schemas with no
additional properties allowed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class ApiInfo(BaseModel):
    version: str = Field(description="The HSDS version of this API")
    profile: str = Field(description="The HSDS profile this API follows")
    openapi_url: str = Field(description="The OpenAPI document that defines this API")


class TaxonomyTerm(BaseModel):
    id: str
    name: str
    description: str
    taxonomy: str | None = None
    taxonomy_id: str | None = None
    term: str | None = None
    term_uri: str | None = None
    parent_id: str | None = None


class Taxonomy(BaseModel):
    id: str
    name: str
    description: str
    uri: str | None = None
    version: str | None = None
    taxonomy_terms: list[TaxonomyTerm] | None = None


class Attribute(BaseModel):
    """A link from a service to a taxonomy term: where TAS's own fields (areas of need, waiting times) go."""

    id: str
    link_id: str
    taxonomy_term_id: str
    link_type: str
    taxonomy_term: TaxonomyTerm


class OrganizationBrief(BaseModel):
    id: str
    name: str
    description: str
    email: str | None = None
    website: str | None = None


class ServiceBrief(BaseModel):
    """A service's one-to-one fields (the lists' `service_list` shape) with its organisation."""

    id: str
    organization_id: str
    name: str
    description: str
    url: str | None = None
    email: str | None = None
    status: str
    minimum_age: int
    maximum_age: int
    last_modified: datetime
    organization: OrganizationBrief


class Address(BaseModel):
    id: str
    location_id: str
    address_1: str
    city: str
    state_province: str
    postal_code: str
    country: str
    address_type: str = "physical"


class Accessibility(BaseModel):
    id: str
    location_id: str
    description: str


class LocationBrief(BaseModel):
    id: str
    location_type: str = "physical"
    name: str
    description: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class LocationFull(LocationBrief):
    addresses: list[Address]
    accessibility: list[Accessibility]


class ServiceAtLocationInService(BaseModel):
    id: str
    service_id: str
    location_id: str
    location: LocationFull


class Schedule(BaseModel):
    id: str
    service_id: str
    service_at_location_id: str | None = None
    freq: str
    interval: int | None = None
    byday: str | None = None
    bymonthday: str | None = None
    opens_at: str
    closes_at: str
    description: str | None = None
    attending_type: str | None = None
    notes: str | None = None


class ServiceArea(BaseModel):
    id: str
    service_id: str
    name: str
    service_area: str | None = None
    extent: str | None = None
    extent_type: str | None = None


class Contact(BaseModel):
    id: str
    service_id: str
    name: str
    title: str | None = None


class CostOption(BaseModel):
    id: str
    service_id: str
    option: str
    amount: float
    amount_description: str | None = None


class ServiceDetail(ServiceBrief):
    """A service with everything around it, except its locations (as nested in a service_at_location)."""

    schedules: list[Schedule]
    service_areas: list[ServiceArea]
    contacts: list[Contact]
    cost_options: list[CostOption]
    attributes: list[Attribute]


class ServiceFull(ServiceDetail):
    """`GET /services/{id}`: the fully nested service."""

    service_at_locations: list[ServiceAtLocationInService]


class ServiceAtLocationBrief(BaseModel):
    id: str
    service_id: str
    location_id: str
    location: LocationBrief
    service: ServiceBrief


class ServiceAtLocationFull(BaseModel):
    id: str
    service_id: str
    location_id: str
    location: LocationFull
    service: ServiceDetail


class OrganizationFull(OrganizationBrief):
    services: list[ServiceFull] | list[ServiceBrief]


class PageEnvelope(BaseModel):
    """Open Referral's page of a list (with its `contents`): by page number, as the standard pages."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool


def page_of(items: Sequence[T], page: int, per_page: int) -> tuple[dict[str, Any], list[T]]:
    """The envelope's fields for page `page` of `items`, and the items on it."""
    total_pages = max(1, math.ceil(len(items) / per_page))
    contents = list(items[(page - 1) * per_page : page * per_page])
    envelope = {
        "total_items": len(items),
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
    }
    return envelope, contents


class OrukServicePage(PageEnvelope):
    contents: list[ServiceBrief]


class OrukServiceAtLocationPage(PageEnvelope):
    contents: list[ServiceAtLocationBrief]


class OrukOrganizationPage(PageEnvelope):
    contents: list[OrganizationBrief]


class OrukTaxonomyPage(PageEnvelope):
    contents: list[Taxonomy]


class OrukTaxonomyTermPage(PageEnvelope):
    contents: list[TaxonomyTerm]
