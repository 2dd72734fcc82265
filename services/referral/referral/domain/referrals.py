"""Referrals from a concern to services of the local offer, and their workflow:

    submitted → accepted | declined | redirected | withdrawn;  accepted → completed | withdrawn

The receiving service's practitioners (domain/practitioners.py: its roles in its organisation, or members the
directory records) see the referral, accept, decline, redirect, record first contact and complete; others of the same
organisation get 404. The referring school's staff withdraw. Every move emits its event.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden, NotFound
from tas_common.events import CloudEvent, EventPayload, new_event
from tas_common.events.schemas import (
    ReferralAcceptedV1,
    ReferralCompletedV1,
    ReferralDeclinedV1,
    ReferralFirstContactRecordedV1,
    ReferralRedirectedV1,
    ReferralSubmittedV1,
    ReferralWithdrawnV1,
)
from tas_common.outbox import add_event
from tas_common.paging import Key, Keyset, Page
from tas_common.visibility import LA_OFFICER_ROLES, is_la_officer
from tas_common.vocab import SCHOOL_STAFF_ROLES, ConsentStatus, Urgency

from . import consent, offer, wait_clock
from .exceptions import AlreadyReferred, IllegalTransition, ServiceUnavailable, invalid_field
from .models import Concern, FamilyContact, Referral, Service
from .practitioners import is_practitioner_of, services_of
from .schemas import (
    AcceptIn,
    ChildIdentityPublic,
    CompleteIn,
    FamilyContactPublic,
    LawfulBasis,
    ReasonIn,
    RedirectIn,
    ReferralConcernPublic,
    ReferralCreate,
    ReferralList,
    ReferralPublic,
    ReferralStatus,
)

SOURCE = "tas/referral"
OPEN = (ReferralStatus.submitted.value, ReferralStatus.accepted.value)
SAFEGUARDING_READERS = ("dsl", "head", "senco")


# --- who may do what ------------------------------------------------------------------------------------------


def is_school_staff_of(principal: Principal, school_urn: str) -> bool:
    return (
        principal.org_type == OrgType.school
        and school_urn in principal.school_urns
        and principal.has_role(*SCHOOL_STAFF_ROLES)
    )


def is_referrer(principal: Principal, referral: Referral) -> bool:
    """The referring school's staff; a teacher sees a safeguarding referral only when they made it."""
    if not is_school_staff_of(principal, referral.school_urn):
        return False
    return (
        not referral.safeguarding
        or principal.has_role(*SAFEGUARDING_READERS)
        or referral.referred_by_sub == principal.sub
    )


async def can_see(session: AsyncSession, principal: Principal, referral: Referral, service: Service) -> bool:
    return (
        is_referrer(principal, referral)
        or is_la_officer(principal, referral)
        or await is_practitioner_of(session, principal, service)
    )


# --- events -----------------------------------------------------------------------------------------------------


def _base(referral: Referral, concern: Concern, service: Service | None = None) -> dict[str, object]:
    return {
        "referral_id": referral.id,
        "concern_id": referral.concern_id,
        "child_id": concern.child_id,
        "service_id": referral.service_id,
        "school_urn": referral.school_urn,
        "safeguarding": referral.safeguarding,
        "service_name": service.name if service is not None else None,
        "organisation_name": service.organisation_name if service is not None else None,
        "service_contact_email": service.email if service is not None else None,
    }


def _event(payload: EventPayload, referral: Referral) -> CloudEvent:
    return new_event(payload, source=SOURCE, subject=referral.id)


def submitted_event(referral: Referral, concern: Concern, service: Service) -> CloudEvent:
    return _event(
        ReferralSubmittedV1(
            **_base(referral, concern, service),
            service_org_id=service.organisation_id,
            service_org_type=service.organisation_type,
            urgency=referral.urgency,
            la_code=referral.la_code,
            target_wait_days=service.target_wait_days,
        ),
        referral,
    )


