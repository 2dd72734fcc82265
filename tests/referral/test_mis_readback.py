"""Read back (issue 17.3): by its own record id an MIS client sees what became of each concern it pushed — stored,
linked to a child, its referrals' services, statuses and dates — and nothing clinical, nothing of a safeguarding
concern's referrals, nothing of another client's pushes; lists page with the shared keyset cursor."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from referral.domain import concerns
from tas_dev.testing import concern_body

pytestmark = pytest.mark.asyncio(loop_scope="module")


def mis_headers(env, sub: str) -> dict[str, str]:
    jwt_ = env.issuer.mint(
        issuer="tas-dev",
        audience="tas",
        sub=sub,
        org_id="mis-vendor-7",
        org_type="mis",
        roles=["mis_client"],
        school_urns=["100000"],
    )
    return {"Authorization": f"Bearer {jwt_}"}


async def test_a_client_reads_back_its_pushes_by_record_id(referral_only):
    mis = mis_headers(referral_only, "readback-client-1")
    batch = [
        concern_body(501, mis_record_id="RB-501", summary="Private words about the child"),
        concern_body(502, mis_record_id="RB-502", safeguarding=True),
    ]
    pushed = (await referral_only.client.post("/v1/mis/concerns", json={"items": batch}, headers=mis)).json()
    first, second = (r["concern_id"] for r in pushed["results"])
    status = (await referral_only.client.get("/v1/mis/concerns/RB-501", headers=mis)).json()
    assert status["status"] == "stored" and status["concern_id"] == first and status["referrals"] == []
    async with referral_only.app.state.runtime.db.transaction() as session:
        await concerns.link_child(session, concern_id=first, child_id="child-rb-501")
    senco, salt = referral_only.headers("senco"), referral_only.headers("salt")
    referral = (
        await referral_only.client.post(
            "/v1/referrals",
            json={"concern_id": first, "service_ids": ["999-salt"], "note": "Clinical note"},
            headers=senco,
        )
    ).json()["items"][0]
    accepted = await referral_only.client.post(f"/v1/referrals/{referral['id']}/accept", headers=salt)
    assert accepted.status_code == 200, accepted.text
    response = await referral_only.client.get("/v1/mis/concerns/RB-501", headers=mis)
    status = response.json()
    assert status["status"] == "linked"
    (decision,) = status["referrals"]
    assert decision["referral_id"] == referral["id"] and decision["status"] == "accepted"
    assert decision["service_id"] == "999-salt" and decision["decided_at"]
    assert "Private words" not in response.text and "Clinical note" not in response.text
    assert "child-rb-501" not in response.text
    guarded = (await referral_only.client.get("/v1/mis/concerns/RB-502", headers=mis)).json()
    assert guarded["safeguarding"] is True and guarded["referrals_withheld"] is True and guarded["referrals"] == []
    assert guarded["concern_id"] == second
    other = mis_headers(referral_only, "readback-client-2")
    assert (await referral_only.client.get("/v1/mis/concerns/RB-501", headers=other)).status_code == 404
    assert (await referral_only.client.get("/v1/mis/concerns", headers=other)).json()["items"] == []
    outside = referral_only.issuer.mint(
        issuer="tas-dev",
        audience="tas",
        sub="readback-client-1",
        org_id="mis-vendor-7",
        org_type="mis",
        roles=["mis_client"],
        school_urns=["100002"],
    )
    gone = await referral_only.client.get("/v1/mis/concerns/RB-501", headers={"Authorization": f"Bearer {outside}"})
    assert gone.status_code == 404  # its schools only


async def test_the_list_pages_with_the_keyset_cursor_and_skips_nothing(referral_only):
    mis = mis_headers(referral_only, "readback-client-3")
    items = [concern_body(520 + i, mis_record_id=f"PG-{i:02d}") for i in range(7)]
    await referral_only.client.post("/v1/mis/concerns", json={"items": items[:5]}, headers=mis)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await referral_only.client.get("/v1/mis/concerns", params=params, headers=mis)).json()
        seen += [i["mis_record_id"] for i in page["items"]]
        pages += 1
        if pages == 1:  # pushed while paging: appear at the end, nothing shifts
            await referral_only.client.post("/v1/mis/concerns", json={"items": items[5:]}, headers=mis)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"PG-{i:02d}" for i in range(7)]
    bad = await referral_only.client.get("/v1/mis/concerns", params={"cursor": "garbage"}, headers=mis)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


async def test_linking_a_child_keeps_the_named_family_and_an_orm_copy_of_the_concern_true(referral_only):
    """link_child runs on the driver (issue 18): the family members named by earlier links are kept, a repeated link
    changes nothing, and a Concern the unit of work already holds through the ORM shows the link."""
    from referral.domain.models import Concern

    mis = mis_headers(referral_only, "readback-client-2")
    pushed = (
        await referral_only.client.post(
            "/v1/mis/concerns", json={"items": [concern_body(503, mis_record_id="RB-503")]}, headers=mis
        )
    ).json()
    concern_id = pushed["results"][0]["concern_id"]
    db = referral_only.app.state.runtime.db
    statements: list[str] = []
    async with db.transaction() as session:
        held = await session.get(Concern, concern_id)
        assert held is not None and held.child_id is None
        # on this unit's connection only: the service's outbox relay runs on the same engine meanwhile
        connection = (await session.connection()).sync_connection
        listener = lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split())[:20])  # noqa: E731
        event.listen(connection, "before_cursor_execute", listener)
        try:
            linked = await concerns.link_child(
                session, concern_id=concern_id, child_id="child-503", family_member_ids=["m2"]
            )
        finally:
            event.remove(connection, "before_cursor_execute", listener)
        assert linked is not None and linked.mis_client == "readback-client-2"
        assert statements == ["UPDATE concern SET c"]  # the first link: one statement, no read first
        assert held.child_id == "child-503" and held.family_member_ids == ["m2"]
    async with db.transaction() as session:
        await concerns.link_child(session, concern_id=concern_id, child_id="child-503", family_member_ids=["m1"])
        await concerns.link_child(session, concern_id=concern_id, child_id="child-503", family_member_ids=["m1"])
        assert await concerns.link_child(session, concern_id="no-such-concern", child_id="child-x") is None
    async with db.reader() as session:
        stored = await session.get(Concern, concern_id)
        assert stored is not None and stored.child_id == "child-503" and stored.family_member_ids == ["m1", "m2"]
