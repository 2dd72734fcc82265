"""The shared rule for who may see a child (tas_common.visibility), with the services' own lookups as fakes that
record whether they were asked. Caseload and notify apply it to their real records: tests/access walks every
route with every kind of caller."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tas_common.auth import OrgType, Principal
from tas_common.visibility import may_see_child

CHILD = "child-1"


@dataclass
class Where:
    school_urn: str | None = "100000"
    la_code: str | None = "999"


class Lookup:
    def __init__(self, answer: bool) -> None:
        self.answer, self.asked = answer, 0

    async def __call__(self) -> bool:
        self.asked += 1
        return self.answer


def caller(org_type: str, *roles: str, **claims: object) -> Principal:
    return Principal(sub="someone", org_id="org-1", org_type=OrgType(org_type), roles=frozenset(roles), **claims)  # type: ignore[arg-type]


async def decide(principal: Principal, *, child: Where | None = None, on_team: bool = False, in_family: bool = False):
    team, family = Lookup(on_team), Lookup(in_family)
    seen = await may_see_child(principal, CHILD, child or Where(), on_team=team, in_family=family)
    return seen, team.asked, family.asked


@pytest.mark.parametrize("role", ["senco", "dsl", "head"])
async def test_a_lead_of_the_child_s_school_sees_the_child_without_asking_the_team(role):
    assert await decide(caller("school", role, school_urns=frozenset({"100000"}))) == (True, 0, 0)


async def test_a_teacher_or_a_lead_of_another_school_needs_to_be_on_the_team():
    teacher = caller("school", "teacher", school_urns=frozenset({"100000"}))
    other_lead = caller("school", "senco", school_urns=frozenset({"100001"}))
    for principal in (teacher, other_lead):
        assert await decide(principal) == (False, 1, 0)
        assert await decide(principal, on_team=True) == (True, 1, 0)


async def test_the_send_officers_of_the_child_s_la_and_no_other():
    assert await decide(caller("local_authority", "send_officer", la_code="999")) == (True, 0, 0)
    assert await decide(caller("local_authority", "send_officer", la_code="998")) == (False, 1, 0)
    assert await decide(caller("local_authority", "ep", la_code="999")) == (False, 1, 0)
    no_la = Where(la_code=None)
    assert await decide(caller("local_authority", "send_officer", la_code="999"), child=no_la) == (False, 1, 0)


async def test_a_family_needs_the_claim_and_the_service_s_own_record():
    names_child = caller("family", "parent", child_ids=frozenset({CHILD}))
    assert await decide(names_child, in_family=True) == (True, 0, 1)
    assert await decide(names_child, in_family=False) == (False, 0, 1)
    other_child = caller("family", "parent", child_ids=frozenset({"child-2"}))
    assert await decide(other_child, in_family=True) == (False, 0, 0)
    assert await decide(other_child, on_team=True, in_family=True) == (False, 0, 0)


async def test_practitioners_by_team_membership_and_mis_clients_never():
    slt = caller("health", "slt")
    assert await decide(slt) == (False, 1, 0)
    assert await decide(slt, on_team=True) == (True, 1, 0)
    mis = caller("mis", "mis_client", school_urns=frozenset({"100000"}))
    assert await decide(mis, on_team=True, in_family=True) == (False, 0, 0)


async def test_where_the_child_belongs_unknown_only_team_and_family_see_it():
    team, family = Lookup(False), Lookup(False)
    lead = caller("school", "senco", school_urns=frozenset({"100000"}))
    assert await may_see_child(lead, CHILD, None, on_team=team, in_family=family) is False
    assert team.asked == 1
