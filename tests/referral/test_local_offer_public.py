"""The local offer is a public directory by law: readable without a token (writes stay protected), searchable by
postcode, each service with its locations, contacts, schedules, cost options and areas, and a current wait that is
honest about small numbers."""

from __future__ import annotations

import pytest

from .conftest import SALT, first_contacted
from .test_offer import NEW

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_the_directory_is_open_without_a_token(referral_only):
    c = referral_only.client
    page = await c.get("/v1/services", params={"text": "speech", "age": 7})
    assert page.status_code == 200 and [s["id"] for s in page.json()["contents"]] == [SALT]
    one = await c.get(f"/v1/services/{SALT}")
    assert one.status_code == 200 and one.headers["ETag"] == '"1"'
    salt = one.json()
    assert salt["organization"]["description"].startswith("The community health trust")
    assert [loc["address"]["postcode"] for loc in salt["locations"]] == ["ZX2 4AB"]
    assert salt["contacts"][0] == {
        "name": "Speech and Language Therapy referrals",
        "title": "Referral coordinator",
        "phone": "0113 496 0101",
        "email": "salt.referrals@example.org",
    }
    by_phone = next(s for s in salt["schedules"] if s["attending_type"] == "phone")
    assert (by_phone["byday"], by_phone["opens_at"], by_phone["location_id"]) == ("TU,TH", "13:00", None)
    at_clinic = next(s for s in salt["schedules"] if s["attending_type"] == "in_person")
    assert at_clinic["location_id"] == salt["locations"][0]["id"]
    assert salt["cost_options"] == [
        {"option": "Free to families", "amount": 0.0, "amount_description": "An NHS service: there is no charge"}
    ]
    assert salt["service_areas"][0]["postcode_districts"] == ["ZX1", "ZX2", "ZX3", "ZX4", "ZX5", "ZX6"]
    assert salt["eligibility_description"] and salt["application_process"]


async def test_writes_and_the_rest_still_need_a_token(referral_only):
    c = referral_only.client
    assert (await c.post("/v1/services", json=NEW)).status_code == 401
    assert (await c.put(f"/v1/services/{SALT}", json=NEW, headers={"If-Match": '"1"'})).status_code == 401
    assert (await c.get(f"/v1/services/{SALT}/members")).status_code == 401
    assert (await c.get(f"/v1/services/{SALT}/waiting")).status_code == 401
    assert (await c.get("/v1/referrals")).status_code == 401
    assert (await c.post("/v1/services", json=NEW, headers=referral_only.headers("senco"))).status_code == 403


@pytest.mark.parametrize(
    ("postcode", "expected", "excluded"),
    [
        ("ZX3 7DF", {SALT, "999-front-door"}, {"998-front-door"}),
        ("zx37df", {SALT}, {"998-educational-psychology"}),
        ("ZY1", {"998-front-door", "998-educational-psychology"}, {SALT}),
        ("ZX9 9ZZ", set(), {SALT, "998-front-door"}),  # a district the directory does not cover: nothing
    ],
)
async def test_search_by_postcode(referral_only, postcode, expected, excluded):
    page = (await referral_only.client.get("/v1/services", params={"postcode": postcode, "per_page": 100})).json()
    ids = {s["id"] for s in page["contents"]}
    assert expected <= ids and not excluded & ids


