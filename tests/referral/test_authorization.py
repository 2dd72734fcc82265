"""Who may do what: each caller against each action, in and out of scope (docs/architecture.md §5).

Not visible to the caller → 404 (a referral, concern or school they may not know exists); visible but not theirs to
move, or a caller type the route refuses → 403."""

from __future__ import annotations

import itertools

import pytest

from .conftest import SALT, new_concern, new_referral

pytestmark = pytest.mark.asyncio(loop_scope="module")

serials = itertools.count(5000)

RECEIVER_MOVES = {"salt": 200, "senco": 403, "dsl": 403, "teacher": 403, "la_officer": 403, "family": 403, "mis": 403}
"""The receiving service's practitioner moves a referral on (accept, decline, redirect, first contact, complete); the
school and the LA see it but may not; anyone else is not told it exists (404)."""

# action → {actor: expected status}; an actor not listed gets the action's default
TABLE: dict[str, tuple[int, dict[str, int]]] = {
    "raise_concern": (403, {"senco": 201, "dsl": 201, "teacher": 201, "other_school_senco": 403}),
    "read_concern": (403, {"senco": 200, "dsl": 200, "teacher": 200, "other_school_senco": 404}),
    "create_referral": (403, {"senco": 201, "dsl": 201, "teacher": 201, "other_school_senco": 404}),
    "read_referral": (
        404,
        {
            "senco": 200,
            "dsl": 200,
            "teacher": 200,
            "salt": 200,
            "la_officer": 200,
            "offer_admin": 404,
            "family": 403,
            "mis": 403,
        },
    ),
    "list_referrals": (200, {"family": 403, "mis": 403}),
    "accept": (404, RECEIVER_MOVES),
    "decline": (404, RECEIVER_MOVES),
    "redirect": (404, RECEIVER_MOVES),
    "first_contact": (404, RECEIVER_MOVES),
    "complete": (404, RECEIVER_MOVES),
    "withdraw": (
        404,
        {"senco": 200, "dsl": 200, "teacher": 200, "salt": 403, "la_officer": 403, "family": 403, "mis": 403},
    ),
    "mis_push": (403, {"mis": 201}),
    "list_services": (200, {}),
    "create_service": (403, {"offer_admin": 201}),
    "service_waiting": (200, {}),
    "school_waiting": (
        403,
        {
            "senco": 200,
            "dsl": 200,
            "teacher": 200,
            "other_school_senco": 404,
            "la_officer": 200,
            "other_la_officer": 404,
            "offer_admin": 404,
        },
    ),
}
ACTOR_NAMES = [
    "senco",
    "dsl",
    "teacher",
    "other_school_senco",
    "salt",
    "other_health",
    "front_door",
    "la_officer",
    "other_la_officer",
    "offer_admin",
    "family",
    "mis",
]
CASES = [
    (action, actor, overrides.get(actor, default))
    for action, (default, overrides) in TABLE.items()
    for actor in ACTOR_NAMES
]

SERVICE = {
    "name": "Test Counselling",
    "organisation_id": "vol-1",
    "organisation_name": "Test Counselling Trust",
    "organisation_type": "voluntary",
    "taxonomy": ["counselling"],
    "areas_of_need": ["social_emotional_mental_health"],
    "email": "counselling@example.org",
    "target_wait_days": 28,
}


async def _act(env, action: str, actor: str) -> int:
    c, senco, me = env.client, env.headers("senco"), env.headers(actor)
    serial = next(serials)
    if action == "raise_concern":
        from tas_dev.testing import concern_body

        return (await c.post("/v1/concerns", json=concern_body(serial), headers=me)).status_code
    if action == "read_concern":
        concern = await new_concern(c, senco, serial)
        return (await c.get(f"/v1/concerns/{concern['id']}", headers=me)).status_code
    if action == "create_referral":
        concern = await new_concern(c, senco, serial)
        return (
            await c.post("/v1/referrals", json={"concern_id": concern["id"], "service_ids": [SALT]}, headers=me)
        ).status_code
    if action == "list_referrals":
        return (await c.get("/v1/referrals", headers=me)).status_code
    if action == "mis_push":
        from tas_dev.testing import concern_body

        return (
            await c.post("/v1/mis/concerns", json=concern_body(serial, mis_record_id=f"r-{serial}"), headers=me)
        ).status_code
    if action == "list_services":
        return (await c.get("/v1/services", headers=me)).status_code
    if action == "create_service":
        return (await c.post("/v1/services", json=SERVICE, headers=me)).status_code
    if action == "service_waiting":
        return (await c.get(f"/v1/services/{SALT}/waiting", headers=me)).status_code
    if action == "school_waiting":
        return (await c.get("/v1/schools/100000/waiting", headers=me)).status_code
    referral = await new_referral(c, senco, serial)
    path = f"/v1/referrals/{referral['id']}"
    if action == "read_referral":
        return (await c.get(path, headers=me)).status_code
    if action == "complete":
        assert (await c.post(f"{path}/accept", headers=env.headers("salt"))).status_code == 200
    body = {
        "decline": {"reason": "Needs are better met elsewhere"},
        "withdraw": {"reason": "Family moved away"},
        "redirect": {"to_service_id": "999-occupational-therapy", "reason": "Motor skills are the need"},
        "complete": {"outcome": "Targets met"},
    }.get(action)
    verb = action.replace("_", "-")
    return (await c.post(f"{path}/{verb}", json=body, headers=me)).status_code


@pytest.mark.parametrize(("action", "actor", "expected"), CASES, ids=[f"{a}-{b}" for a, b, _ in CASES])
async def test_authorisation_table(referral_only, action, actor, expected):
    assert await _act(referral_only, action, actor) == expected


async def test_no_token_is_401(referral_only):
    for method, path in (("POST", "/v1/services"), ("GET", "/v1/referrals"), ("POST", "/v1/mis/concerns")):
        response = await referral_only.client.request(method, path, json={} if method == "POST" else None)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
