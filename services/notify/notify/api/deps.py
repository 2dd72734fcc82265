from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tas_common.access import allow
from tas_common.auth import OrgType, Principal
from tas_common.deps import DatabaseDep, OnceDep

from ..config import NotifySettings

PractitionerOrFamily = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school, OrgType.health, OrgType.social_care, OrgType.local_authority, OrgType.family],
            description="practitioners and families; each child is then checked for a relationship",
        )
    ),
]

FamilyMember = Annotated[
    Principal, Depends(allow(org_types=[OrgType.family], description="a family member, for their own preferences"))
]

TemplateAdmin = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.local_authority],
            roles=["notify_admin"],
            description="the local authority's notify administrators",
        )
    ),
]


async def get_settings(request: Request) -> NotifySettings:
    settings: NotifySettings = request.app.state.settings  # set by tas_common.app.create_app
    return settings


SettingsDep = Annotated[NotifySettings, Depends(get_settings)]

__all__ = [
    "DatabaseDep",
    "FamilyMember",
    "OnceDep",
    "PractitionerOrFamily",
    "SettingsDep",
    "TemplateAdmin",
]