async def test_a_postcode_that_is_not_one_is_422(referral_only):
    response = await referral_only.client.get("/v1/services", params={"postcode": "SW1A-1AA!"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["query.postcode"]


async def test_a_wait_from_fewer_than_5_referrals_is_never_shown(referral_only):
    c, admin = referral_only.client, referral_only.headers("offer_admin")
    service = (await c.post("/v1/services", json={**NEW, "name": "Small Numbers Service"}, headers=admin)).json()
    assert service["waiting"]["basis"] == "service_estimate" and service["current_wait_days"] == 10

    await first_contacted(referral_only, service["id"], [61, 63, 65], serial=820)
    few = (await c.get(f"/v1/services/{service['id']}")).json()
    assert few["waiting"] == {
        "basis": "fewer_than_5_referrals",
        "days": 10,  # the service's own estimate, not the median of these three (63)
        "referrals_measured": None,
        "service_estimate_days": 10,
        "text": "fewer than 5 referrals in the last 12 months; the service estimates about 10 days",
    }
    assert few["current_wait_days"] == 10 and "63" not in str(few["waiting"]) and "9 weeks" not in few["wait_time"]

    await first_contacted(referral_only, service["id"], [70, 80], serial=830)
    enough = (await c.get(f"/v1/services/{service['id']}")).json()
    assert enough["waiting"]["basis"] == "measured"
    assert (enough["current_wait_days"], enough["waiting"]["referrals_measured"]) == (65, 5)
    assert enough["wait_time"] == "about 9 weeks (median of 5 referrals in the last 12 months)"


async def test_a_service_without_an_estimate_or_referrals_has_no_wait(referral_only):
    c, admin = referral_only.client, referral_only.headers("offer_admin")
    body = {**NEW, "name": "No Estimate Service", "current_wait_days": None}
    service = (await c.post("/v1/services", json=body, headers=admin)).json()
    assert service["waiting"]["basis"] == "not_known" and service["current_wait_days"] is None
    assert service["wait_time"] == "not known"


async def test_admin_keeps_locations_contacts_schedules_costs_and_areas(referral_only):
    c, admin = referral_only.client, referral_only.headers("offer_admin")
    cdc = (await c.get(f"/v1/services/{SALT}")).json()["locations"][0]["id"]
    body = {
        **NEW,
        "name": "Details Service",
        "organisation_description": "A fictional charity supporting bereaved children.",
        "locations": [
            {"id": cdc},
            {"name": "Riverside Rooms", "address_1": "2 Quay Street", "city": "Brackenford", "postcode": "zx1 2ab"},
        ],
        "contacts": [{"name": "Bereavement team", "title": "Coordinator", "phone": "0113 496 0150"}],
        "schedules": [
            {
                "location_index": 1,
                "byday": "mo,we",
                "opens_at": "10:00",
                "closes_at": "12:00",
                "attending_type": "in_person",
            }
        ],
        "cost_options": [{"option": "Free", "amount": 0}],
        "service_areas": [{"name": "Brackenford", "postcode_districts": ["zx1", "ZX2"]}],
    }
    created = await c.post("/v1/services", json=body, headers=admin)
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["organization"]["description"] == "A fictional charity supporting bereaved children."
    riverside = next(loc for loc in service["locations"] if loc["name"] == "Riverside Rooms")
    assert riverside["address"]["postcode"] == "ZX1 2AB" and riverside["latitude"] == pytest.approx(53.799)
    assert service["schedules"][0]["location_id"] == riverside["id"] and service["schedules"][0]["byday"] == "MO,WE"
    assert service["service_areas"][0]["postcode_districts"] == ["ZX1", "ZX2"]
    found = (await c.get("/v1/services", params={"postcode": "ZX2 9ZZ", "text": "details"})).json()
    assert [s["id"] for s in found["contents"]] == [service["id"]]

    # a PUT that leaves the details out keeps them; one that lists fewer locations drops the rest's schedules
    path, kept = f"/v1/services/{service['id']}", {**NEW, "name": "Details Service"}
    again = (await c.put(path, json=kept, headers={**admin, "If-Match": '"1"'})).json()
    assert len(again["locations"]) == 2 and again["contacts"] == service["contacts"]
    assert again["organization"]["description"] == "A fictional charity supporting bereaved children."
    fewer = {**kept, "locations": [{"id": cdc}]}
    dropped = (await c.put(path, json=fewer, headers={**admin, "If-Match": '"2"'})).json()
    assert [loc["id"] for loc in dropped["locations"]] == [cdc] and dropped["schedules"] == []
    assert (await c.get(f"/v1/services/{SALT}")).json()["locations"][0]["id"] == cdc  # the shared one stays


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"locations": [{"name": "No Address"}]}, "body.locations.0"),
        ({"locations": [{"id": "00000000-0000-0000-0000-000000000000"}]}, "body.locations.0.id"),
        ({"contacts": [{"name": "Team", "phone": "call us"}]}, "body.contacts.0.phone"),
        ({"schedules": [{"opens_at": "17:00", "closes_at": "09:00"}]}, "body.schedules.0"),
        ({"schedules": [{"opens_at": "09:00", "closes_at": "17:00", "byday": "XX"}]}, "body.schedules.0.byday"),
        (
            {"schedules": [{"location_index": 3, "opens_at": "09:00", "closes_at": "17:00"}]},
            "body.schedules.0.location_index",
        ),
        (
            {"service_areas": [{"name": "Somewhere", "postcode_districts": ["not one"]}]},
            "body.service_areas.0.postcode_districts",
        ),
    ],
)
async def test_bad_details_are_422_naming_the_field(referral_only, details, field):
    body = {**NEW, "name": "Bad Details", **details}
    response = await referral_only.client.post("/v1/services", json=body, headers=referral_only.headers("offer_admin"))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
