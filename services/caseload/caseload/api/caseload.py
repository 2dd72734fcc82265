"""The caller's caseload: the children they can work with, one page at a time."""

from __future__ import annotations

from fastapi import APIRouter, Query

from tas_common.paging import Page

from ..domain.caseload_list import my_caseload
from ..domain.child_schemas import CaseloadItem
from .deps import DatabaseDep, Practitioner

router = APIRouter(prefix="/v1/caseload", tags=["caseload"])


@router.get(
    "",
    response_model=Page[CaseloadItem],
    summary="My caseload: the children you can work with, by name (school leads: your schools' children; "
    "LA SEND officers: your LA's; everyone else: the children on whose team you are)",
    description="Each child listed is audited as a read. Merged-away records never appear. Page on with "
    "`next_cursor`; `school_urn` narrows the list to one school (a school lead's own).",
)
async def get_caseload(
    principal: Practitioner,
    db: DatabaseDep,
    school_urn: str | None = Query(default=None, pattern=r"^[0-9]{6}$"),
    q: str | None = Query(
        default=None,
        max_length=100,
        description="find by name (the start of the given or family name, or both; accents and case do not "
        "matter), date of birth (31/01/2016 or 2016-01-31), UPN or NHS number",
    ),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=1200),
) -> Page[CaseloadItem]:
    async with db.transaction() as session:
        return await my_caseload(session, principal=principal, school_urn=school_urn, q=q, limit=limit, cursor=cursor)
