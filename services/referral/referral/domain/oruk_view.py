"""The feed's objects built from the directory's rows (the UK profile's shapes, oruk_schemas.py): what one request
read (`Directory`), and each service as a list item, with its details, or fully nested. The profile drops HSDS's
`eligibility_description` and `application_process`, so who a service is for and how to get it are paragraphs of its
`description`; its ages are `minimum_age` / `maximum_age`. TAS's own fields are attributes (oruk_taxonomy.py). A
service's `url` is its own page, else its page in the web service's local offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from . import oruk_taxonomy
from .directory import Details
from .directory_schemas import CurrentWait
from .models import Location, Organisation, Service
from .oruk_schemas import (
    Accessibility,
    Address,
    Attribute,
    Contact,
    CostOption,
    LocationBrief,
    LocationFull,
    OrganizationBrief,
    Schedule,
    ServiceArea,
    ServiceAtLocationInService,
    ServiceBrief,
    ServiceDetail,
    ServiceFull,
    TaxonomyTerm,
)
from .oruk_taxonomy import derived_id

_ATTENDING = {"in_person": "In person", "phone": "By phone", "online": "Online"}


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Directory:
    """What one request read: the services, their organisations, and (when needed) details and waits."""

    services: list[Service]
    organisations: dict[str, Organisation]
    web_url: str
    details: dict[str, Details] | None = None
    waits: dict[str, CurrentWait] | None = None

    def organization(self, service: Service) -> OrganizationBrief:
        org = self.organisations.get(service.organisation_id)
        if org is None:  # every write records its organisation; a row written before migration 0006 has one too
            return OrganizationBrief(
                id=derived_id("organisation", service.organisation_id),
                name=service.organisation_name,
                description="",
            )
        return organization_brief(org)

    def brief(self, service: Service) -> ServiceBrief:
        organization = self.organization(service)
        parts = [service.description.strip()]
        if service.eligibility_description:
            parts.append(f"Who it is for: {service.eligibility_description.strip()}")
        if service.how_to_refer:
            parts.append(f"How to get it: {service.how_to_refer.strip()}")
        return ServiceBrief(
            id=service.oruk_id,
            organization_id=organization.id,
            name=service.name,
            description="\n\n".join(p for p in parts if p),
            url=service.url or f"{self.web_url.rstrip('/')}/local-offer/{service.id}",
            email=service.email,
            status=service.status,
            minimum_age=service.minimum_age,
            maximum_age=service.maximum_age,
            last_modified=aware(service.updated_at),
            organization=organization,
        )

    def terms(self, service: Service) -> list[tuple[oruk_taxonomy.Vocabulary, TaxonomyTerm]]:
        found = [(oruk_taxonomy.SERVICE_TYPES, oruk_taxonomy.service_type_term(c)) for c in service.taxonomy]
        found += [
            (oruk_taxonomy.AREAS_OF_NEED, term)
            for code in service.areas_of_need
            if (term := oruk_taxonomy.need_term(code)) is not None
        ]
        if self.waits is not None:
            found += [(oruk_taxonomy.WAITING, t) for t in oruk_taxonomy.wait_terms(self.waits[service.id])]
        return found

    def detail(self, service: Service) -> ServiceDetail:
        assert self.details is not None and self.waits is not None
        d = self.details[service.id]
        return ServiceDetail(
            **self.brief(service).model_dump(),
            schedules=[
                Schedule(
                    id=s.id,
                    service_id=service.oruk_id,
                    service_at_location_id=s.service_at_location_id,
                    freq=s.freq,
                    interval=s.interval,
                    byday=s.byday,
                    bymonthday=s.bymonthday,
                    opens_at=s.opens_at,
                    closes_at=s.closes_at,
                    description=s.description or None,
                    attending_type=_ATTENDING.get(s.attending_type or ""),
                    notes=s.notes,
                )
                for s in d.schedules
            ],
            service_areas=[
                ServiceArea(
                    id=a.id,
                    service_id=service.oruk_id,
                    name=a.name,
                    service_area=a.description or None,
                    extent="Postcode districts " + ", ".join(a.postcode_districts) if a.postcode_districts else None,
                    extent_type="text" if a.postcode_districts else None,
                )
                for a in d.areas
            ],
            contacts=[
                Contact(id=c.id, service_id=service.oruk_id, name=c.name, title=c.title or None) for c in d.contacts
            ],
            cost_options=[
                CostOption(
                    id=c.id,
                    service_id=service.oruk_id,
                    option=c.option,
                    amount=c.amount,
                    amount_description=c.amount_description,
                )
                for c in d.cost_options
            ],
            attributes=[
                Attribute(
                    id=derived_id("attribute", service.oruk_id, term.id),
                    link_id=service.oruk_id,
                    taxonomy_term_id=term.id,
                    link_type=vocabulary.link_type,
                    taxonomy_term=term,
                )
                for vocabulary, term in self.terms(service)
            ],
        )

    def full(self, service: Service) -> ServiceFull:
        assert self.details is not None
        return ServiceFull(
            **self.detail(service).model_dump(),
            service_at_locations=[
                ServiceAtLocationInService(
                    id=link.id, service_id=service.oruk_id, location_id=loc.id, location=location_full(loc)
                )
                for link, loc in self.details[service.id].locations
            ],
        )


def organization_brief(org: Organisation) -> OrganizationBrief:
    return OrganizationBrief(
        id=org.oruk_id, name=org.name, description=org.description, email=org.email, website=org.website
    )


def location_brief(location: Location) -> LocationBrief:
    return LocationBrief(
        id=location.id,
        name=location.name,
        description=location.description or None,
        latitude=location.latitude,
        longitude=location.longitude,
    )


def location_full(location: Location) -> LocationFull:
    return LocationFull(
        **location_brief(location).model_dump(),
        addresses=[
            Address(
                id=derived_id("address", location.id),
                location_id=location.id,
                address_1=location.address_1,
                city=location.city,
                state_province=location.county or location.city,
                postal_code=location.postcode,
                country=location.country,
            )
        ],
        accessibility=[
            Accessibility(
                id=derived_id("accessibility", location.id), location_id=location.id, description=location.accessibility
            )
        ]
        if location.accessibility
        else [],
    )
