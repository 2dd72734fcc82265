"""The plan as a PDF, for practitioners (`/children/{id}/plan.pdf`) and for families
(`/family/children/{id}/plan.pdf`): each with their own token, so each gets what they may see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from .. import i18n
from ..clients.base import ApiError, NotFound
from ..domain import plan_document, plan_view
from ..domain.practice import words
from .deps import Caseload, FamilySession
from .practice.deps import PractitionerSession

router = APIRouter()
Version = Annotated[int | None, Query(ge=1, le=1_000_000)]


async def _pdf(
    request: Request, caseload: Any, token: str, child_id: str, *, family: bool, number: int | None
) -> Response:
    if len(child_id) > 36:
        raise NotFound(404)
    child, versions = await asyncio.gather(
        caseload.child(child_id, token=token), caseload.versions(child_id, token=token)
    )
    shown = [v for v in versions if not family or v["status"] != "draft"]
    if number is not None and not any(v["number"] == number for v in shown):
        raise NotFound(404)
    wanted = number if number is not None else (shown[0]["number"] if shown else None)
    if wanted is not None:
        version: dict[str, Any] | None = await caseload.version(child_id, wanted, token=token)
        plan = version
    elif family:
        raise NotFound(404)  # nothing shared with the family yet
    else:
        version = None
        plan, _etag = await caseload.plan(child_id, token=token)
    team = None
    if not family:
        try:
            team = await caseload.team(child_id, token=token)
        except ApiError as exc:
            if exc.status != 403:
                raise
    pdf = await plan_document.render_pdf(
        request.app.state.templates,
        {
            "lang": i18n.current_language.get(),
            "child": child,
            "version": version,
            "status_text": plan_view.status_text(version["status"]) if version else "",
            "sections": plan_document.sections_of(plan or {}),
            "titles": plan_document.SECTIONS,
            "team": team,
            "printed_at": datetime.now(UTC),
            "pv": plan_view,
            "role_text": words.role_text,
        },
    )
    name = f"plan-{child['given_name']}-{child['family_name']}".lower().replace(" ", "-")
    safe = "".join(ch for ch in name if ch.isascii() and (ch.isalnum() or ch == "-"))
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{safe}.pdf"'}
    )


@router.get("/children/{child_id}/plan.pdf")
async def practitioner_pdf(
    request: Request, child_id: str, session: PractitionerSession, caseload: Caseload, version: Version = None
) -> Response:
    return await _pdf(request, caseload, session.bearer, child_id, family=False, number=version)


@router.get("/family/children/{child_id}/plan.pdf")
async def family_pdf(
    request: Request, child_id: str, session: FamilySession, caseload: Caseload, version: Version = None
) -> Response:
    return await _pdf(request, caseload, session.bearer, child_id, family=True, number=version)
