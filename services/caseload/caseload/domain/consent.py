"""Consent and lawful basis to share the child's information, per agency type (docs/architecture.md §5). Recorded by the
SENCO or DSL of the child's school, or by a family member with parental responsibility (who may give, refuse or
withdraw consent but not record a lawful basis). Every change emits `tas.caseload.consent.changed`, which referral
keeps to check a new referral to an agency outside the school."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden
from tas_common.events.schemas import ConsentChangedV1
from tas_common.visibility import is_safeguarding_lead

from .access import family_member_of, visible_child
from .access_schemas import ConsentPublic, ConsentRecord, ConsentUpdate
from .chronology import record_change
from .models import Child, Consent


def _public(row: Consent) -> ConsentPublic:
    return ConsentPublic.model_validate(row, from_attributes=True)


async def _rows(session: AsyncSession, child_id: str) -> list[Consent]:
    return list(
        (
            await session.exec(
                select(Consent).where(Consent.child_id == child_id).order_by(col(Consent.recorded_at).desc())
            )
        ).all()
    )


def _record(child_id: str, rows: list[Consent]) -> ConsentRecord:
    current: dict[str, Consent] = {}
    for row in rows:  # newest first
        current.setdefault(row.agency_type, row)
    return ConsentRecord(
        child_id=child_id,
        current=[_public(r) for r in sorted(current.values(), key=lambda r: r.agency_type)],
        history=[_public(r) for r in rows],
    )


async def get_consent(session: AsyncSession, *, principal: Principal, child_id: str) -> ConsentRecord:
    child = await visible_child(session, principal, child_id)
    await audit.record(
        session, actor=principal, action="read", resource_type="consent", resource_id=child.id, child_id=child.id
    )
    return _record(child.id, await _rows(session, child.id))


async def _may_record(session: AsyncSession, principal: Principal, child: Child) -> bool:
    if principal.org_type == OrgType.family:
        member = await family_member_of(session, principal, child.id)
        return member is not None and member.parental_responsibility
    return is_safeguarding_lead(principal, child)


async def set_consent(
    session: AsyncSession, *, principal: Principal, child_id: str, data: ConsentUpdate
) -> ConsentRecord:
    child = await visible_child(session, principal, child_id, write=True)
    if not await _may_record(session, principal, child):
        raise Forbidden(
            "consent is recorded by the SENCO or DSL of the child's school, or by a parent with parental responsibility"
        )
    if principal.org_type == OrgType.family and data.lawful_basis:
        raise Forbidden("a lawful basis for sharing without consent is recorded by practitioners")
    row = Consent(
        child_id=child.id,
        agency_type=data.agency_type,
        status=data.status,
        lawful_basis=data.lawful_basis,
        note=data.note,
        recorded_by=principal.sub,
        recorded_by_org=principal.org_id,
        recorded_by_org_type=str(principal.org_type),
    )
    session.add(row)
    await session.flush()
    basis = f" (lawful basis: {data.lawful_basis.replace('_', ' ')})" if data.lawful_basis else ""
    await record_change(
        session,
        principal=principal,
        child_id=child.id,
        action="update",
        kind="consent_changed",
        summary=f"Consent to share with {data.agency_type.replace('_', ' ')}: {data.status}{basis}",
        ref_type="consent",
        ref_id=row.id,
        sensitivity="family",
        reason=f"{data.agency_type}: {data.status}",
        event=ConsentChangedV1(
            child_id=child.id,
            agency_type=data.agency_type,
            status=data.status,
            lawful_basis=data.lawful_basis,
        ),
    )
    return _record(child.id, await _rows(session, child.id))