def first_contact_event(referral: Referral, concern: Concern) -> CloudEvent:
    assert referral.first_contact_at is not None
    return _event(
        ReferralFirstContactRecordedV1(**_base(referral, concern), first_contact_at=referral.first_contact_at), referral
    )


# --- creating -----------------------------------------------------------------------------------------------------


async def _open_referral_to(session: AsyncSession, concern_id: str, service_id: str) -> Referral | None:
    return (
        await session.exec(
            select(Referral).where(
                Referral.concern_id == concern_id, Referral.service_id == service_id, col(Referral.status).in_(OPEN)
            )
        )
    ).first()


async def _submit(
    session: AsyncSession,
    *,
    principal: Principal,
    concern: Concern,
    service: Service,
    urgency: str,
    note: str | None,
    redirected_from: Referral | None = None,
) -> Referral:
    if service.status != "active":
        raise ServiceUnavailable(f"{service.name} is not taking referrals", service_id=service.id)
    lawful_basis = await consent.sharing_basis(session, concern=concern, service=service)
    if await _open_referral_to(session, concern.id, service.id) is not None:
        raise AlreadyReferred(f"this concern already has an open referral to {service.name}", service_id=service.id)
    referral = Referral(
        concern_id=concern.id,
        service_id=service.id,
        school_urn=concern.school_urn,
        la_code=concern.la_code,
        urgency=urgency,
        safeguarding=concern.safeguarding,
        note=note,
        consent_status=concern.consent_status,
        lawful_basis=lawful_basis,
        referred_by_sub=redirected_from.referred_by_sub if redirected_from else principal.sub,
        referred_by_name=redirected_from.referred_by_name if redirected_from else principal.name,
        referred_by_org=redirected_from.referred_by_org if redirected_from else principal.org_id,
        redirected_from_id=redirected_from.id if redirected_from else None,
    )
    session.add(referral)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="create",
        resource_type="referral",
        resource_id=referral.id,
        child_id=concern.child_id,
    )
    await add_event(session, submitted_event(referral, concern, service))
    return referral


async def create_referrals(session: AsyncSession, *, principal: Principal, data: ReferralCreate) -> ReferralList:
    concern = await session.get(Concern, data.concern_id)
    if (
        concern is None
        or not is_school_staff_of(principal, concern.school_urn)
        or (
            concern.safeguarding
            and not principal.has_role(*SAFEGUARDING_READERS)
            and concern.raised_by_sub != principal.sub
        )
    ):
        raise NotFound("no such concern")
    services = []
    for index, service_id in enumerate(data.service_ids):
        service = await session.get(Service, service_id)
        if service is None:
            raise invalid_field(f"body.service_ids.{index}", "no such service in the local offer")
        services.append(service)
    urgency = str(data.urgency or concern.urgency)
    created = [
        await _submit(session, principal=principal, concern=concern, service=s, urgency=urgency, note=data.note)
        for s in services
    ]
    contacts = await _contacts(session, concern.id)
    return ReferralList(items=[to_public(r, s, concern, contacts) for r, s in zip(created, services, strict=False)])


async def refer_to_front_door(session: AsyncSession, *, principal: Principal, concern: Concern) -> Referral | None:
    """A safeguarding concern goes to its LA's children's social care front door at once, urgent, on the lawful
    basis of safeguarding when the family has not consented."""
    service = await offer.front_door_for(session, concern.la_code)
    if service is None:
        return None
    if concern.consent_status != ConsentStatus.given and not concern.lawful_basis:
        concern.lawful_basis = LawfulBasis.safeguarding.value
        session.add(concern)
    return await _submit(
        session,
        principal=principal,
        concern=concern,
        service=service,
        urgency=Urgency.urgent.value,
        note="Safeguarding concern raised by the school: routed to the front door automatically.",
    )


