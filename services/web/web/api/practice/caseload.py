"""My caseload: the children I work with, found by name, date of birth, UPN or NHS number (caseload's own search:
it never finds a child I may not see)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ...clients.base import Invalid
from ...domain.practice import words
from ...templating import render
from ..deps import Caseload
from .deps import MeDep, PractitionerSession

router = APIRouter()
PER_PAGE = 25


@router.get("/caseload")
async def my_caseload(
    request: Request,
    session: PractitionerSession,
    me: MeDep,
    caseload: Caseload,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1200)] = None,
) -> Response:
    query = (q or "").strip()
    try:
        page = await caseload.caseload(token=session.bearer, q=query or None, cursor=cursor, limit=PER_PAGE)
    except Invalid:
        page = {"items": [], "next_cursor": None}
    return render(
        request,
        "practice/caseload.html",
        me=me,
        q=query,
        children=page["items"],
        next_cursor=page.get("next_cursor"),
        first_page=cursor is None,
        view=words,
    )
