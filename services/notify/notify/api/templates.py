from __future__ import annotations

from fastapi import APIRouter, Header, Path, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.errors import PreconditionFailed, PreconditionRequired
from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import templates_store
from ..domain.schemas import TemplateCreate, TemplatePublic, TemplateUpdate
from .deps import DatabaseDep, OnceDep, SettingsDep, TemplateAdmin

router = APIRouter(prefix="/v1/templates", tags=["templates"])
TemplateId = Path(max_length=36)


def _etag(version: int) -> str:
    return f'"{version}"'


@router.get("", response_model=Page[TemplatePublic], summary="Every template, current version")
async def list_templates(principal: TemplateAdmin, db: DatabaseDep) -> Page[TemplatePublic]:
    async with db.transaction() as session:
        return Page(items=await templates_store.list_templates(session, principal=principal))


@router.get("/{template_id}", response_model=TemplatePublic, summary="One template with its version history")
async def get_template(
    principal: TemplateAdmin, db: DatabaseDep, response: Response, template_id: str = TemplateId
) -> TemplatePublic:
    async with db.transaction() as session:
        template = await templates_store.get_template(session, principal=principal, template_id=template_id)
    response.headers["ETag"] = _etag(template.version)
    return template


@router.post(
    "",
    response_model=TemplatePublic,
    status_code=201,
    summary="A new template (trigger, channel, language); checked for length and content",
    responses=problems(409),
)
async def create_template(
    body: TemplateCreate,
    principal: TemplateAdmin,
    settings: SettingsDep,
    once: OnceDep,
) -> Response:
    async def create(session: AsyncSession) -> TemplatePublic:
        return await templates_store.create_template(
            session, principal=principal, body=body, max_fragments=settings.sms_max_fragments
        )

    return await once.run(principal=principal, request_body=body, create=create)


@router.put(
    "/{template_id}",
    response_model=TemplatePublic,
    summary="A new version of a template (If-Match: the ETag of the version you edited)",
    responses=problems(428),
)
async def update_template(
    body: TemplateUpdate,
    principal: TemplateAdmin,
    db: DatabaseDep,
    settings: SettingsDep,
    response: Response,
    template_id: str = TemplateId,
    if_match: str | None = Header(default=None, max_length=40),
) -> TemplatePublic:
    if if_match is None:
        raise PreconditionRequired()
    try:
        expected = int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise PreconditionFailed("If-Match is not an ETag of this template") from exc
    async with db.transaction() as session:
        template = await templates_store.update_template(
            session,
            principal=principal,
            template_id=template_id,
            body=body,
            expected_version=expected,
            max_fragments=settings.sms_max_fragments,
        )
    response.headers["ETag"] = _etag(template.version)
    return template