async def front_door_referral_of(session: AsyncSession, concern: Concern) -> Referral | None:
    rows = (
        await session.exec(
            select(Referral, Service)
            .join(Service, col(Referral.service_id) == col(Service.id))
            .where(Referral.concern_id == concern.id)
            .order_by(col(Referral.submitted_at))
        )
    ).all()
    return next((r for r, s in rows if offer.FRONT_DOOR in s.taxonomy), None)


# --- reading ------------------------------------------------------------------------------------------------------


async def _contacts(session: AsyncSession, concern_id: str) -> list[FamilyContact]:
    return list((await session.exec(select(FamilyContact).where(FamilyContact.concern_id == concern_id))).all())


async def _load(session: AsyncSession, principal: Principal, referral_id: str) -> tuple[Referral, Service, Concern]:
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("no such referral")
    service = await session.get(Service, referral.service_id)
    concern = await session.get(Concern, referral.concern_id)
    if service is None or concern is None or not await can_see(session, principal, referral, service):
        raise NotFound("no such referral")
    return referral, service, concern


async def get_referral(session: AsyncSession, *, principal: Principal, referral_id: str) -> ReferralPublic:
    referral, service, concern = await _load(session, principal, referral_id)
    await audit.record(
        session,
        actor=principal,
        action="read",
        resource_type="referral",
        resource_id=referral.id,
        child_id=concern.child_id,
    )
    return to_public(referral, service, concern, await _contacts(session, concern.id))


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


# --- the workflow -------------------------------------------------------------------------------------------------


def _require_state(referral: Referral, allowed: tuple[str, ...], move: str) -> None:
    if referral.status not in allowed:
        raise IllegalTransition(f"a {referral.status} referral cannot be {move}", referral_status=referral.status)


async def _require_receiver(session: AsyncSession, principal: Principal, service: Service) -> None:
    if not await is_practitioner_of(session, principal, service):
        raise Forbidden("only the receiving service's practitioners may do this")


def _check_contact_time(referral: Referral, at: datetime, field: str) -> datetime:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    submitted = referral.submitted_at if referral.submitted_at.tzinfo else referral.submitted_at.replace(tzinfo=UTC)
    if at < submitted or at > utcnow():
        raise invalid_field(field, "first contact must be after the referral was submitted and not in the future")
    return at


async def _moved(
    session: AsyncSession,
    *,
    principal: Principal,
    referral: Referral,
    service: Service,
    concern: Concern,
    action: str,
    event: CloudEvent | None,
) -> ReferralPublic:
    session.add(referral)
    await audit.record(
        session,
        actor=principal,
        action=action,
        resource_type="referral",
        resource_id=referral.id,
        child_id=concern.child_id,
    )
    if event is not None:
        await add_event(session, event)
    return to_public(referral, service, concern, await _contacts(session, concern.id))


async def accept(session: AsyncSession, *, principal: Principal, referral_id: str, data: AcceptIn) -> ReferralPublic:
    referral, service, concern = await _load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.submitted,), "accepted")
    referral.status = ReferralStatus.accepted.value
    referral.decided_at = utcnow()
    referral.decided_by_sub, referral.decided_by_name = principal.sub, principal.name
    if data.first_contact_at is not None:
        referral.first_contact_at = _check_contact_time(referral, data.first_contact_at, "body.first_contact_at")
        await add_event(session, first_contact_event(referral, concern))
    event = _event(
        ReferralAcceptedV1(
            **_base(referral, concern, service),
            practitioner_sub=principal.sub,
            practitioner_name=principal.name,
            practitioner_org_id=principal.org_id,
            practitioner_org_type=str(principal.org_type),
            practitioner_role=sorted(principal.roles)[0] if principal.roles else None,
        ),
        referral,
    )
    return await _moved(
        session, principal=principal, referral=referral, service=service, concern=concern, action="accept", event=event
    )


