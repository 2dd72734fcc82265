"""The local offer: a public directory by law, readable without signing in (search by text, need, age and
postcode; the honest current wait of each service)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from tas_common.access import public

from ..clients.base import Invalid, SignedOut
from ..domain import plan_view
from ..templating import render
from .deps import Referral

router = APIRouter(prefix="/local-offer", dependencies=[Depends(public)])
POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?( ?[0-9][A-Z]{2})?")
"""A UK postcode, or its first part (the district): `ZX1 2AB`, `ZX1`."""
PER_PAGE = 10


@router.get("")
async def search(
    request: Request,
    referral: Referral,
    q: Annotated[str | None, Query(max_length=200)] = None,
    need: Annotated[str | None, Query(max_length=50)] = None,
    age: Annotated[str | None, Query(max_length=3)] = None,
    area: Annotated[str | None, Query(max_length=3)] = None,
    postcode: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    params: list[tuple[str, Any]] = [("page", page), ("per_page", PER_PAGE)]
    if q and q.strip():
        params.append(("text", q.strip()))
    if need in plan_view.AREAS:
        params.append(("area_of_need", need))
    age_value = int(age) if age and age.strip().isdigit() and int(age) <= 25 else None
    if age_value is not None:
        params.append(("age", age_value))
    if area and area.isdigit() and len(area) == 3:
        params.append(("la_code", area))
    place = (postcode or "").strip().upper()
    postcode_invalid = bool(place) and POSTCODE.fullmatch(place) is None
    if place and not postcode_invalid:
        params.append(("postcode", place))
    session = request.state.session
    token = session.token if session is not None and session.signed_in else None
    result: dict[str, Any] | None
    try:
        result = await referral.services(token=token, params=params)
    except Invalid as exc:  # a postcode the directory does not take; anything else: the directory cannot answer
        postcode_invalid = postcode_invalid or any(str(e.get("field", "")).endswith("postcode") for e in exc.errors)
        result = None
    except SignedOut:
        result = None  # the directory is not open to the public (or the query was refused)
    return render(
        request,
        "offer/search.html",
        service_url="/local-offer",
        result=result,
        query={"q": q or "", "need": need or "", "age": age or "", "area": area or "", "postcode": postcode or ""},
        age_invalid=bool(age and age_value is None),
        postcode_invalid=postcode_invalid,
        view=plan_view,
        page=page,
    )


@router.get("/{service_id}")
async def service(request: Request, service_id: str, referral: Referral) -> Response:
    session = request.state.session
    token = session.token if session is not None and session.signed_in else None
    found = await referral.service(service_id[:64], token=token)
    return render(request, "offer/service.html", service_url="/local-offer", service=found, view=plan_view)
