"""The signed-in practitioner as the APIs see them (the TAS claims of their token), kept in the session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHOOL_LEADS = ("senco", "dsl", "head")
SCHOOL_STAFF = ("senco", "dsl", "head", "teacher")
BREAK_GLASS_ROLES = ("social_worker", "camhs", "send_officer", "dsl")
REVIEWERS = ("dsl", "send_officer")


@dataclass(frozen=True)
class Me:
    sub: str
    name: str
    org_id: str
    org_type: str
    roles: frozenset[str] = field(default_factory=frozenset)
    school_urns: tuple[str, ...] = ()
    la_code: str | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Me:
        return cls(
            sub=str(claims.get("sub", "")),
            name=str(claims.get("name") or ""),
            org_id=str(claims.get("org_id", "")),
            org_type=str(claims.get("org_type", "")),
            roles=frozenset(str(r) for r in claims.get("roles") or []),
            school_urns=tuple(sorted(str(u) for u in claims.get("school_urns") or [])),
            la_code=claims.get("la_code"),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "name": self.name,
            "org_id": self.org_id,
            "org_type": self.org_type,
            "roles": sorted(self.roles),
            "school_urns": list(self.school_urns),
            "la_code": self.la_code,
        }

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def school_staff(self) -> bool:
        return self.org_type == "school" and self.has_role(*SCHOOL_STAFF)

    @property
    def school_lead(self) -> bool:
        return self.org_type == "school" and self.has_role(*SCHOOL_LEADS)

    @property
    def dsl(self) -> bool:
        return self.org_type == "school" and self.has_role("dsl")

    @property
    def send_officer(self) -> bool:
        return self.org_type == "local_authority" and self.has_role("send_officer")

    @property
    def reviewer(self) -> bool:
        """Reviews consent overrides and break-glass grants: the school's DSL, the LA's SEND officers."""
        return self.dsl or self.send_officer

    @property
    def may_break_glass(self) -> bool:
        return self.org_type in ("school", "health", "social_care", "local_authority") and self.has_role(
            *BREAK_GLASS_ROLES
        )

    @property
    def service_practitioner(self) -> bool:
        """May receive referrals (health, social care, the LA's services, a school's outreach): the inbox."""
        return self.org_type in ("health", "social_care", "local_authority") or (
            self.org_type == "school" and not self.school_staff
        )


def me_of(session: Any) -> Me:
    return Me.from_claims(session.data.get("me") or {})
