"""A referral belongs to the service it was sent to (issue 12.2): an occupational therapist of the NHS trust that also
runs speech and language therapy neither sees nor decides the SALT referrals, until the directory records them as
a member of SALT's team; the offer administrators of the service's LA keep that record."""

from __future__ import annotations

import itertools

import pytest

from tas_dev.testing import bearer

from .conftest import OT, SALT, new_referral

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERIALS = itertools.count(7700)


def _token(env, role: str, org_type: str, **claims) -> dict[str, str]:
    return bearer(env.issuer, roles=[role], org_type=org_type, **claims)


async def test_another_service_of_the_same_trust_neither_sees_nor_decides_the_referral(referral_only):
    c, senco, salt = referral_only.client, referral_only.headers("senco"), referral_only.headers("salt")
    ot = _token(referral_only, "ot", "health", sub="ot-1", org_id="nhs-trust-1")
    referral = await new_referral(c, senco, next(SERIALS))
    to_ot = await new_referral(c, senco, next(SERIALS), service_id=OT)
    path = f"/v1/referrals/{referral['id']}"

    assert (await c.get(path, headers=ot)).status_code == 404
    listed = (await c.get("/v1/referrals", params={"limit": 200}, headers=ot)).json()["items"]
    assert referral["id"] not in {r["id"] for r in listed} and to_ot["id"] in {r["id"] for r in listed}
    assert {r["service_id"] for r in listed} == {OT}
    declined = await c.post(f"{path}/decline", json={"reason": "Not for us"}, headers=ot)
    assert declined.status_code == 404
    assert (await c.get(path, headers=salt)).json()["status"] == "submitted"
    # SALT's own practitioners (role slt in the trust) see the SALT referral, not the OT one
    assert (await c.get(path, headers=salt)).status_code == 200
    assert (await c.get(f"/v1/referrals/{to_ot['id']}", headers=salt)).status_code == 404
    # the same role in another organisation is not SALT's either
    elsewhere = _token(referral_only, "slt", "health", sub="slt-2", org_id="nhs-trust-2")
    assert (await c.get(path, headers=elsewhere)).status_code == 404


async def test_a_member_recorded_by_the_directory_sees_and_decides_until_removed(referral_only):
    c, senco, admin = referral_only.client, referral_only.headers("senco"), referral_only.headers("offer_admin")
    assistant = _token(referral_only, "therapy_assistant", "health", sub="ta-1", org_id="nhs-trust-1")
    referral = await new_referral(c, senco, next(SERIALS))
    path = f"/v1/referrals/{referral['id']}"
    members = f"/v1/services/{SALT}/members"
    assert (await c.get(path, headers=assistant)).status_code == 404

    added = await c.post(members, json={"sub": "ta-1", "org_id": "nhs-trust-1", "name": "Tal Assistant"}, headers=admin)
    assert added.status_code == 201, added.text
    again = await c.post(members, json={"sub": "ta-1", "org_id": "nhs-trust-1"}, headers=admin)
    assert again.status_code == 409
    assert [(m["sub"], m["org_id"]) for m in (await c.get(members, headers=admin)).json()["items"]] == [
        ("ta-1", "nhs-trust-1")
    ]
    assert (await c.get(path, headers=assistant)).status_code == 200
    assert referral["id"] in {r["id"] for r in (await c.get("/v1/referrals", headers=assistant)).json()["items"]}
    accepted = await c.post(f"{path}/accept", headers=assistant)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"

    removed = await c.delete(f"{members}/{added.json()['id']}", headers=admin)
    assert removed.status_code == 204
    assert (await c.get(path, headers=assistant)).status_code == 404
    assert (await c.delete(f"{members}/{added.json()['id']}", headers=admin)).status_code == 404


async def test_only_the_offer_administrators_of_the_services_la_keep_its_team(referral_only):
    c = referral_only.client
    other_la_admin = _token(
        referral_only, "offer_admin", "local_authority", sub="admin-8", org_id="la-998", la_code="998"
    )
    members = f"/v1/services/{SALT}/members"
    body = {"sub": "x-1", "org_id": "nhs-trust-1"}
    assert (await c.get(members, headers=other_la_admin)).status_code == 404
    assert (await c.post(members, json=body, headers=other_la_admin)).status_code == 404
    for actor in ("senco", "salt", "la_officer"):
        assert (await c.post(members, json=body, headers=referral_only.headers(actor))).status_code == 403
    bad = await c.post(members, json={**body, "role": "slt"}, headers=referral_only.headers("offer_admin"))
    assert bad.status_code == 422
    service = (await c.get(f"/v1/services/{SALT}", headers=referral_only.headers("senco"))).json()
    assert service["practitioner_roles"] == ["slt"]
