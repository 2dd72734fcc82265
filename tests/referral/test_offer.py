"""The local offer: the seeded directory, Open Referral UK paging and filters, and admin create/update."""

from __future__ import annotations

import pytest

from tas_dev.testing import bearer

pytestmark = pytest.mark.asyncio(loop_scope="module")

NEW = {
    "name": "Bereavement Support for Children",
    "description": "One-to-one and group support after a death.",
    "organisation_id": "vol-bereavement",
    "organisation_name": "Fictional Bereavement Charity",
    "organisation_type": "voluntary",
    "taxonomy": ["bereavement", "counselling"],
    "areas_of_need": ["social_emotional_mental_health"],
    "minimum_age": 4,
    "maximum_age": 18,
    "how_to_refer": "Schools or families refer by email.",
    "email": "bereavement@example.org",
    "target_wait_days": 21,
    "current_wait_days": 10,
}


async def test_the_seeded_local_offer_in_the_open_referral_shape(referral_only):
    page = (
        await referral_only.client.get("/v1/services", params={"per_page": 100}, headers=referral_only.headers("senco"))
    ).json()
    assert set(page) >= {"contents", "total_items", "total_pages", "page_number", "size", "first_page", "last_page"}
    assert page["total_items"] >= 10 and page["first_page"] and page["last_page"]
    terms = {t["id"] for s in page["contents"] for t in s["taxonomy_terms"]}
    assert {
        "educational_psychology",
        "speech_and_language_therapy",
        "occupational_therapy",
        "camhs",
        "school_nursing",
        "early_help",
        "childrens_social_care_front_door",
        "sensory_support",
        "specialist_teaching",
        "paediatrics",
    } <= terms
    for service in page["contents"]:
        assert service["email"].endswith("@example.org")
        assert service["organization"]["organization_type"] in {
            "health",
            "local_authority",
            "social_care",
            "school",
            "voluntary",
        }


