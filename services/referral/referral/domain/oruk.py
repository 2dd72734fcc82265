"""The local offer as an Open Referral UK 3.0 feed (the UK profile): which services, service_at_locations,
organizations, taxonomies and taxonomy terms a request asks for, with the standard's filters. The objects
themselves are built in oruk_view.py.

The directory is small (tens to hundreds of services): each request reads it and filters in Python, as the local
offer's own list does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.errors import InvalidInput, NotFound

from . import current_wait, directory, oruk_taxonomy
from .directory import Details
from .models import Location, Organisation, Service, ServiceAtLocation
from .offer import matches_text
from .oruk_schemas import (
    OrganizationFull,
    ServiceAtLocationBrief,
    ServiceAtLocationFull,
    ServiceBrief,
    ServiceFull,
    Taxonomy,
    TaxonomyTerm,
)
from .oruk_view import Directory, aware, location_brief, location_full, organization_brief


@dataclass(frozen=True)
class FeedQuery:
    """The standard's filters of /services and /service_at_locations (None: not asked)."""

    search: str | None = None
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    organization_id: str | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    start_time: str | None = None
    end_time: str | None = None
    day: str | None = None
    modified_after: datetime | None = None

    @property
    def by_schedule(self) -> bool:
        return any(v is not None for v in (self.start_time, self.end_time, self.day))

    @property
    def by_wait(self) -> bool:
        waiting_ids = {t.id for t in oruk_taxonomy.waiting_terms()}
        return self.taxonomy_id == oruk_taxonomy.WAITING.id or self.taxonomy_term_id in waiting_ids


def has_words(text: str, search: str | None) -> bool:
    """Every word of `search` (the standard's full-text search) is in `text`."""
    return all(word in text.lower() for word in (search or "").lower().split())


# --- reading and filtering ---------------------------------------------------------------------------------------


async def read(
    session: AsyncSession, *, web_url: str, services: Sequence[Service] | None = None, details: bool, waits: bool
) -> Directory:
    found = list(services) if services is not None else await _all_services(session)
    return Directory(
        services=found,
        organisations=await directory.organisations(session, (s.organisation_id for s in found)),
        web_url=web_url,
        details=await directory.details_of(session, [s.id for s in found]) if details else None,
        waits=await current_wait.current_waits(session, found) if waits else None,
    )


async def _all_services(session: AsyncSession) -> list[Service]:
    return list((await session.exec(select(Service).order_by(Service.name, Service.id))).all())


def _schedule_fits(details: Details, query: FeedQuery) -> bool:
    day = query.day
    for s in details.schedules:
        days = {d.lstrip("+-0123456789") for d in s.byday.split(",")}
        if day is not None and day not in days:
            continue
        if query.start_time is not None and s.opens_at < query.start_time[:5]:
            continue
        if query.end_time is not None and s.closes_at > query.end_time[:5]:
            continue
        return True
    return False


def _keep(d: Directory, service: Service, query: FeedQuery) -> bool:
    if query.search and not matches_text(service, query.search):
        return False
    if query.organization_id is not None and d.organization(service).id != query.organization_id:
        return False
    if query.minimum_age is not None and service.minimum_age < query.minimum_age:
        return False
    if query.maximum_age is not None and service.maximum_age > query.maximum_age:
        return False
    if query.modified_after is not None and aware(service.updated_at) < aware(query.modified_after):
        return False
    if query.taxonomy_id is not None or query.taxonomy_term_id is not None:
        terms = d.terms(service)
        if query.taxonomy_id is not None and not any(v.id == query.taxonomy_id for v, _ in terms):
            return False
        if query.taxonomy_term_id is not None and not any(t.id == query.taxonomy_term_id for _, t in terms):
            return False
    return not (query.by_schedule and d.details is not None and not _schedule_fits(d.details[service.id], query))


async def filtered(session: AsyncSession, *, query: FeedQuery, web_url: str) -> tuple[Directory, list[Service]]:
    d = await read(session, web_url=web_url, details=query.by_schedule, waits=query.by_wait)
    return d, [s for s in d.services if _keep(d, s, query)]


async def service_by_id(session: AsyncSession, oruk_id: str) -> Service:
    found = (await session.exec(select(Service).where(Service.oruk_id == oruk_id))).first()
    if found is None:
        raise NotFound("no such service")
    return found


