"""Who may ask about what (issue 15): the SEND officers of a local authority about their LA, its schools and its
services; a school's leads about their school (and, in the comparison, their school against anonymised peers);
a service's practitioners (its organisation's staff holding one of its practitioner roles) or its
`service_manager` about their service. Families and MIS clients are refused by the routes' guard (403).

A scope that insights does not know is 404; one the caller may not see is 403 (the figures are aggregates: a
school or a service existing is no secret, the local offer and the register are public)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden, InvalidInput, NotFound
from tas_common.visibility import LA_OFFICER_ROLES, SCHOOL_LEADS

from .models import School, Service
from .schemas import ScopeKind

SERVICE_MANAGER = "service_manager"


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    id: str
    la_code: str
    """The LA the scope belongs to (a school's or a service's)."""


def requested(la_code: str | None, school_urn: str | None, service_id: str | None) -> tuple[ScopeKind, str]:
    scopes: tuple[tuple[ScopeKind, str | None], ...] = (
        ("la", la_code),
        ("school", school_urn),
        ("service", service_id),
    )
    given = [(k, v) for k, v in scopes if v]
    if len(given) != 1:
        raise InvalidInput("give exactly one of la_code, school_urn and service_id", field="query.la_code")
    kind, value = given[0]
    return kind, value


def is_la_officer(principal: Principal, la_code: str) -> bool:
    return (
        principal.org_type == OrgType.local_authority
        and principal.la_code == la_code
        and principal.has_role(*LA_OFFICER_ROLES)
    )


def is_school_lead(principal: Principal, urn: str) -> bool:
    return principal.org_type == OrgType.school and urn in principal.school_urns and principal.has_role(*SCHOOL_LEADS)


def is_service_practitioner(principal: Principal, service: Service) -> bool:
    return principal.org_id == service.organisation_id and principal.has_role(
        SERVICE_MANAGER, *service.practitioner_roles
    )


async def authorise(session: AsyncSession, principal: Principal, kind: ScopeKind, scope_id: str) -> Scope:
    if kind == "la":
        if not is_la_officer(principal, scope_id):
            raise Forbidden("a local authority's figures are for its SEND officers")
        return Scope("la", scope_id, scope_id)
    if kind == "school":
        school = await session.get(School, scope_id)
        if school is None:
            raise NotFound("no such school")
        if not (is_school_lead(principal, school.urn) or is_la_officer(principal, school.la_code)):
            raise Forbidden("a school's figures are for its leads and its LA's SEND officers")
        return Scope("school", school.urn, school.la_code)
    service = await session.get(Service, scope_id)
    if service is None:
        raise NotFound("no such service")
    if not (is_service_practitioner(principal, service) or is_la_officer(principal, service.la_code)):
        raise Forbidden("a service's figures are for its practitioners, its managers and its LA's SEND officers")
    return Scope("service", service.id, service.la_code)
