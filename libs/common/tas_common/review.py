"""Records flagged for review (caseload's break-glass grants, referral's consent overrides): the reviewers' queue
and the review itself, the same in each service. The queue lists unreviewed first, then newest, and audits each
row it shows; a review is recorded once (a second is 409) and audited with its note. Who may review which rows
(the scope of the queue, the check before a review) stays with each service."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.orm import Mapped
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from . import audit
from .auth import Principal
from .db import utcnow
from .errors import Conflict


class Reviewable(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def child_id(self) -> str | None: ...

    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


R = TypeVar("R", bound=Reviewable)


async def list_for_review(
    session: AsyncSession,
    query: SelectOfScalar[R],
    *,
    principal: Principal,
    resource_type: str,
    reviewed_at: Mapped[datetime | None],
    newest: Mapped[datetime],
    reviewed: bool | None,
    limit: int,
) -> list[R]:
    """The rows of `query` (already scoped to what `principal` reviews): only the reviewed or unreviewed ones when
    `reviewed` says, unreviewed first, then newest by the column `newest` (both columns as sqlmodel's `col(...)`); each read audited as `resource_type`."""
    if reviewed is not None:
        query = query.where(reviewed_at.is_not(None) if reviewed else reviewed_at.is_(None))
    rows = list((await session.exec(query.order_by(reviewed_at.is_not(None), newest.desc()).limit(limit))).all())
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {"action": "read", "resource_type": resource_type, "resource_id": row.id, "child_id": row.child_id}
            for row in rows
        ],
    )
    return rows


async def mark_reviewed(
    session: AsyncSession, row: Reviewable, *, principal: Principal, resource_type: str, note: str
) -> None:
    """Record `principal`'s review of `row` (which they may review) with `note`; Conflict if it was reviewed."""
    if row.reviewed_at is not None:
        raise Conflict("already reviewed")
    row.reviewed_at, row.reviewed_by, row.review_note = utcnow(), principal.sub, note
    session.add(row)
    await audit.record(
        session,
        actor=principal,
        action="review",
        resource_type=resource_type,
        resource_id=row.id,
        child_id=row.child_id,
        reason=note[:500],
    )