async def test_paging(referral_only):
    senco = referral_only.headers("senco")
    first = (await referral_only.client.get("/v1/services", params={"per_page": 4}, headers=senco)).json()
    second = (await referral_only.client.get("/v1/services", params={"per_page": 4, "page": 2}, headers=senco)).json()
    assert first["size"] == 4 and first["first_page"] and not first["last_page"]
    assert first["total_pages"] == -(-first["total_items"] // 4)
    assert second["page_number"] == 2 and not second["first_page"]
    assert not {s["id"] for s in first["contents"]} & {s["id"] for s in second["contents"]}
    beyond = (await referral_only.client.get("/v1/services", params={"per_page": 4, "page": 99}, headers=senco)).json()
    assert beyond["contents"] == [] and beyond["empty"] is True


@pytest.mark.parametrize(
    ("params", "expected", "excluded"),
    [
        ({"text": "speech"}, {"999-salt"}, {"999-camhs"}),
        ({"text": "mental health"}, {"999-camhs"}, {"999-salt"}),
        (
            {"taxonomy": "educational_psychology"},
            {"999-educational-psychology", "998-educational-psychology"},
            {"999-salt"},
        ),
        (
            {"taxonomy": "educational_psychology", "la_code": "998"},
            {"998-educational-psychology"},
            {"999-educational-psychology"},
        ),
        (
            {"area_of_need": "sensory_and_physical"},
            {"999-occupational-therapy", "999-sensory-support"},
            {"999-camhs", "999-early-help"},
        ),
        ({"age": 20}, {"999-educational-psychology", "999-sensory-support"}, {"999-camhs", "999-salt"}),
        ({"age": 3, "area_of_need": "communication_and_interaction"}, {"999-salt"}, {"999-specialist-teaching"}),
        ({"organization_type": "voluntary"}, {"999-young-carers"}, {"999-salt"}),
    ],
)
async def test_filters(referral_only, params, expected, excluded):
    page = (
        await referral_only.client.get(
            "/v1/services", params={**params, "per_page": 100}, headers=referral_only.headers("salt")
        )
    ).json()
    ids = {s["id"] for s in page["contents"]}
    assert expected <= ids and not excluded & ids
    assert page["total_items"] == len(ids)


async def test_bad_filters_are_422(referral_only):
    for params in ({"age": -1}, {"area_of_need": "maths"}, {"per_page": 0}, {"organization_type": "bank"}):
        response = await referral_only.client.get("/v1/services", params=params, headers=referral_only.headers("senco"))
        assert response.status_code == 422, params


async def test_one_service_and_404(referral_only):
    senco = referral_only.headers("family")  # the local offer is public information: any signed-in caller
    response = await referral_only.client.get("/v1/services/999-front-door", headers=senco)
    assert response.status_code == 200 and response.headers["ETag"] == '"1"'
    assert response.json()["organization"]["id"] == "la-999-csc"
    assert (await referral_only.client.get("/v1/services/nope", headers=senco)).status_code == 404


async def test_admin_creates_and_updates_with_if_match(referral_only):
    c, admin = referral_only.client, referral_only.headers("offer_admin")
    created = await c.post("/v1/services", json=NEW, headers=admin)
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["la_code"] == "999" and service["version"] == 1
    assert service["wait_time"] == "the service estimates about 10 days" and service["current_wait_days"] == 10
    found = (await c.get("/v1/services", params={"text": "bereavement"}, headers=admin)).json()
    assert [s["id"] for s in found["contents"]] == [service["id"]]

    path = f"/v1/services/{service['id']}"
    changed = {**NEW, "current_wait_days": 35}
    assert (await c.put(path, json=changed, headers=admin)).status_code == 428
    assert (await c.put(path, json=changed, headers={**admin, "If-Match": '"7"'})).status_code == 412
    updated = await c.put(path, json=changed, headers={**admin, "If-Match": '"1"'})
    assert updated.status_code == 200 and updated.headers["ETag"] == '"2"'
    assert updated.json()["current_wait_days"] == 35
    assert updated.json()["wait_time"] == "the service estimates about 5 weeks"
    stale = await c.put(path, json=NEW, headers={**admin, "If-Match": '"1"'})
    assert stale.status_code == 412

    other_la = bearer(
        referral_only.issuer,
        roles=["offer_admin"],
        org_type="local_authority",
        sub="admin-9",
        org_id="la-998",
        la_code="998",
    )
    response = await c.put(path, json=NEW, headers={**other_la, "If-Match": '"2"'})
    assert response.status_code == 404


async def test_admin_create_honours_idempotency_key(referral_only):
    c, admin = referral_only.client, {**referral_only.headers("offer_admin"), "Idempotency-Key": "svc-1"}
    body = {**NEW, "name": "Idempotent Service"}
    first = await c.post("/v1/services", json=body, headers=admin)
    again = await c.post("/v1/services", json=body, headers=admin)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    found = (await c.get("/v1/services", params={"text": "idempotent"}, headers=admin)).json()
    assert found["total_items"] == 1


async def test_admin_input_is_validated(referral_only):
    bad = {
        **NEW,
        "email": "nobody",
        "minimum_age": 19,
        "maximum_age": 5,
        "taxonomy": ["Not A Code"],
        "organisation_type": "bank",
        "colour": "red",
    }
    response = await referral_only.client.post("/v1/services", json=bad, headers=referral_only.headers("offer_admin"))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.email", "body.taxonomy", "body.organisation_type", "body"} <= fields


async def test_an_inactive_service_takes_no_referrals(referral_only):
    from .conftest import new_concern

    c, admin, senco = referral_only.client, referral_only.headers("offer_admin"), referral_only.headers("senco")
    service = (await c.post("/v1/services", json={**NEW, "status": "inactive"}, headers=admin)).json()
    active = (await c.get("/v1/services", params={"text": "bereavement", "per_page": 100}, headers=senco)).json()
    assert service["id"] not in {s["id"] for s in active["contents"]}
    concern = await new_concern(c, senco, 601)
    response = await c.post(
        "/v1/referrals", json={"concern_id": concern["id"], "service_ids": [service["id"]]}, headers=senco
    )
    assert response.status_code == 409 and response.json()["type"] == "urn:tas:problem:service-inactive"
