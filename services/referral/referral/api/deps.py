"""Who may call referral's routes, and what routes inject."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tas_common.access import allow
from tas_common.auth import OrgType, Principal
from tas_common.deps import DatabaseDep, IdempotencyKey
from tas_common.vocab import SCHOOL_STAFF_ROLES

SchoolStaff = Annotated[Principal, Depends(allow(org_types=[OrgType.school], roles=SCHOOL_STAFF_ROLES,
                                                  description="SENCO, DSL, teacher or head of a school"))]

__all__ = ["DatabaseDep", "IdempotencyKey", "SchoolStaff"]
