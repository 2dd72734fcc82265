"""The local offer: a public directory by law, readable without signing in (search by text, need, age, area)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from tas_common.access import public

from ..clients.base import Invalid, SignedOut
from ..domain import plan_view
from ..templating import render
from .deps import Referral

router = APIRouter(prefix="/local-offer", dependencies=[Depends(public)])
PER_PAGE = 10


@router.get("")
async def search(
    request: Request,
    referral: Referral,
    q: Annotated[str | None, Query(max_length=200)] = None,
    need: Annotated[str | None, Query(max_length=50)] = None,
    age: Annotated[str | None, Query(max_length=3)] = None,
    area: Annotated[str | None, Query(max_length=3)] = None,
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
    session = request.state.session
    token = session.token if session is not None and session.signed_in else None
    result: dict[str, Any] | None
    try:
        result = await referral.services(token=token, params=params)
    except (SignedOut, Invalid):
        result = None  # the directory is not open to the public yet (or the query was refused)
    return render(
        request,
        "offer/search.html",
        service_url="/local-offer",
        result=result,
        query={"q": q or "", "need": need or "", "age": age or "", "area": area or ""},
        age_invalid=bool(age and age_value is None),
        view=plan_view,
        page=page,
    )


@router.get("/{service_id}")
async def service(request: Request, service_id: str, referral: Referral) -> Response:
    session = request.state.session
    token = session.token if session is not None and session.signed_in else None
    found = await referral.service(service_id[:64], token=token)
    return render(request, "offer/service.html", service_url="/local-offer", service=found, view=plan_view)