async def decline(session: AsyncSession, *, principal: Principal, referral_id: str, data: ReasonIn) -> ReferralPublic:
    referral, service, concern = await _load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.submitted,), "declined")
    referral.status = ReferralStatus.declined.value
    referral.decided_at = referral.closed_at = utcnow()
    referral.decided_by_sub, referral.decided_by_name = principal.sub, principal.name
    referral.decision_reason = data.reason
    event = _event(ReferralDeclinedV1(**_base(referral, concern, service), reason=data.reason), referral)
    return await _moved(
        session, principal=principal, referral=referral, service=service, concern=concern, action="decline", event=event
    )


async def redirect(session: AsyncSession, *, principal: Principal, referral_id: str, data: RedirectIn) -> ReferralList:
    """Close this referral as redirected and submit a linked one to the other service."""
    referral, service, concern = await _load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.submitted,), "redirected")
    target = await session.get(Service, data.to_service_id)
    if target is None:
        raise invalid_field("body.to_service_id", "no such service in the local offer")
    if target.id == service.id:
        raise invalid_field("body.to_service_id", "redirect to another service")
    new = await _submit(
        session,
        principal=principal,
        concern=concern,
        service=target,
        urgency=referral.urgency,
        note=referral.note,
        redirected_from=referral,
    )
    referral.status = ReferralStatus.redirected.value
    referral.decided_at = referral.closed_at = utcnow()
    referral.decided_by_sub, referral.decided_by_name = principal.sub, principal.name
    referral.decision_reason = data.reason
    referral.redirected_to_id = new.id
    event = _event(
        ReferralRedirectedV1(
            **_base(referral, concern, service), new_referral_id=new.id, to_service_id=target.id, reason=data.reason
        ),
        referral,
    )
    contacts = await _contacts(session, concern.id)
    moved = await _moved(
        session,
        principal=principal,
        referral=referral,
        service=service,
        concern=concern,
        action="redirect",
        event=event,
    )
    return ReferralList(items=[moved, to_public(new, target, concern, contacts)])


async def withdraw(session: AsyncSession, *, principal: Principal, referral_id: str, data: ReasonIn) -> ReferralPublic:
    referral, service, concern = await _load(session, principal, referral_id)
    if not is_referrer(principal, referral):
        raise Forbidden("only the referring school may withdraw a referral")
    _require_state(referral, OPEN, "withdrawn")
    referral.status = ReferralStatus.withdrawn.value
    referral.closed_at = utcnow()
    referral.decision_reason = data.reason
    event = _event(ReferralWithdrawnV1(**_base(referral, concern, service), reason=data.reason), referral)
    return await _moved(
        session,
        principal=principal,
        referral=referral,
        service=service,
        concern=concern,
        action="withdraw",
        event=event,
    )


async def complete(
    session: AsyncSession, *, principal: Principal, referral_id: str, data: CompleteIn
) -> ReferralPublic:
    referral, service, concern = await _load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.accepted,), "completed")
    referral.status = ReferralStatus.completed.value
    referral.closed_at = utcnow()
    referral.outcome = data.outcome
    event = _event(ReferralCompletedV1(**_base(referral, concern, service), outcome=data.outcome), referral)
    return await _moved(
        session,
        principal=principal,
        referral=referral,
        service=service,
        concern=concern,
        action="complete",
        event=event,
    )


async def first_contact(
    session: AsyncSession, *, principal: Principal, referral_id: str, contacted_at: datetime | None
) -> ReferralPublic:
    """Stop the waiting clock: the receiving service first saw or spoke with the child or family."""
    referral, service, concern = await _load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, OPEN, "given a first contact")
    if referral.first_contact_at is not None:
        raise IllegalTransition("first contact is already recorded", referral_status=referral.status)
    referral.first_contact_at = _check_contact_time(referral, contacted_at or utcnow(), "body.contacted_at")
    return await _moved(
        session,
        principal=principal,
        referral=referral,
        service=service,
        concern=concern,
        action="first_contact",
        event=first_contact_event(referral, concern),
    )


# --- shapes -------------------------------------------------------------------------------------------------------


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
