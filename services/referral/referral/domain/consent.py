"""Whether a concern may be shared with an agency outside the school, and overrides of that.

The newest position wins, per child and agency type (the receiving service's organisation type):

1. an override recorded on the concern for that agency type (a DSL of the school or the LA's SEND officer, with a
   lawful basis and a reason; flagged for review) — shared on its lawful basis;
2. a safeguarding concern with a lawful basis — shared on it (the front door is never held back);
3. caseload's consent record for the child and agency type (`tas.caseload.consent.changed`): a lawful basis, or
   consent given, shares; refused or withdrawn does not;
4. otherwise the concern's own position: consent given, or a lawful basis recorded on it.

Anything else is 409 `consent-required`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden, NotFound
from tas_common.events.schemas import ConsentChangedV1
from tas_common.review import list_for_review, mark_reviewed
from tas_common.vocab import ConsentStatus

from .concern_schemas import ConsentOverrideCreate, ConsentOverridePublic, ConsentOverrideReview
from .exceptions import ConsentRequired
from .models import ChildConsent, Concern, ConsentOverride, Service

OVERRIDE_ROLES = ("dsl", "send_officer")


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def consent_changed(session: AsyncSession, *, change: ConsentChangedV1, at: datetime) -> None:
    """Keep caseload's newest position per child and agency type (an older event arriving late changes nothing)."""
    row = await session.get(ChildConsent, (change.child_id, change.agency_type))
    if row is not None and _aware(row.changed_at) > _aware(at):
        return
    row = row or ChildConsent(
        child_id=change.child_id, agency_type=change.agency_type, status=change.status, changed_at=at
    )
    row.status, row.lawful_basis, row.changed_at = change.status, change.lawful_basis, at
    session.add(row)


def shares_outside_school(service: Service, concern: Concern) -> bool:
    return not (service.organisation_type == "school" and service.organisation_id == concern.raised_by_org)


async def sharing_basis(session: AsyncSession, *, concern: Concern, service: Service) -> str | None:
    """The lawful basis to record on a referral of `concern` to `service` (None: shared on consent, or not shared
    beyond the school); raises ConsentRequired when it may not be shared."""
    if not shares_outside_school(service, concern):
        return concern.lawful_basis
    agency = service.organisation_type
    override = (
        await session.exec(
            select(ConsentOverride)
            .where(ConsentOverride.concern_id == concern.id, ConsentOverride.agency_type == agency)
            .order_by(col(ConsentOverride.created_at).desc())
        )
    ).first()
    if override is not None:
        return override.lawful_basis
    if concern.safeguarding and concern.lawful_basis:
        return concern.lawful_basis
    current = await session.get(ChildConsent, (concern.child_id, agency)) if concern.child_id else None
    if current is not None:
        if current.lawful_basis:
            return current.lawful_basis
        if current.status == ConsentStatus.given:
            return None
        raise ConsentRequired(
            f"{service.name} is {agency.replace('_', ' ')}: the child's consent record says {current.status} for "
            "this agency type; a DSL or the LA's SEND officer may record an override with a lawful basis",
            service_id=service.id,
            agency_type=agency,
        )
    if concern.consent_status == ConsentStatus.given or concern.lawful_basis:
        return concern.lawful_basis
    raise ConsentRequired(
        f"{service.name} is outside the school: the concern records consent as {concern.consent_status} and no "
        "lawful basis; record the family's consent or a lawful basis (e.g. safeguarding) on the concern first",
        service_id=service.id,
        agency_type=agency,
    )


def _may_override(principal: Principal, *, school_urn: str, la_code: str | None) -> bool:
    if principal.org_type == OrgType.school:
        return principal.has_role("dsl") and school_urn in principal.school_urns
    if principal.org_type == OrgType.local_authority:
        return principal.has_role("send_officer") and la_code is not None and principal.la_code == la_code
    return False


def _public(row: ConsentOverride) -> ConsentOverridePublic:
    return ConsentOverridePublic.model_validate(row, from_attributes=True)


async def create_override(
    session: AsyncSession, *, principal: Principal, concern_id: str, data: ConsentOverrideCreate
) -> ConsentOverridePublic:
    concern = await session.get(Concern, concern_id)
    if concern is None or not _may_override(principal, school_urn=concern.school_urn, la_code=concern.la_code):
        raise NotFound("no such concern")
    row = ConsentOverride(
        concern_id=concern.id,
        school_urn=concern.school_urn,
        la_code=concern.la_code,
        child_id=concern.child_id,
        agency_type=data.agency_type,
        lawful_basis=str(data.lawful_basis),
        reason=data.reason,
        by_sub=principal.sub,
        by_org=principal.org_id,
        by_org_type=str(principal.org_type),
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="consent_override",
        resource_type="concern",
        resource_id=concern.id,
        child_id=concern.child_id,
        reason=f"{data.agency_type} on {data.lawful_basis}: {data.reason}"[:500],
    )
    return _public(row)


async def list_overrides(
    session: AsyncSession, *, principal: Principal, reviewed: bool | None, limit: int
) -> list[ConsentOverridePublic]:
    """The review list: overrides on the DSL's schools' concerns, or the SEND officer's LA's; unreviewed first."""
    scope: ColumnElement[bool]
    if principal.org_type == OrgType.school and principal.has_role("dsl"):
        scope = col(ConsentOverride.school_urn).in_(sorted(principal.school_urns))
    elif principal.org_type == OrgType.local_authority and principal.has_role("send_officer") and principal.la_code:
        scope = col(ConsentOverride.la_code) == principal.la_code
    else:
        raise Forbidden("the overrides are reviewed by the school's DSL and the LA's SEND officers")
    rows = await list_for_review(
        session,
        select(ConsentOverride).where(scope),
        principal=principal,
        resource_type="consent_override",
        reviewed_at=col(ConsentOverride.reviewed_at),
        newest=col(ConsentOverride.created_at),
        reviewed=reviewed,
        limit=limit,
    )
    return [_public(r) for r in rows]


async def review_override(
    session: AsyncSession, *, principal: Principal, override_id: str, data: ConsentOverrideReview
) -> ConsentOverridePublic:
    row = await session.get(ConsentOverride, override_id)
    if row is None or not _may_override(principal, school_urn=row.school_urn, la_code=row.la_code):
        raise NotFound("no such override")
    await mark_reviewed(session, row, principal=principal, resource_type="consent_override", note=data.note)
    return _public(row)
