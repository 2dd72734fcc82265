"""The local offer's details around each service: its organisation, locations, contacts, schedules, cost options
and service areas, read in a few queries for a page of services, and replaced by an offer administrator's write.
The fictional postcode gazetteer places a postcode for area and distance searches."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.errors import InvalidInput

from .directory_schemas import (
    AddressPublic,
    ContactPublic,
    CostOptionPublic,
    LocationPublic,
    LocationWrite,
    SchedulePublic,
    ServiceAreaPublic,
    district_of,
    normalise_postcode,
)
from .models import (
    Location,
    Organisation,
    PostcodeDistrict,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceContact,
    ServiceCostOption,
    ServiceSchedule,
)


@dataclass
class Details:
    """A service's rows around it, in their display order."""

    locations: list[tuple[ServiceAtLocation, Location]] = field(default_factory=list)
    contacts: list[ServiceContact] = field(default_factory=list)
    schedules: list[ServiceSchedule] = field(default_factory=list)
    cost_options: list[ServiceCostOption] = field(default_factory=list)
    areas: list[ServiceArea] = field(default_factory=list)


async def placements(session: AsyncSession, service_ids: list[str]) -> list[tuple[ServiceAtLocation, Location]]:
    """The services' links to their locations, with the location, by location name."""
    rows = await session.exec(
        select(ServiceAtLocation, Location)
        .join(Location, col(ServiceAtLocation.location_id) == col(Location.id))
        .where(col(ServiceAtLocation.service_id).in_(service_ids))
        .order_by(Location.name, Location.id)
    )
    return list(rows.all())


async def details_of(session: AsyncSession, service_ids: Sequence[str]) -> dict[str, Details]:
    found: dict[str, Details] = {sid: Details() for sid in service_ids}
    if not service_ids:
        return found
    ids = list(service_ids)
    for link, location in await placements(session, ids):
        found[link.service_id].locations.append((link, location))
    contacts = select(ServiceContact).where(col(ServiceContact.service_id).in_(ids))
    for contact in (await session.exec(contacts.order_by(col(ServiceContact.position), col(ServiceContact.id)))).all():
        found[contact.service_id].contacts.append(contact)
    schedules = select(ServiceSchedule).where(col(ServiceSchedule.service_id).in_(ids))
    for schedule in (
        await session.exec(schedules.order_by(col(ServiceSchedule.position), col(ServiceSchedule.id)))
    ).all():
        found[schedule.service_id].schedules.append(schedule)
    costs = select(ServiceCostOption).where(col(ServiceCostOption.service_id).in_(ids))
    for cost in (await session.exec(costs.order_by(col(ServiceCostOption.position), col(ServiceCostOption.id)))).all():
        found[cost.service_id].cost_options.append(cost)
    areas = select(ServiceArea).where(col(ServiceArea.service_id).in_(ids)).order_by(col(ServiceArea.id))
    for area in (await session.exec(areas)).all():
        found[area.service_id].areas.append(area)
    return found


async def organisations(session: AsyncSession, ids: Iterable[str]) -> dict[str, Organisation]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.exec(select(Organisation).where(col(Organisation.id).in_(wanted)))
    return {o.id: o for o in rows.all()}


async def all_areas(session: AsyncSession) -> dict[str, list[ServiceArea]]:
    """Every service's areas (the directory is small: a postcode search filters in Python)."""
    found: dict[str, list[ServiceArea]] = defaultdict(list)
    for area in (await session.exec(select(ServiceArea))).all():
        found[area.service_id].append(area)
    return found


# --- postcodes -----------------------------------------------------------------------------------------------


async def place(session: AsyncSession, postcode: str) -> PostcodeDistrict | None:
    """The gazetteer's district of a postcode (or of a district given alone); None when it is not one we cover.
    Raises InvalidInput when it is not a UK postcode at all."""
    normal = normalise_postcode(postcode)
    if normal is None:
        raise InvalidInput("not a UK postcode or postcode district", field="query.postcode")
    return await session.get(PostcodeDistrict, district_of(normal))


def covers(areas: Iterable[ServiceArea], district: str) -> bool:
    return any(district in area.postcode_districts for area in areas)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# --- public shapes -------------------------------------------------------------------------------------------


def location_public(location: Location) -> LocationPublic:
    return LocationPublic(
        id=location.id,
        name=location.name,
        description=location.description,
        address=AddressPublic(
            address_1=location.address_1,
            city=location.city,
            county=location.county,
            postcode=location.postcode,
            country=location.country,
        ),
        latitude=location.latitude,
        longitude=location.longitude,
        accessibility=location.accessibility,
    )


def public_parts(details: Details) -> dict[str, list[Any]]:
    """The keyword arguments of ServicePublic that the details give."""
    location_of = {link.id: loc.id for link, loc in details.locations}
    return {
        "locations": [location_public(loc) for _, loc in details.locations],
        "contacts": [ContactPublic(name=c.name, title=c.title, phone=c.phone, email=c.email) for c in details.contacts],
        "schedules": [
            SchedulePublic(
                location_id=location_of.get(s.service_at_location_id or ""),
                freq="MONTHLY" if s.freq == "MONTHLY" else "WEEKLY",
                interval=s.interval,
                byday=s.byday,
                bymonthday=s.bymonthday,
                opens_at=s.opens_at,
                closes_at=s.closes_at,
                description=s.description,
                attending_type=s.attending_type,
                notes=s.notes,
            )
            for s in details.schedules
        ],
        "cost_options": [
            CostOptionPublic(option=c.option, amount=c.amount, amount_description=c.amount_description)
            for c in details.cost_options
        ],
        "service_areas": [
            ServiceAreaPublic(name=a.name, description=a.description, postcode_districts=a.postcode_districts)
            for a in details.areas
        ],
    }


