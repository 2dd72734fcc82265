"""The family's view of their child's referrals (issue 13): which service and where each stands, never the words
of the school or the service, no safeguarding referral, and no other child's."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from referral.domain.models import Concern

from .conftest import EP, SALT, new_concern

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_family_sees_service_and_status_of_their_childs_referrals_and_nothing_else(referral_only):
    c, senco, salt = referral_only.client, referral_only.headers("senco"), referral_only.headers("salt")
    family = referral_only.headers("family")  # a family token for child "c-1"
    concern = await new_concern(c, senco, 471)
    made = await c.post(
        "/v1/referrals",
        json={"concern_id": concern["id"], "service_ids": [SALT, EP], "note": "Private note for the service"},
        headers=senco,
    )
    salt_ref, ep_ref = made.json()["items"]
    hidden = await new_concern(c, senco, 472, safeguarding=True)
    hidden_ref = await c.post("/v1/referrals", json={"concern_id": hidden["id"], "service_ids": [SALT]}, headers=senco)
    assert hidden_ref.status_code == 201, hidden_ref.text
    async with referral_only.app.state.runtime.db.transaction() as session:  # as caseload's concern_linked does
        await session.execute(
            update(Concern)
            .where(Concern.id.in_([concern["id"], hidden["id"]]))
            .values(child_id="c-1", family_member_ids=["parent-1"])  # type: ignore[attr-defined]
        )
    assert (await c.post(f"/v1/referrals/{salt_ref['id']}/accept", headers=salt)).status_code == 200
    reason = "Seen privately: outside our criteria"
    assert (await c.post(f"/v1/referrals/{ep_ref['id']}/withdraw", json={"reason": reason}, headers=senco)).is_success

    seen = await c.get("/v1/referrals/children/c-1", headers=family)
    assert seen.status_code == 200, seen.text
    items = {r["id"]: r for r in seen.json()["items"]}
    assert set(items) == {salt_ref["id"], ep_ref["id"]}  # not the safeguarding one
    assert items[salt_ref["id"]]["status"] == "accepted" and items[salt_ref["id"]]["decided_at"]
    assert items[salt_ref["id"]]["service_name"] == salt_ref["service_name"]
    assert items[ep_ref["id"]]["status"] == "withdrawn" and items[ep_ref["id"]]["closed_at"]
    assert "Private note" not in seen.text and reason not in seen.text and "Sam Therapist" not in seen.text

    assert (await c.get("/v1/referrals/children/c-2", headers=family)).status_code == 404  # not their child
    forged = referral_only.issuer.mint(  # a token naming the child for someone no concern of the child named
        issuer="tas-dev",
        audience="tas",
        sub="parent-9",
        org_id="family",
        org_type="family",
        roles=["parent"],
        child_ids=["c-1"],
    )
    assert (await c.get("/v1/referrals/children/c-1", headers={"Authorization": f"Bearer {forged}"})).status_code == 404
    assert (await c.get("/v1/referrals/children/c-1", headers=senco)).status_code == 403  # the family's view only
