from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tas_common.access import allow
from tas_common.auth import OrgType, Principal
from tas_common.deps import DatabaseDep

PractitionerOrFamily = Annotated[Principal, Depends(allow(
    org_types=[OrgType.school, OrgType.health, OrgType.social_care, OrgType.local_authority, OrgType.family],
    description="practitioners and families; each child is then checked for a relationship"))]

__all__ = ["DatabaseDep", "PractitionerOrFamily"]