# --- writes by the offer administrators -----------------------------------------------------------------------


async def upsert_organisation(
    session: AsyncSession,
    *,
    org_id: str,
    name: str,
    organisation_type: str,
    description: str | None,
    email: str | None,
    website: str | None,
) -> Organisation:
    """The organisation a service write names: created when new, its name and type kept current, and its
    description, inbox and website changed only when the write gives them."""
    organisation = await session.get(Organisation, org_id)
    if organisation is None:
        organisation = Organisation(id=org_id, name=name, organisation_type=organisation_type)
    organisation.name, organisation.organisation_type = name, organisation_type
    for attr, value in (("description", description), ("email", email), ("website", website)):
        if value is not None:
            setattr(organisation, attr, value)
    organisation.updated_at = utcnow()
    session.add(organisation)
    return organisation


async def _location_for(session: AsyncSession, *, data: LocationWrite, la_code: str, index: int) -> Location:
    if data.id is not None:
        location = await session.get(Location, data.id)
        if location is None or location.la_code != la_code:
            raise InvalidInput("no such location in your local offer", field=f"body.locations.{index}.id")
        return location
    location = Location(
        la_code=la_code,
        name=data.name or "",
        description=data.description,
        address_1=data.address_1 or "",
        city=data.city or "",
        county=data.county,
        postcode=data.postcode or "",
        latitude=data.latitude,
        longitude=data.longitude,
        accessibility=data.accessibility,
    )
    if location.latitude is None and (district := await place(session, location.postcode)) is not None:
        location.latitude, location.longitude = district.latitude, district.longitude
    session.add(location)
    return location


async def _replace_locations(
    session: AsyncSession, *, service: Service, items: Sequence[LocationWrite], la_code: str
) -> list[ServiceAtLocation]:
    """The service's locations become `items`: a location kept keeps its link (and the schedules on it); a link to a
    location no longer listed goes, with its schedules."""
    existing = {
        link.location_id: link
        for link in (
            await session.exec(select(ServiceAtLocation).where(ServiceAtLocation.service_id == service.id))
        ).all()
    }
    wanted: list[str] = []
    links: list[ServiceAtLocation] = []
    for index, item in enumerate(items):
        location = await _location_for(session, data=item, la_code=la_code, index=index)
        if location.id in wanted:
            raise InvalidInput("the same location twice", field=f"body.locations.{index}")
        wanted.append(location.id)
        link = existing.get(location.id) or ServiceAtLocation(service_id=service.id, location_id=location.id)
        session.add(link)
        links.append(link)
    gone = [link.id for location_id, link in existing.items() if location_id not in wanted]
    if gone:
        await session.execute(delete(ServiceSchedule).where(col(ServiceSchedule.service_at_location_id).in_(gone)))
        await session.execute(delete(ServiceAtLocation).where(col(ServiceAtLocation.id).in_(gone)))
    await session.flush()
    return links


async def replace_details(session: AsyncSession, *, service: Service, data: object, la_code: str) -> None:
    """Replace each of the service's detail lists that the write (`ServiceWrite`) gives: a list left out (None) is
    kept as it is, an empty list removes them all. A schedule names its location by its position in the write's
    `locations` (or, when the write leaves them out, in the service's locations as listed)."""
    locations = getattr(data, "locations", None)
    links: list[ServiceAtLocation] | None = None
    if locations is not None:
        links = await _replace_locations(session, service=service, items=locations, la_code=la_code)
    schedules = getattr(data, "schedules", None)
    if schedules is not None:
        if links is None:
            links = [link for link, _ in (await details_of(session, [service.id]))[service.id].locations]
        await session.execute(delete(ServiceSchedule).where(col(ServiceSchedule.service_id) == service.id))
        for index, item in enumerate(schedules):
            link_id = None
            if item.location_index is not None:
                if item.location_index >= len(links):
                    raise InvalidInput("no location at this position", field=f"body.schedules.{index}.location_index")
                link_id = links[item.location_index].id
            values = item.model_dump(exclude={"location_index"})
            session.add(
                ServiceSchedule(service_id=service.id, service_at_location_id=link_id, position=index, **values)
            )
    contacts = getattr(data, "contacts", None)
    if contacts is not None:
        await session.execute(delete(ServiceContact).where(col(ServiceContact.service_id) == service.id))
        session.add_all(
            ServiceContact(service_id=service.id, position=i, **x.model_dump()) for i, x in enumerate(contacts)
        )
    costs = getattr(data, "cost_options", None)
    if costs is not None:
        await session.execute(delete(ServiceCostOption).where(col(ServiceCostOption.service_id) == service.id))
        session.add_all(
            ServiceCostOption(service_id=service.id, position=i, **x.model_dump()) for i, x in enumerate(costs)
        )
    areas = getattr(data, "service_areas", None)
    if areas is not None:
        await session.execute(delete(ServiceArea).where(col(ServiceArea.service_id) == service.id))
        session.add_all(ServiceArea(service_id=service.id, **a.model_dump()) for a in areas)
