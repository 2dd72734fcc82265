"""The Open Referral UK 3.0 feed (/oruk): every response of a crawl of the whole feed (every page of every list,
every list under each filter, every object by id) validates against the UK profile's own schemas made strict
(oruk_validation.py: no additional properties, formats checked) with 0 errors; it is open and CORS-enabled; its
filters and TAS's attributes (areas of need, the current wait) do what they say."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
import pytest_asyncio

from referral.domain import oruk_taxonomy

from . import oruk_validation
from .conftest import SALT, first_contacted
from .test_offer import NEW

pytestmark = pytest.mark.asyncio(loop_scope="module")

LISTS = {
    "/oruk/services": "services",
    "/oruk/service_at_locations": "service_at_locations",
    "/oruk/organizations": "organizations",
    "/oruk/taxonomies": "taxonomies",
    "/oruk/taxonomy_terms": "taxonomy_terms",
}
DETAILS = {
    "services": ("/oruk/services/{}", "service"),
    "service_at_locations": ("/oruk/service_at_locations/{}", "service_at_location"),
    "organizations": ("/oruk/organizations/{}", "organization"),
    "taxonomies": ("/oruk/taxonomies/{}", "taxonomy"),
    "taxonomy_terms": ("/oruk/taxonomy_terms/{}", "taxonomy_term"),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def feed(referral_only) -> dict[str, Any]:
    """The seeded directory plus two services an offer admin added: one whose wait is measured (5 referrals), one
    with fewer than 5 (and a location of its own, a monthly schedule and a paid option)."""
    c, admin = referral_only.client, referral_only.headers("offer_admin")
    measured = (await c.post("/v1/services", json={**NEW, "name": "Measured Wait Service"}, headers=admin)).json()
    await first_contacted(referral_only, measured["id"], [3, 5, 8, 9, 12], serial=900)
    few = {
        **NEW,
        "name": "Few Referrals Service",
        "current_wait_days": None,
        "organisation_id": "vol-few",
        "organisation_name": "Fictional Few Charity",
        "organisation_description": "A fictional charity.",
        "organisation_website": "https://few.example.org",
        "locations": [
            {"name": "Quay Rooms", "address_1": "5 Quay Street", "city": "Brackenford", "postcode": "ZX1 3AB"}
        ],
        "schedules": [
            {"location_index": 0, "freq": "MONTHLY", "byday": "1SA", "opens_at": "10:00", "closes_at": "12:00"}
        ],
        "cost_options": [{"option": "Trips", "amount": 3.5, "amount_description": "per trip"}],
    }
    few_service = (await c.post("/v1/services", json=few, headers=admin)).json()
    await first_contacted(referral_only, few_service["id"], [20, 40], serial=910)
    return {"measured": measured, "few": few_service}


async def _get(c: httpx.AsyncClient, url: str, params: dict[str, Any] | None = None) -> Any:
    response = await c.get(url, params=params)
    assert response.status_code == 200, (url, params, response.text)
    assert response.headers["access-control-allow-origin"] == "*"
    return response.json()


async def test_every_response_of_the_feed_validates_against_the_uk_profile(referral_only, feed, capsys):
    c = referral_only.client
    checked: Counter[str] = Counter()
    problems: list[str] = []

    def check(kind: str, url: str, body: Any) -> None:
        checked[kind] += 1
        problems.extend(f"{url}: {e}" for e in oruk_validation.errors(kind, body))

    check("root", "/oruk/", await _get(c, "/oruk/"))
    ids: dict[str, list[str]] = {}
    for url, kind in LISTS.items():  # every page, 4 at a time
        page_number, found = 1, []
        while True:
            body = await _get(c, url, {"page": page_number, "per_page": 4})
            check(kind, f"{url}?page={page_number}", body)
            found += [item["id"] for item in body["contents"]]
            if body["last_page"]:
                break
            page_number += 1
        assert len(found) == len(set(found)) == body["total_items"] > 0, url
        ids[kind] = found
    for kind, (template, detail_kind) in DETAILS.items():  # every object by its id
        for item_id in ids[kind]:
            check(detail_kind, template.format(item_id), await _get(c, template.format(item_id)))
    for org_id in ids["organizations"]:
        url = f"/oruk/organizations/{org_id}"
        check("organization", f"{url}?full_service=true", await _get(c, url, {"full_service": "true"}))
    terms = (await _get(c, "/oruk/taxonomy_terms", {"per_page": 200}))["contents"]
    for params in [  # the lists under each of the standard's filters
        {"search": "speech"},
        {"taxonomy_id": oruk_taxonomy.AREAS_OF_NEED.id},
        {
            "organization_id": (await _get(c, "/oruk/organizations", {"search": "community health"}))["contents"][0][
                "id"
            ]
        },
        {"minimum_age": 4, "maximum_age": 19},
        {"day": "SA"},
        {"start_time": "13:00", "end_time": "16:00", "day": "tuesday"},
        {"modified_after": "2026-01-01T00:00:00Z"},
        *({"taxonomy_term_id": t["id"]} for t in terms),
    ]:
        for url in ("/oruk/services", "/oruk/service_at_locations"):
            check(LISTS[url], f"{url}?{params}", await _get(c, url, params))
    for params in [{"postcode": "ZX2 4AB"}, {"postcode": "ZX2 4AB", "proximity": 1000}, {"postcode": "ZY1"}]:
        check("service_at_locations", f"{params}", await _get(c, "/oruk/service_at_locations", params))
    for params in [{"search": "wait"}, {"taxonomy_id": oruk_taxonomy.WAITING.id}]:
        check("taxonomy_terms", f"{params}", await _get(c, "/oruk/taxonomy_terms", params))

    assert problems == []
    assert {"uuid", "email", "uri", "date-time"} <= oruk_validation.formats_checked()
    assert checked["service"] == len(ids["services"]) >= 17
    assert checked["service_at_location"] == len(ids["service_at_locations"]) >= 16
    with capsys.disabled():
        print(f"\n/oruk: {sum(checked.values())} responses validated, {len(problems)} errors: {dict(checked)}")


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("service", lambda s: s.update(colour="red")),  # a property the profile does not define
        ("service", lambda s: s.update(id="999-salt")),  # not a UUID
        ("service", lambda s: s["organization"].pop("description")),  # required by the profile
        ("service", lambda s: s.update(email="nobody")),
        ("service", lambda s: s.update(url=None)),  # no field is nullable: leave it out instead
        ("service", lambda s: s["attributes"][0].update(value="x")),  # the UK profile's attribute has no value
        ("service", lambda s: s["service_at_locations"][0]["location"]["addresses"][0].update(address_2="x")),
        ("services", lambda p: p.update(next_cursor="x")),
    ],
)
async def test_the_validation_would_catch_what_the_profile_forbids(referral_only, kind, change):
    body = await _get(
        referral_only.client, "/oruk/services" if kind == "services" else f"/oruk/services/{await _salt(referral_only)}"
    )
    assert oruk_validation.errors(kind, body) == []
    change(body)
    assert oruk_validation.errors(kind, body) != []


async def _salt(env: Any) -> str:
    return (await env.client.get(f"/v1/services/{SALT}")).json()["oruk_id"]


async def test_the_feed_is_open_and_cors_enabled(referral_only):
    c = referral_only.client
    for url in ("/oruk/", "/oruk/services", "/oruk/services/" + str(uuid.uuid4()), "/oruk/services?page=0"):
        response = await c.get(url)  # no token
        assert response.status_code in (200, 404, 422), url
        assert response.headers["access-control-allow-origin"] == "*", url
    ok = await c.get("/oruk/services", headers={"Origin": "https://directory.example.org"})
    assert ok.headers["cache-control"] == "public, max-age=300"
    preflight = await c.options(
        "/oruk/services",
        headers={
            "Origin": "https://directory.example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accept",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    # an invalid token changes nothing: the feed does not look at it
    assert (await c.get("/oruk/services", headers={"Authorization": "Bearer nonsense"})).status_code == 200
    # the rest of the API gets no CORS header
    assert "access-control-allow-origin" not in (await c.get("/v1/services")).headers


async def test_services_carry_tas_fields_as_attributes(referral_only, feed):
    c = referral_only.client
    salt = await _get(c, f"/oruk/services/{await _salt(referral_only)}")
    by_type = {a["link_type"]: a["taxonomy_term"] for a in salt["attributes"]}
    assert by_type["service_type"]["term"] == "speech_and_language_therapy"
    assert by_type["area_of_need"] == {**by_type["area_of_need"], "term": "communication_and_interaction"}
    waits = [a["taxonomy_term"]["term"] for a in salt["attributes"] if a["link_type"] == "waiting_time"]
    assert waits == ["wait_service_estimate", "wait_over_18_weeks"]  # no referrals yet; the service says 140 days
    assert "Who it is for: Registered with a borough GP" in salt["description"]
    assert "How to get it: Schools, GPs" in salt["description"]
    assert salt["url"].endswith("/local-offer/999-salt")
    assert salt["organization"]["website"] == "https://community-health.example.org"
    assert [sal["location"]["addresses"][0]["postal_code"] for sal in salt["service_at_locations"]] == ["ZX2 4AB"]
    assert {c["name"] for c in salt["contacts"]} >= {"Speech and Language Therapy referrals"}

    measured = await _get(c, f"/oruk/services/{feed['measured']['oruk_id']}")
    waits = [a["taxonomy_term"]["term"] for a in measured["attributes"] if a["link_type"] == "waiting_time"]
    assert waits == ["wait_measured", "wait_up_to_2_weeks"]  # median of 3, 5, 8, 9, 12 days
    few = await _get(c, f"/oruk/services/{feed['few']['oruk_id']}")
    waits = [a["taxonomy_term"]["term"] for a in few["attributes"] if a["link_type"] == "waiting_time"]
    assert waits == ["wait_fewer_than_5_referrals"]  # no estimate either: no band, and never one from 20 and 40 days


async def test_taxonomies_and_terms(referral_only):
    c = referral_only.client
    taxonomies = await _get(c, "/oruk/taxonomies")
    assert {t["id"] for t in taxonomies["contents"]} == {v.id for v in oruk_taxonomy.VOCABULARIES}
    needs = await _get(c, f"/oruk/taxonomies/{oruk_taxonomy.AREAS_OF_NEED.id}")
    assert [t["term"] for t in needs["taxonomy_terms"]] == [
        "communication_and_interaction",
        "cognition_and_learning",
        "social_emotional_mental_health",
        "sensory_and_physical",
    ]
    types = await _get(c, "/oruk/taxonomy_terms", {"taxonomy_id": oruk_taxonomy.SERVICE_TYPES.id, "per_page": 200})
    assert "speech_and_language_therapy" in {t["term"] for t in types["contents"]}
    assert (await _get(c, "/oruk/taxonomy_terms", {"parent_id": types["contents"][0]["id"]}))["empty"] is True
    term = types["contents"][0]
    assert await _get(c, f"/oruk/taxonomy_terms/{term['id']}") == term


async def _names(c: httpx.AsyncClient, url: str, params: dict[str, Any]) -> set[str]:
    body = await _get(c, url, {**params, "per_page": 200})
    return {(item.get("service") or item)["name"] for item in body["contents"]}


@pytest.mark.parametrize(
    ("params", "expected", "excluded"),
    [
        ({"search": "speech"}, {"Children's Speech and Language Therapy"}, {"CAMHS Getting Help"}),
        ({"minimum_age": 5}, {"School Nursing Service"}, {"CAMHS Getting Help"}),  # services from 5 or older
        ({"maximum_age": 16}, {"Specialist Teaching and Learning Service"}, {"School Nursing Service"}),
        ({"day": "SA"}, {"Fictional Young Carers Trust"}, {"Children's Speech and Language Therapy"}),
        (
            {"day": "TU", "start_time": "13:00", "end_time": "16:00"},
            {"Children's Speech and Language Therapy"},
            {"CAMHS Getting Help"},
        ),
        ({"modified_after": "2099-01-01T00:00:00Z"}, set(), {"CAMHS Getting Help"}),
    ],
)
async def test_the_standard_s_filters(referral_only, params, expected, excluded):
    names = await _names(referral_only.client, "/oruk/services", params)
    assert expected <= names and not excluded & names


async def test_filters_by_term_organisation_and_place(referral_only):
    c = referral_only.client
    salt_term = oruk_taxonomy.service_type_term("speech_and_language_therapy").id
    assert await _names(c, "/oruk/services", {"taxonomy_term_id": salt_term}) == {
        "Children's Speech and Language Therapy"
    }
    sensory = oruk_taxonomy.need_term("sensory_and_physical")
    assert sensory is not None
    assert "Children's Occupational Therapy" in await _names(c, "/oruk/services", {"taxonomy_term_id": sensory.id})
    trust = (await _get(c, "/oruk/organizations", {"search": "community health"}))["contents"][0]
    assert await _names(c, "/oruk/services", {"organization_id": trust["id"]}) == {
        "Children's Speech and Language Therapy",
        "Children's Occupational Therapy",
        "School Nursing Service",
        "Community Paediatrics",
    }
    near = await _get(c, "/oruk/service_at_locations", {"postcode": "ZX2 4AB", "proximity": 1000, "per_page": 200})
    assert {item["location"]["name"] for item in near["contents"]} == {"Brackenford Child Development Centre"}
    county = await _names(c, "/oruk/service_at_locations", {"postcode": "ZY1 2BD"})
    assert "County Educational Psychology" in county and "CAMHS Getting Help" not in county


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/oruk/services", {"page": 0}, "query.page"),
        ("/oruk/services", {"per_page": 1000}, "query.per_page"),
        ("/oruk/services", {"day": "someday"}, "query.day"),
        ("/oruk/services", {"start_time": "25:00"}, "query.start_time"),
        ("/oruk/service_at_locations", {"proximity": 500}, "query.proximity"),
        ("/oruk/service_at_locations", {"postcode": "not one!"}, "query.postcode"),
    ],
)
async def test_bad_parameters_are_422_problems(referral_only, url, params, field):
    response = await referral_only.client.get(url, params=params)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("path", [*(t for t, _ in DETAILS.values())])
async def test_an_unknown_id_is_404(referral_only, path):
    for unknown in (str(uuid.uuid4()), "999-salt"):
        response = await referral_only.client.get(path.format(unknown))
        assert response.status_code == 404 and response.headers["access-control-allow-origin"] == "*"
