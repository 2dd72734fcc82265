"""The family's view of their child's referrals: which service, where it stands and when, in the shape a parent
needs — never the school's note, a decision's reason, an outcome's words, or who decided. Safeguarding referrals
are not shown. A child the family token does not speak for, or whose concerns did not name the token's family
member, does not exist (404)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.errors import NotFound

from .models import Concern, Referral, Service
from .referral_schemas import FamilyReferral


async def family_referrals(session: AsyncSession, *, principal: Principal, child_id: str) -> list[FamilyReferral]:
    named = (
        await session.exec(select(Concern.family_member_ids).where(Concern.child_id == child_id))
    ).all()  # the token's child_ids claim alone is not enough: a family member a concern of the child named
    if child_id not in principal.child_ids or not any(set(ids or []) & principal.family_member_ids for ids in named):
        raise NotFound("no such child")
    rows = (
        await session.exec(
            select(Referral, Service)
            .join(Concern, col(Concern.id) == col(Referral.concern_id))
            .join(Service, col(Service.id) == col(Referral.service_id))
            .where(Concern.child_id == child_id, col(Referral.safeguarding).is_(False))
            .where(col(Concern.safeguarding).is_(False))
            .order_by(col(Referral.submitted_at).desc(), col(Referral.id))
        )
    ).all()
    service_of = {referral.id: service.name for referral, service in rows}
    await audit.record(
        session, actor=principal, action="read", resource_type="referrals", resource_id=child_id, child_id=child_id
    )
    return [
        FamilyReferral(
            id=referral.id,
            service_id=service.id,
            service_name=service.name,
            organisation_name=service.organisation_name,
            service_email=service.email,
            status=referral.status,
            submitted_at=referral.submitted_at,
            decided_at=referral.decided_at,
            first_contact_at=referral.first_contact_at,
            closed_at=referral.closed_at,
            redirected_from_id=referral.redirected_from_id,
            redirected_to_id=referral.redirected_to_id,
            redirected_to_service_name=service_of.get(referral.redirected_to_id or ""),
        )
        for referral, service in rows
    ]