async def service_at_locations(
    session: AsyncSession, *, query: FeedQuery, postcode: str | None, proximity: float | None, web_url: str
) -> tuple[Directory, list[tuple[ServiceAtLocation, Location, Service]]]:
    """Each (service, location) pair of the services that pass the filters, by service then location name; with
    `postcode`, only where the service's areas cover it (a service without areas is not excluded), or with
    `proximity` only the locations within that many metres of the postcode district's centre, nearest first."""
    if proximity is not None and postcode is None:
        raise InvalidInput("proximity needs a postcode", field="query.proximity")
    d, services = await filtered(session, query=query, web_url=web_url)
    by_id = {s.id: s for s in services}
    pairs = sorted(
        ((link, loc, by_id[link.service_id]) for link, loc in await directory.placements(session, list(by_id))),
        key=lambda p: (p[2].name, p[2].id, p[1].name, p[1].id),
    )
    if postcode is None:
        return d, pairs
    district = await directory.place(session, postcode)
    if proximity is not None:
        if district is None:
            return d, []
        placed = [
            (directory.distance_m(district.latitude, district.longitude, loc.latitude, loc.longitude), p)
            for p in pairs
            if (loc := p[1]).latitude is not None and loc.longitude is not None
        ]
        return d, [p for distance, p in sorted(placed, key=lambda x: x[0]) if distance <= proximity]
    areas = await directory.all_areas(session)
    return d, [
        p
        for p in pairs
        if not areas[p[2].id] or (district is not None and directory.covers(areas[p[2].id], district.district))
    ]


def service_at_location_brief(
    d: Directory, link: ServiceAtLocation, loc: Location, s: Service
) -> ServiceAtLocationBrief:
    return ServiceAtLocationBrief(
        id=link.id, service_id=s.oruk_id, location_id=loc.id, location=location_brief(loc), service=d.brief(s)
    )


async def service_at_location_full(session: AsyncSession, *, link_id: str, web_url: str) -> ServiceAtLocationFull:
    link = await session.get(ServiceAtLocation, link_id)
    if link is None:
        raise NotFound("no such service at location")
    service = await session.get(Service, link.service_id)
    location = await session.get(Location, link.location_id)
    assert service is not None and location is not None
    d = await read(session, web_url=web_url, services=[service], details=True, waits=True)
    return ServiceAtLocationFull(
        id=link.id,
        service_id=service.oruk_id,
        location_id=location.id,
        location=location_full(location),
        service=d.detail(service),
    )


async def organisations(session: AsyncSession, *, search: str | None) -> list[Organisation]:
    rows = (await session.exec(select(Organisation).order_by(Organisation.name, Organisation.id))).all()
    return [o for o in rows if has_words(f"{o.name} {o.description}", search)]


async def organization_full(
    session: AsyncSession, *, oruk_id: str, full_service: bool, web_url: str
) -> OrganizationFull:
    org = (await session.exec(select(Organisation).where(Organisation.oruk_id == oruk_id))).first()
    if org is None:
        raise NotFound("no such organization")
    services = (
        await session.exec(select(Service).where(Service.organisation_id == org.id).order_by(Service.name, Service.id))
    ).all()
    d = await read(session, web_url=web_url, services=services, details=full_service, waits=full_service)
    listed: list[ServiceFull] | list[ServiceBrief] = (
        [d.full(s) for s in services] if full_service else [d.brief(s) for s in services]
    )
    return OrganizationFull(**organization_brief(org).model_dump(), services=listed)


async def _terms(session: AsyncSession) -> list[TaxonomyTerm]:
    codes = [c for s in await _all_services(session) for c in s.taxonomy]
    return oruk_taxonomy.all_terms(codes)


def taxonomies(*, search: str | None) -> list[Taxonomy]:
    return [v.taxonomy() for v in oruk_taxonomy.VOCABULARIES if has_words(f"{v.name} {v.description}", search)]


async def taxonomy(session: AsyncSession, taxonomy_id: str) -> Taxonomy:
    vocabulary = oruk_taxonomy.vocabulary(taxonomy_id)
    if vocabulary is None:
        raise NotFound("no such taxonomy")
    return vocabulary.taxonomy([t for t in await _terms(session) if t.taxonomy_id == taxonomy_id])


async def taxonomy_terms(
    session: AsyncSession, *, search: str | None, taxonomy_id: str | None, parent_id: str | None
) -> list[TaxonomyTerm]:
    """Every taxonomy is flat: a term with a parent there is none."""
    return [
        t
        for t in await _terms(session)
        if (taxonomy_id is None or t.taxonomy_id == taxonomy_id)
        and parent_id is None
        and has_words(f"{t.name} {t.description} {t.term}", search)
    ]


async def taxonomy_term(session: AsyncSession, term_id: str) -> TaxonomyTerm:
    found = next((t for t in await _terms(session) if t.id == term_id), None)
    if found is None:
        raise NotFound("no such taxonomy term")
    return found
