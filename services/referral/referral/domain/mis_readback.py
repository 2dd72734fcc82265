"""Read back (issue 17.3): an MIS client sees, by its own record id, what became of each concern it pushed — stored,
linked to a child, its referrals' services, statuses and dates — for the schools its registration names now, and
nothing of another client's pushes (404). No clinical detail: no summary, no reasons, notes or outcomes; a
safeguarding concern's referrals are withheld (the DSL follows them in TAS). Every read is audited."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.errors import NotFound
from tas_common.paging import Key, Keyset, Page

from .mis_schemas import MisConcernStatus, MisReferralStatus
from .models import Concern, Referral, Service

ORDER = Keyset("mis-concerns", Key(Concern.created_at), Key(Concern.id))
"""Oldest first: a vendor syncing its records pages forward."""


async def _statuses(session: AsyncSession, principal: Principal, rows: list[Concern]) -> list[MisConcernStatus]:
    ids = [c.id for c in rows if not c.safeguarding]
    referrals: dict[str, list[MisReferralStatus]] = {}
    if ids:
        found = await session.exec(
            select(Referral, Service.name)
            .join(Service, Referral.service_id == Service.id)  # type: ignore[arg-type]
            .where(Referral.concern_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(Referral.submitted_at, Referral.id)  # type: ignore[arg-type]
        )
        for referral, name in found.all():
            referrals.setdefault(referral.concern_id, []).append(
                MisReferralStatus(
                    referral_id=referral.id,
                    service_id=referral.service_id,
                    service_name=name,
                    status=referral.status,
                    submitted_at=referral.submitted_at,
                    decided_at=referral.decided_at,
                    first_contact_at=referral.first_contact_at,
                    closed_at=referral.closed_at,
                )
            )
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {
                "action": "read",
                "resource_type": "concern",
                "resource_id": c.id,
                "child_id": c.child_id,
                "reason": "mis read back",
            }
            for c in rows
        ],
    )
    return [
        MisConcernStatus(
            mis_record_id=c.mis_record_id or "",
            concern_id=c.id,
            school_urn=c.school_urn,
            status="linked" if c.child_id else "stored",
            version=c.version,
            stored_at=c.created_at,
            updated_at=c.updated_at,
            safeguarding=c.safeguarding,
            referrals=referrals.get(c.id, []),
            referrals_withheld=c.safeguarding,
        )
        for c in rows
    ]


def _mine(principal: Principal):  # type: ignore[no-untyped-def]
    return (Concern.mis_client == principal.sub) & Concern.school_urn.in_(sorted(principal.school_urns))  # type: ignore[attr-defined]


async def get_status(session: AsyncSession, *, principal: Principal, mis_record_id: str) -> MisConcernStatus:
    concern = (
        await session.exec(select(Concern).where(_mine(principal), Concern.mis_record_id == mis_record_id))
    ).first()
    if concern is None:
        raise NotFound("no concern with this record id from this client")
    return (await _statuses(session, principal, [concern]))[0]


async def list_statuses(
    session: AsyncSession, *, principal: Principal, school_urn: str | None, limit: int, cursor: str | None
) -> Page[MisConcernStatus]:
    query = select(Concern).where(_mine(principal))
    if school_urn is not None:
        query = query.where(Concern.school_urn == school_urn)
    if cursor:
        query = query.where(ORDER.after(cursor))
    rows = list((await session.exec(query.order_by(*ORDER.order_by()).limit(limit + 1))).all())
    more, rows = len(rows) > limit, rows[:limit]
    return Page[MisConcernStatus](
        items=await _statuses(session, principal, rows),
        next_cursor=ORDER.cursor((rows[-1].created_at, rows[-1].id)) if more else None,
    )
