"""Who may call insights' routes, and what routes inject."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from tas_common.access import allow
from tas_common.auth import OrgType, Principal
from tas_common.deps import DatabaseDep

InsightsReader = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school, OrgType.health, OrgType.social_care, OrgType.local_authority],
            description="an LA's SEND officers (their LA), a school's leads (their school), a service's practitioners "
            "or managers (their service); families and MIS clients are refused",
        )
    ),
]
LaCode = Annotated[str | None, Query(pattern=r"^\d{3}$", description="a local authority (its SEND officers)")]
SchoolUrn = Annotated[str | None, Query(pattern=r"^\d{6}$", description="a school (its leads, its LA)")]
ServiceId = Annotated[
    str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="a service (its practitioners, its LA)")
]
PeriodText = Annotated[
    str | None,
    Query(
        max_length=20,
        description="`2025` (calendar year), `2025/26` (academic year), `2025-03` (month), `2025-01..2025-06`, "
        "or `last-12-months` (the default)",
    ),
]
Format = Annotated[
    str | None, Query(pattern=r"^(json|csv)$", description="`csv` for a table as CSV (or Accept: text/csv)")
]
TableName = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$", description="the table a CSV gives")]

__all__ = ["DatabaseDep", "Format", "InsightsReader", "LaCode", "PeriodText", "SchoolUrn", "ServiceId", "TableName"]
