"""Templates in the database, versioned: the newest version of (name, channel, language) is the one used; each
notification records the template id and version it was rendered from. Defaults are seeded by migration 0002."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.driver import DriverStatement
from tas_common.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from tas_common.tables import table_of

from . import content
from .models import MessageTemplate, TemplateVersion
from .schemas import TemplateCreate, TemplatePublic, TemplateUpdate, TemplateVersionPublic
from .templates import Template, TemplateError, sms_length


class TemplateMissing(LookupError):
    pass


_template = table_of(MessageTemplate)
_version = table_of(TemplateVersion)
_CURRENT = DriverStatement(
    core_select(
        _template.c.id,
        _template.c.name,
        _template.c.language,
        _template.c.channel,
        _version.c.version,
        _version.c.subject,
        _version.c.body,
    )
    .join(_version, (_version.c.template_id == _template.c.id) & (_version.c.version == _template.c.current_version))
    .where(
        _template.c.name == bindparam("name"),
        _template.c.channel == bindparam("channel"),
        _template.c.language.in_([bindparam("language"), bindparam("fallback")]),
    )
)
"""The current version of a template in the given languages: one query, compiled once and run on the driver's cursor
(every message reads it)."""


async def template_for(session: AsyncSession, *, name: str, channel: str, language: str) -> Template:
    """The current version in `language`, else in English."""
    params = {"name": name, "channel": channel, "language": language, "fallback": "en"}
    rows = {row[2]: row for row in await _CURRENT.all(session, params)}
    for lang in (language, "en"):
        row = rows.get(lang)
        if row is not None:
            template_id, name, language_found, channel_found, version, subject, body = row
            return Template(
                name=name,
                version=version,
                language=language_found,
                channel=channel_found,
                body=body,
                subject=subject,
                id=template_id,
            )
    raise TemplateMissing(f"no template {name} for {channel}")


def check(template: Template, *, max_fragments: int) -> None:
    """Everything a template must pass before it is saved; InvalidInput names the field."""
    try:
        template.validate(max_fragments=max_fragments)
    except TemplateError as exc:
        raise InvalidInput(str(exc), field="body.body") from exc
    names = template.placeholders()
    bad = content.disallowed_placeholders(names)
    if bad:
        raise InvalidInput(
            f"{len(bad)} placeholder(s) not allowed; allowed: {', '.join(sorted(content.ALLOWED_PLACEHOLDERS))}",
            field="body.body",
        )
    words = content.denied_words(f"{template.subject or ''}\n{template.body}")
    if words:
        raise InvalidInput(
            f"a message must not carry clinical or safeguarding detail: {', '.join(words)}", field="body.body"
        )


async def _public(session: AsyncSession, row: MessageTemplate, *, history: bool = False) -> TemplatePublic:
    version = await session.get(TemplateVersion, (row.id, row.current_version))
    assert version is not None
    template = Template(
        name=row.name,
        version=version.version,
        language=row.language,
        channel=row.channel,
        body=version.body,
        subject=version.subject,
        id=row.id,
    )
    versions: list[TemplateVersionPublic] = []
    if history:
        rows = (
            await session.exec(
                select(TemplateVersion)
                .where(TemplateVersion.template_id == row.id)
                .order_by(col(TemplateVersion.version).desc())
            )
        ).all()
        versions = [TemplateVersionPublic.model_validate(v, from_attributes=True) for v in rows]
    return TemplatePublic(
        id=row.id,
        name=row.name,
        channel=row.channel,
        language=row.language,
        version=version.version,
        subject=version.subject,
        body=version.body,
        placeholders=sorted(template.placeholders()),
        sms_fragments=sms_length(version.body).fragments if row.channel == "sms" else None,
        updated_at=row.updated_at,
        history=versions,
    )


async def list_templates(session: AsyncSession, *, principal: Principal) -> list[TemplatePublic]:
    rows = (
        await session.exec(
            select(MessageTemplate).order_by(
                col(MessageTemplate.name), col(MessageTemplate.channel), col(MessageTemplate.language)
            )
        )
    ).all()
    await audit.record(session, actor=principal, action="read", resource_type="templates", resource_id="*")
    return [await _public(session, row) for row in rows]


async def get_template(session: AsyncSession, *, principal: Principal, template_id: str) -> TemplatePublic:
    row = await session.get(MessageTemplate, template_id)
    if row is None:
        raise NotFound("no such template")
    await audit.record(session, actor=principal, action="read", resource_type="template", resource_id=row.id)
    return await _public(session, row, history=True)


async def create_template(
    session: AsyncSession, *, principal: Principal, body: TemplateCreate, max_fragments: int
) -> TemplatePublic:
    check(
        Template(
            name=body.name,
            version=1,
            language=body.language,
            channel=body.channel,
            body=body.body,
            subject=body.subject,
        ),
        max_fragments=max_fragments,
    )
    exists = (
        await session.exec(
            select(MessageTemplate.id).where(
                MessageTemplate.name == body.name,
                MessageTemplate.channel == body.channel,
                MessageTemplate.language == body.language,
            )
        )
    ).first()
    if exists is not None:
        raise Conflict("that template exists: PUT a new version to it", template_id=exists)
    row = MessageTemplate(name=body.name, channel=body.channel, language=body.language, current_version=1)
    session.add(row)
    await session.flush()
    session.add(
        TemplateVersion(template_id=row.id, version=1, subject=body.subject, body=body.body, created_by=principal.sub)
    )
    await session.flush()
    await audit.record(session, actor=principal, action="create", resource_type="template", resource_id=row.id)
    return await _public(session, row)


async def update_template(
    session: AsyncSession,
    *,
    principal: Principal,
    template_id: str,
    body: TemplateUpdate,
    expected_version: int,
    max_fragments: int,
) -> TemplatePublic:
    """A new version; the caller names the version it edited (If-Match), so a concurrent edit gets 412."""
    row = await session.get(MessageTemplate, template_id)
    if row is None:
        raise NotFound("no such template")
    if row.current_version != expected_version:
        raise PreconditionFailed(f"the template is at version {row.current_version}")
    check(
        Template(
            name=row.name,
            version=row.current_version + 1,
            language=row.language,
            channel=row.channel,
            body=body.body,
            subject=body.subject,
        ),
        max_fragments=max_fragments,
    )
    row.current_version += 1
    row.updated_at = utcnow()
    session.add(row)
    session.add(
        TemplateVersion(
            template_id=row.id,
            version=row.current_version,
            subject=body.subject,
            body=body.body,
            created_by=principal.sub,
        )
    )
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="update",
        resource_type="template",
        resource_id=row.id,
        reason=f"version {row.current_version}",
    )
    return await _public(session, row)
