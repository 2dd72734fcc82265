"""The local offer as an Open Referral UK 3.0 feed under its own base, `/oruk`: open (no token, as the profile's
compliance rules ask), every response with `Access-Control-Allow-Origin: *` (OrukCors), and the standard's paths,
query parameters and page envelope. The shapes are the UK profile's (domain/oruk_schemas.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tas_common.access import public

from ..domain import oruk
from ..domain.oruk_schemas import (
    ApiInfo,
    OrganizationFull,
    OrukOrganizationPage,
    OrukServiceAtLocationPage,
    OrukServicePage,
    OrukTaxonomyPage,
    OrukTaxonomyTermPage,
    ServiceAtLocationFull,
    ServiceFull,
    Taxonomy,
    TaxonomyTerm,
    page_of,
)
from ..domain.oruk_view import organization_brief
from .deps import DatabaseDep

PREFIX = "/oruk"
PROFILE_COMMIT = "ecdfabf78944d480d7f580d08b702b08cbec4b09"
"""The OpenReferralUK/uk-profile commit the feed follows (its schemas are pinned in tests/referral/oruk_schema/)."""
CACHE = "public, max-age=300"
"""The directory is public: a consumer or a proxy may keep an answer for five minutes."""

router = APIRouter(prefix=PREFIX, tags=["Open Referral UK"], dependencies=[Depends(public)])

Page = Annotated[int, Query(ge=1, le=10_000, description="Page number of paginated result")]
PerPage = Annotated[int, Query(ge=1, le=200, description="Number of results requested in a single page")]
Search = Annotated[str | None, Query(max_length=200, description="Full text search")]
AnId = Annotated[str | None, Query(max_length=36)]
Time = Annotated[
    str | None,
    Query(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        description="HH:MM, UK local time: `start_time`, a session opening at or after it; `end_time`, a session "
        "closing at or before it",
    ),
]
Day = Annotated[
    str | None,
    Query(
        pattern=r"(?i)^(MO|TU|WE|TH|FR|SA|SU|monday|tuesday|wednesday|thursday|friday|saturday|sunday)$",
        description="A day of the week: MO ... SU or its name",
    ),
]


def _web_url(request: Request) -> str:
    return str(request.app.state.settings.public_web_url)


def _query(
    search: Search = None,
    taxonomy_term_id: AnId = None,
    taxonomy_id: AnId = None,
    organization_id: AnId = None,
    minimum_age: Annotated[
        float | None, Query(ge=0, le=120, description="Services with a minimum age of at least this")
    ] = None,
    maximum_age: Annotated[
        float | None, Query(ge=0, le=120, description="Services with a maximum age of at most this")
    ] = None,
    start_time: Time = None,
    end_time: Time = None,
    day: Day = None,
    modified_after: datetime | None = None,
) -> oruk.FeedQuery:
    return oruk.FeedQuery(
        search=search,
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        organization_id=organization_id,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        start_time=start_time,
        end_time=end_time,
        day=day.upper()[:2] if day else None,
        modified_after=modified_after,
    )


FeedQueryDep = Annotated[oruk.FeedQuery, Depends(_query)]


@router.get("/", response_model=ApiInfo, summary="This API and its relationship with HSDS")
async def get_oruk_api_info(response: Response) -> ApiInfo:
    response.headers["Cache-Control"] = CACHE
    return ApiInfo(
        version="3.0",
        profile=f"https://github.com/OpenReferralUK/uk-profile/tree/{PROFILE_COMMIT}",
        openapi_url=f"https://raw.githubusercontent.com/OpenReferralUK/uk-profile/{PROFILE_COMMIT}/schema/openapi.json",
    )


@router.get(
    "/services",
    response_model=OrukServicePage,
    response_model_exclude_none=True,
    summary="Paginated listing of services (their one-to-one fields)",
)
async def list_oruk_services(
    request: Request, response: Response, db: DatabaseDep, query: FeedQueryDep, page: Page = 1, per_page: PerPage = 50
) -> OrukServicePage:
    async with db.reader() as session:
        d, services = await oruk.filtered(session, query=query, web_url=_web_url(request))
    envelope, contents = page_of(services, page, per_page)
    response.headers["Cache-Control"] = CACHE
    return OrukServicePage(**envelope, contents=[d.brief(s) for s in contents])


@router.get(
    "/services/{id}",
    response_model=ServiceFull,
    response_model_exclude_none=True,
    summary="A fully nested service with all related data",
)
async def get_oruk_service(id: str, request: Request, response: Response, db: DatabaseDep) -> ServiceFull:
    async with db.reader() as session:
        service = await oruk.service_by_id(session, id)
        d = await oruk.read(session, web_url=_web_url(request), services=[service], details=True, waits=True)
    response.headers["Cache-Control"] = CACHE
    return d.full(service)


@router.get(
    "/service_at_locations",
    response_model=OrukServiceAtLocationPage,
    response_model_exclude_none=True,
    summary="Paginated listing of services at their locations",
    description="`postcode` keeps the services whose service areas cover it (those without areas stay); with "
    "`proximity` (metres), only the locations within that distance of the postcode district's centre, nearest first.",
)
async def list_oruk_service_at_locations(
    request: Request,
    response: Response,
    db: DatabaseDep,
    query: FeedQueryDep,
    postcode: Annotated[str | None, Query(max_length=10)] = None,
    proximity: Annotated[float | None, Query(gt=0, le=1_000_000, description="Metres")] = None,
    page: Page = 1,
    per_page: PerPage = 50,
) -> OrukServiceAtLocationPage:
    async with db.reader() as session:
        d, pairs = await oruk.service_at_locations(
            session, query=query, postcode=postcode, proximity=proximity, web_url=_web_url(request)
        )
    envelope, contents = page_of(pairs, page, per_page)
    response.headers["Cache-Control"] = CACHE
    return OrukServiceAtLocationPage(
        **envelope,
        contents=[oruk.service_at_location_brief(d, *p) for p in contents],
    )


@router.get(
    "/service_at_locations/{id}",
    response_model=ServiceAtLocationFull,
    response_model_exclude_none=True,
    summary="A fully nested service at a location",
)
async def get_oruk_service_at_location(
    id: str, request: Request, response: Response, db: DatabaseDep
) -> ServiceAtLocationFull:
    async with db.reader() as session:
        found = await oruk.service_at_location_full(session, link_id=id, web_url=_web_url(request))
    response.headers["Cache-Control"] = CACHE
    return found


@router.get(
    "/organizations",
    response_model=OrukOrganizationPage,
    response_model_exclude_none=True,
    summary="Paginated listing of the organisations that run services",
)
async def list_oruk_organizations(
    response: Response, db: DatabaseDep, search: Search = None, page: Page = 1, per_page: PerPage = 50
) -> OrukOrganizationPage:
    async with db.reader() as session:
        found = await oruk.organisations(session, search=search)
    envelope, contents = page_of(found, page, per_page)
    response.headers["Cache-Control"] = CACHE
    return OrukOrganizationPage(**envelope, contents=[organization_brief(o) for o in contents])


@router.get(
    "/organizations/{id}",
    response_model=OrganizationFull,
    response_model_exclude_none=True,
    summary="An organisation with its services (fully nested with full_service=true)",
)
async def get_oruk_organization(
    id: str, request: Request, response: Response, db: DatabaseDep, full_service: bool = False
) -> OrganizationFull:
    async with db.reader() as session:
        found = await oruk.organization_full(session, oruk_id=id, full_service=full_service, web_url=_web_url(request))
    response.headers["Cache-Control"] = CACHE
    return found


@router.get("/taxonomies", response_model=OrukTaxonomyPage, response_model_exclude_none=True, summary="The taxonomies")
async def list_oruk_taxonomies(
    response: Response, search: Search = None, page: Page = 1, per_page: PerPage = 50
) -> OrukTaxonomyPage:
    found = oruk.taxonomies(search=search)
    envelope, contents = page_of(found, page, per_page)
    response.headers["Cache-Control"] = CACHE
    return OrukTaxonomyPage(**envelope, contents=contents)


@router.get(
    "/taxonomies/{id}",
    response_model=Taxonomy,
    response_model_exclude_none=True,
    summary="A taxonomy with its terms",
)
async def get_oruk_taxonomy(id: str, response: Response, db: DatabaseDep) -> Taxonomy:
    async with db.reader() as session:
        found = await oruk.taxonomy(session, id)
    response.headers["Cache-Control"] = CACHE
    return found


@router.get(
    "/taxonomy_terms",
    response_model=OrukTaxonomyTermPage,
    response_model_exclude_none=True,
    summary="Paginated listing of taxonomy terms",
    description="Every taxonomy is flat: `top_only` changes nothing and a `parent_id` finds none.",
)
async def list_oruk_taxonomy_terms(
    response: Response,
    db: DatabaseDep,
    search: Search = None,
    taxonomy_id: AnId = None,
    top_only: bool = False,
    parent_id: AnId = None,
    page: Page = 1,
    per_page: PerPage = 50,
) -> OrukTaxonomyTermPage:
    async with db.reader() as session:
        found = await oruk.taxonomy_terms(session, search=search, taxonomy_id=taxonomy_id, parent_id=parent_id)
    envelope, contents = page_of(found, page, per_page)
    response.headers["Cache-Control"] = CACHE
    return OrukTaxonomyTermPage(**envelope, contents=contents)


@router.get(
    "/taxonomy_terms/{id}",
    response_model=TaxonomyTerm,
    response_model_exclude_none=True,
    summary="A taxonomy term",
)
async def get_oruk_taxonomy_term(id: str, response: Response, db: DatabaseDep) -> TaxonomyTerm:
    async with db.reader() as session:
        found = await oruk.taxonomy_term(session, id)
    response.headers["Cache-Control"] = CACHE
    return found


class OrukCors:
    """Every response under /oruk carries `Access-Control-Allow-Origin: *` (the profile's compliance rules: simple
    HTML/JavaScript applications read the feed from any origin), errors included; a CORS preflight is answered
    here (204). No credentials are involved: the feed is open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (scope["path"] == PREFIX or scope["path"].startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            allowed = headers.get(b"access-control-request-headers", b"")
            reply = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                    "Access-Control-Max-Age": "86400",
                    **({"Access-Control-Allow-Headers": allowed.decode("latin-1")[:500]} if allowed else {}),
                },
            )
            await reply(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(h for h in message.get("headers", ()) if h[0].lower() != b"access-control-allow-origin"),
                    (b"access-control-allow-origin", b"*"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)
