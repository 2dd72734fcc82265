"""Who may see and move a referral: the referring school's staff, the receiving service's practitioners
(domain/practitioners.py), the LA's officers."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.auth import OrgType, Principal
from tas_common.visibility import is_la_officer
from tas_common.vocab import SCHOOL_STAFF_ROLES

from .models import Referral, Service
from .practitioners import is_practitioner_of
from .referral_schemas import ReferralStatus

OPEN = (ReferralStatus.submitted.value, ReferralStatus.accepted.value)
SAFEGUARDING_READERS = ("dsl", "head", "senco")


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
