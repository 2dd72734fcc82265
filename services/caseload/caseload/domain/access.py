"""Who may see a child's record (DESIGN.md §5): the child's school's SENCO/DSL/head, the LA's SEND officers, and
the child's own family. Anyone else is told the child does not exist (404)."""
from __future__ import annotations

from tas_common.auth import OrgType, Principal

from .models import Child

SCHOOL_LEADS = ("senco", "dsl", "head")
LA_ROLES = ("send_officer",)


def can_see_child(principal: Principal, child: Child) -> bool:
    match principal.org_type:
        case OrgType.school:
            return child.school_urn in principal.school_urns and principal.has_role(*SCHOOL_LEADS)
        case OrgType.local_authority:
            return child.la_code is not None and child.la_code == principal.la_code and principal.has_role(*LA_ROLES)
        case OrgType.family:
            return child.id in principal.child_ids
        case _:
            return False
