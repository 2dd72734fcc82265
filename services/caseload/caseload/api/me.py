"""Who the caller is, as the services read their token: for the web pages, whose practitioners sign in with their
organisation's provider, whose token's claims the services map to TAS claims (TAS_TRUSTED_ISSUERS)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from tas_common.access import allow
from tas_common.auth import Principal

router = APIRouter(prefix="/v1/me", tags=["caseload"])
AnyCaller = Annotated[Principal, Depends(allow(description="anyone signed in: who their own token says they are"))]


class MePublic(BaseModel):
    sub: str
    name: str
    org_id: str
    org_type: str
    roles: list[str]
    school_urns: list[str]
    la_code: str | None


@router.get("", response_model=MePublic, summary="Who you are, as the services read your token (TAS claims)")
async def get_me(principal: AnyCaller) -> MePublic:
    return MePublic(
        sub=principal.sub,
        name=principal.name,
        org_id=principal.org_id,
        org_type=str(principal.org_type),
        roles=sorted(principal.roles),
        school_urns=sorted(principal.school_urns),
        la_code=principal.la_code,
    )
