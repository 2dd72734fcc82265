"""Who a service's practitioners are: a referral belongs to the service it was sent to, and only that service's
practitioners see and decide it — not everyone in the organisation that runs the service (an OT of an NHS trust
does not see the trust's speech and language referrals).

A practitioner of a service is a caller of the service's organisation (token `org_id`) holding one of the service's
`practitioner_roles`, or one whom the directory records as a member of the service's team (token `sub` + `org_id`),
kept by the offer administrators of the service's LA under `/v1/services/{id}/members`.
"""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Conflict, NotFound

from .models import Service, ServiceMember
from .service_schemas import ServiceMemberCreate, ServiceMemberPublic

PRACTITIONER_ORG_TYPES = (OrgType.school, OrgType.health, OrgType.social_care, OrgType.local_authority)


def holds_service_role(principal: Principal, service: Service) -> bool:
    return (
        principal.org_type in PRACTITIONER_ORG_TYPES
        and principal.org_id == service.organisation_id
        and principal.has_role(*service.practitioner_roles)
    )


async def _membership(session: AsyncSession, principal: Principal, service_id: str) -> ServiceMember | None:
    return (
        await session.exec(
            select(ServiceMember).where(
                ServiceMember.service_id == service_id,
                ServiceMember.sub == principal.sub,
                ServiceMember.org_id == principal.org_id,
            )
        )
    ).first()


async def is_practitioner_of(session: AsyncSession, principal: Principal, service: Service) -> bool:
    """The caller is one of the service's practitioners: they see and decide the referrals sent to it."""
    if principal.org_type not in PRACTITIONER_ORG_TYPES:
        return False
    return holds_service_role(principal, service) or await _membership(session, principal, service.id) is not None


async def services_of(session: AsyncSession, principal: Principal) -> list[str]:
    """The ids of the services of which the caller is a practitioner (for the referral list's scope)."""
    if principal.org_type not in PRACTITIONER_ORG_TYPES:
        return []
    own_org = (await session.exec(select(Service).where(Service.organisation_id == principal.org_id))).all()
    ids = {s.id for s in own_org if holds_service_role(principal, s)}
    ids |= set(
        (
            await session.exec(
                select(ServiceMember.service_id).where(
                    ServiceMember.sub == principal.sub, ServiceMember.org_id == principal.org_id
                )
            )
        ).all()
    )
    return sorted(ids)


# --- the directory's record of a service's team (the LA's offer administrators) ---------------------------------


async def _service_of_my_la(session: AsyncSession, principal: Principal, service_id: str) -> Service:
    service = await session.get(Service, service_id)
    if service is None or not principal.la_code or service.la_code != principal.la_code:
        raise NotFound("no such service in your local offer")
    return service


def _public(member: ServiceMember) -> ServiceMemberPublic:
    return ServiceMemberPublic.model_validate(member, from_attributes=True)


async def list_members(session: AsyncSession, *, principal: Principal, service_id: str) -> list[ServiceMemberPublic]:
    service = await _service_of_my_la(session, principal, service_id)
    rows = (
        await session.exec(
            select(ServiceMember)
            .where(ServiceMember.service_id == service.id)
            .order_by(ServiceMember.org_id, ServiceMember.sub)
        )
    ).all()
    await audit.record(session, actor=principal, action="read", resource_type="service_team", resource_id=service.id)
    return [_public(m) for m in rows]


async def add_member(
    session: AsyncSession, *, principal: Principal, service_id: str, data: ServiceMemberCreate
) -> ServiceMemberPublic:
    service = await _service_of_my_la(session, principal, service_id)
    existing = (
        await session.exec(
            select(ServiceMember).where(
                ServiceMember.service_id == service.id,
                ServiceMember.sub == data.sub,
                ServiceMember.org_id == data.org_id,
            )
        )
    ).first()
    if existing is not None:
        raise Conflict("already a member of this service's team", member_id=existing.id)
    member = ServiceMember(service_id=service.id, **data.model_dump(), added_by=principal.sub)
    session.add(member)
    await session.flush()
    await audit.record(session, actor=principal, action="create", resource_type="service_member", resource_id=member.id)
    return _public(member)


async def remove_member(session: AsyncSession, *, principal: Principal, service_id: str, member_id: str) -> None:
    service = await _service_of_my_la(session, principal, service_id)
    member = await session.get(ServiceMember, member_id)
    if member is None or member.service_id != service.id:
        raise NotFound("no such member of this service's team")
    await session.delete(member)
    await audit.record(session, actor=principal, action="delete", resource_type="service_member", resource_id=member_id)
