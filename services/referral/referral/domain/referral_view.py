"""Reading referrals: one (load-or-404, audited), the triage queue the caller may see, and the public shape."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import NotFound
from tas_common.paging import Key, Keyset, Page
from tas_common.visibility import LA_OFFICER_ROLES
from tas_common.vocab import SCHOOL_STAFF_ROLES, Urgency

from . import wait_clock
from .concern_schemas import ChildIdentityPublic, FamilyContactPublic
from .models import Concern, FamilyContact, Referral, Service
from .practitioners import services_of
from .referral_rules import SAFEGUARDING_READERS, can_see
from .referral_schemas import ReferralConcernPublic, ReferralPublic


async def contacts_of(session: AsyncSession, concern_id: str) -> list[FamilyContact]:
    return list((await session.exec(select(FamilyContact).where(FamilyContact.concern_id == concern_id))).all())


async def load(session: AsyncSession, principal: Principal, referral_id: str) -> tuple[Referral, Service, Concern]:
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("no such referral")
    service = await session.get(Service, referral.service_id)
    concern = await session.get(Concern, referral.concern_id)
    if service is None or concern is None or not await can_see(session, principal, referral, service):
        raise NotFound("no such referral")
    return referral, service, concern


async def get_referral(session: AsyncSession, *, principal: Principal, referral_id: str) -> ReferralPublic:
    referral, service, concern = await load(session, principal, referral_id)
    await audit.record(
        session,
        actor=principal,
        action="read",
        resource_type="referral",
        resource_id=referral.id,
        child_id=concern.child_id,
    )
    return to_public(referral, service, concern, await contacts_of(session, concern.id))


REFERRAL_ORDER = Keyset(
    "referrals",
    Key(Referral.urgency == Urgency.urgent.value, descending=True),
    Key(Referral.submitted_at),
    Key(Referral.id),
)
"""A triage queue: urgent first, then oldest first."""


def _key(referral: Referral) -> tuple[object, ...]:
    return referral.urgency == Urgency.urgent.value, referral.submitted_at, referral.id


async def list_referrals(
    session: AsyncSession,
    *,
    principal: Principal,
    status: str | None,
    service_id: str | None,
    concern_id: str | None,
    child_id: str | None,
    school_urn: str | None,
    safeguarding: bool | None,
    limit: int,
    cursor: str | None,
    inbox: bool = False,
) -> Page[ReferralPublic]:
    """The referrals the caller may see: their school's (school staff), their services' (the services' own
    practitioners), their LA's (SEND officers); with `inbox`, only their services' (what they decide). Urgent and
    oldest first: a triage queue."""
    scopes: list[ColumnElement[bool]] = []
    if not inbox and principal.org_type == OrgType.school and principal.has_role(*SCHOOL_STAFF_ROLES):
        scope: ColumnElement[bool] = col(Referral.school_urn).in_(sorted(principal.school_urns))
        if not principal.has_role(*SAFEGUARDING_READERS):
            not_safeguarding = col(Referral.safeguarding) == False  # noqa: E712 (SQL: safeguarding = false)
            scope = scope & (not_safeguarding | (col(Referral.referred_by_sub) == principal.sub))
        scopes.append(scope)
    if services := await services_of(session, principal):
        scopes.append(col(Referral.service_id).in_(services))
    if (
        not inbox
        and principal.org_type == OrgType.local_authority
        and principal.has_role(*LA_OFFICER_ROLES)
        and principal.la_code
    ):
        scopes.append(col(Referral.la_code) == principal.la_code)
    if not scopes:
        return Page[ReferralPublic](items=[])
    query = (
        select(Referral, Service, Concern)
        .join(Service, col(Referral.service_id) == col(Service.id))
        .join(Concern, col(Referral.concern_id) == col(Concern.id))
        .where(or_(*scopes))
    )
    for column, value in (
        (Referral.status, status),
        (Referral.service_id, service_id),
        (Referral.concern_id, concern_id),
        (Concern.child_id, child_id),
        (Referral.school_urn, school_urn),
        (Referral.safeguarding, safeguarding),
    ):
        if value is not None:
            query = query.where(column == value)
    if cursor:
        query = query.where(REFERRAL_ORDER.after(cursor))
    query = query.order_by(*REFERRAL_ORDER.order_by()).limit(limit + 1)
    rows = list((await session.exec(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    concern_ids = {c.id for _, _, c in rows}
    contacts: dict[str, list[FamilyContact]] = {}
    if concern_ids:
        for contact in (
            await session.exec(select(FamilyContact).where(col(FamilyContact.concern_id).in_(sorted(concern_ids))))
        ).all():
            contacts.setdefault(contact.concern_id, []).append(contact)
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {"action": "read", "resource_type": "referral", "resource_id": r.id, "child_id": c.child_id}
            for r, _, c in rows
        ],
    )
    return Page[ReferralPublic](
        items=[to_public(r, s, c, contacts.get(c.id, [])) for r, s, c in rows],
        next_cursor=REFERRAL_ORDER.cursor(_key(rows[-1][0])) if more else None,
    )


def _days(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    return round((end - start).total_seconds() / 86400, 2)


def to_public(referral: Referral, service: Service, concern: Concern, contacts: list[FamilyContact]) -> ReferralPublic:
    return ReferralPublic(
        id=referral.id,
        concern_id=referral.concern_id,
        child_id=concern.child_id,
        service_id=referral.service_id,
        service_name=service.name,
        school_urn=referral.school_urn,
        la_code=referral.la_code,
        status=referral.status,
        urgency=referral.urgency,
        safeguarding=referral.safeguarding,
        note=referral.note,
        consent_status=referral.consent_status,
        lawful_basis=referral.lawful_basis,
        referred_by_sub=referral.referred_by_sub,
        referred_by_name=referral.referred_by_name,
        referred_by_org=referral.referred_by_org,
        redirected_from_id=referral.redirected_from_id,
        redirected_to_id=referral.redirected_to_id,
        decision_reason=referral.decision_reason,
        decided_by_name=referral.decided_by_name,
        outcome=referral.outcome,
        submitted_at=referral.submitted_at,
        decided_at=referral.decided_at,
        first_contact_at=referral.first_contact_at,
        closed_at=referral.closed_at,
        days_to_decision=_days(referral.submitted_at, referral.decided_at),
        days_to_first_contact=_days(referral.submitted_at, referral.first_contact_at),
        days_waiting=(waited := wait_clock.days_waiting(referral)),
        target_wait_days=service.target_wait_days,
        breached=wait_clock.breached(waited, service.target_wait_days),
        concern=ReferralConcernPublic(
            child=ChildIdentityPublic.model_validate(concern),
            areas_of_need=concern.areas_of_need,
            summary=concern.summary,
            already_tried=concern.already_tried,
            graduated_response=concern.graduated_response or [],
            family_contacts=[FamilyContactPublic.model_validate(c, from_attributes=True) for c in contacts],
        ),
    )
