"""The plan is the family's plan: what the family sees of it, and what practitioners are told the family will see.

- Items are `family` sensitivity unless a practitioner marks them `team`, `agency` or `restricted` with a reason not
  to share them; every item a practitioner reads carries `family_visible`, so the editor shows which items the family
  will see (in `about_me`, the family also sees `team` items: their own and the child's words).
- The family sees the plan once a version is shared with them (`shared_for_comment` or `agreed`): needs, outcomes
  and provision as that version has them (never a practitioner's unpublished edit, nor a `draft` version), and
  `about_me` as it stands, their own words included. Versions published as `draft` do not exist for the family.
- While the newest version is shared for comment, the family may comment on its items (domain/comments.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow

from .family_schemas import CommentPeriod
from .models import Child, EhcRequest, Plan, PlanVersion

FAMILY_STATUSES = ("shared_for_comment", "agreed")
COMMENTABLE = ("needs", "outcomes", "provision")
UK = ZoneInfo("Europe/London")
EHC_COMMENT_DAYS = 15
DEFAULT_COMMENT_DAYS = 14


def family_sees(section: str, sensitivity: str) -> bool:
    """The sensitivity rule of domain/access.py's `can_see_item`, for a family member."""
    return sensitivity in ("family", "team") if section == "about_me" else sensitivity == "family"


def marked(items: list[dict[str, Any]], section: str) -> list[dict[str, Any]]:
    """Items as a practitioner reads them: each says whether the family will see it."""
    return [{**i, "family_visible": family_sees(section, i.get("sensitivity", "team"))} for i in items]


def is_family(principal: Principal) -> bool:
    return principal.org_type == OrgType.family


def family_may_see(principal: Principal, version: PlanVersion) -> bool:
    """A version exists for the family only once it was shared with them."""
    return not is_family(principal) or version.status in FAMILY_STATUSES


async def latest_shared(session: AsyncSession, plan: Plan) -> PlanVersion | None:
    return (
        await session.exec(
            select(PlanVersion)
            .where(PlanVersion.plan_id == plan.id, col(PlanVersion.status).in_(FAMILY_STATUSES))
            .order_by(col(PlanVersion.number).desc())
            .limit(1)
        )
    ).first()


async def newest(session: AsyncSession, plan: Plan) -> PlanVersion | None:
    if not plan.published_version:
        return None
    return (
        await session.exec(
            select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == plan.published_version)
        )
    ).first()


async def _ehc_draft(session: AsyncSession, child_id: str) -> EhcRequest | None:
    """The child's EHC needs assessment whose draft plan is out (issued, not yet final)."""
    return (
        await session.exec(
            select(EhcRequest)
            .where(
                EhcRequest.child_id == child_id,
                col(EhcRequest.draft_issued_on).is_not(None),
                col(EhcRequest.final_issued_on).is_(None),
            )
            .order_by(col(EhcRequest.requested_on).desc())
        )
    ).first()


async def comment_period(
    session: AsyncSession, *, child: Child, plan: Plan, version: PlanVersion | None, default_days: int
) -> CommentPeriod | None:
    """Until when the family may comment on a version shared for comment: for an EHC draft, 15 days from the day
    the LA issued the draft (to the end of that day in UK time, as the EHC clock counts it); for any other plan,
    `default_days` (TAS_PLAN_COMMENT_DAYS) from when the version was shared. Only the newest version is open."""
    if version is None or version.status != "shared_for_comment":
        return None
    ehc = await _ehc_draft(session, child.id)
    kind: Literal["ehc_draft", "plan"]
    if ehc is not None and ehc.draft_issued_on is not None:
        last_day = ehc.draft_issued_on + timedelta(days=EHC_COMMENT_DAYS)
        ends, kind = datetime.combine(last_day, time(23, 59, 59), UK).astimezone(UTC), "ehc_draft"
    else:
        published = version.published_at if version.published_at.tzinfo else version.published_at.replace(tzinfo=UTC)
        ends, kind = published + timedelta(days=default_days), "plan"
    is_newest = version.number == plan.published_version
    return CommentPeriod(version=version.number, kind=kind, ends_at=ends, open=is_newest and utcnow() < ends)
