"""Who may see a child (docs/architecture.md §5): the one rule, for every service that holds a child's data.

A child is visible to

- the SENCO, DSL or head of the child's school (a school token whose `school_urns` has the child's school);
- the SEND officers of the child's local authority (a local-authority token whose `la_code` is the child's);
- the child's own family: a family token that names the child in `child_ids` AND whose `sub` the service knows as
  one of the child's family (the claim alone is not trusted: a mis-issued token must not open another child);
- the members of the child's team;

and to nobody else: to anyone else the child does not exist (404). MIS clients see no child's record.

The rule lives here once. What only a service's own data can answer — is this caller on the child's team, is this
`sub` one of the child's family — each service asks of its own records (caseload of its team and family tables,
notify of its replicas of them) and passes in as `on_team` / `in_family`, which the rule awaits only when it needs
the answer. What a service adds on top (caseload's break-glass, merged records, item sensitivities) stays with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from .auth import OrgType, Principal

SCHOOL_LEADS = ("senco", "dsl", "head")
"""School staff who see every child of their school."""
SAFEGUARDING_LEADS = ("senco", "dsl")
"""School leads who also see restricted (safeguarding) items about their school's children."""
LA_OFFICER_ROLES = ("send_officer",)
"""Local-authority staff who see every child of their authority."""

Check = Callable[[], Awaitable[bool]]


class AtSchool(Protocol):
    @property
    def school_urn(self) -> str | None: ...


class InLa(Protocol):
    @property
    def la_code(self) -> str | None: ...


class Placed(AtSchool, InLa, Protocol):
    """Where a child belongs, as far as the rule looks: a child record, a service's replica of one, a referral."""


def is_school_lead(principal: Principal, child: AtSchool | None) -> bool:
    return (
        child is not None
        and principal.org_type == OrgType.school
        and child.school_urn in principal.school_urns
        and principal.has_role(*SCHOOL_LEADS)
    )


def is_safeguarding_lead(principal: Principal, child: AtSchool | None) -> bool:
    return is_school_lead(principal, child) and principal.has_role(*SAFEGUARDING_LEADS)


def is_la_officer(principal: Principal, child: InLa | None) -> bool:
    return (
        child is not None
        and principal.org_type == OrgType.local_authority
        and child.la_code is not None
        and child.la_code == principal.la_code
        and principal.has_role(*LA_OFFICER_ROLES)
    )


async def may_see_child(
    principal: Principal, child_id: str, child: Placed | None, *, on_team: Check, in_family: Check
) -> bool:
    """The rule above. `child` is where the child belongs (None when the service does not know it yet: then only
    the team and the family can see the child)."""
    match principal.org_type:
        case OrgType.school if is_school_lead(principal, child):
            return True
        case OrgType.local_authority if is_la_officer(principal, child):
            return True
        case OrgType.family:
            return child_id in principal.child_ids and await in_family()
        case OrgType.mis:
            return False
    return await on_team()
