"""problem+json errors, body limit, content type, health endpoints — on a real service app."""

from __future__ import annotations

import gc
import time

import jwt
import pytest

from tas_common.stream import ensure_stream
from tas_dev.testing import concern_body

from ..conftest import eventually


async def test_health_and_metrics_are_public(system):
    assert (await system.referral.get("/healthz")).json() == {"status": "alive"}
    ready = await system.caseload.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "nats": True, "consumers": True}
    metrics = await system.notify.get("/metrics")
    assert metrics.status_code == 200 and "tas_outbox_pending" in metrics.text


async def test_body_over_the_limit_gets_413_before_anything_is_parsed(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    huge = concern_body(1, summary="x" * 2_000_000)
    response = await system.referral.post("/v1/concerns", json=huge, headers=senco)
    assert response.status_code == 413
    assert response.json()["type"] == "urn:tas:problem:payload-too-large"


async def test_wrong_content_type_gets_415(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    response = await system.referral.post(
        "/v1/concerns",
        content=b"school_urn=100000",
        headers={**senco, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_nul_character_is_refused_before_any_database_sees_it(system, token):
    """PostgreSQL's text cannot hold NUL: a fuzzed `?upn=` carrying one was a 500 on PostgreSQL (and a row of
    nonsense on SQLite). In a query it is a 422 naming the query, in a JSON body a 422 naming the body, and a path
    holding it names nothing (404); no concern is stored."""
    senco = token("senco", "school", school_urns=["100000"])
    query = await system.caseload.get("/v1/children", params={"upn": "A12345678901\x00"}, headers=senco)
    assert query.status_code == 422, query.text
    assert [e["field"] for e in query.json()["errors"]] == ["query"]
    body = await system.referral.post("/v1/concerns", json=concern_body(1, summary="a\x00b"), headers=senco)
    assert body.status_code == 422, body.text
    assert [e["field"] for e in body.json()["errors"]] == ["body"]
    path = await system.caseload.get("/v1/children/abc%00def", headers=senco)
    assert path.status_code == 404 and path.headers["content-type"] == "application/problem+json"
    listed = await system.referral.get("/v1/concerns", headers=senco)
    assert listed.status_code == 200 and listed.json()["items"] == []


async def test_unknown_route_is_a_problem_too(system):
    response = await system.referral.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json()["type"] == "urn:tas:problem:not-found"


async def test_a_token_the_verifier_cannot_read_is_a_401_problem_not_a_500(system, issuer):
    claims = {"iss": "tas-dev", "aud": "tas", "sub": "senco-1", "exp": int(time.time()) + 60}
    claims |= {"org_id": "school-1", "org_type": "school", "roles": None, "school_urns": 5, "child_ids": None}
    malformed = jwt.encode(claims, issuer.private_path.read_bytes(), algorithm="ES256")
    for token in ("eyJhbGciOiJSUzI1NiJ9.e30.AAAA", malformed):
        for client, path in ((system.referral, "/v1/referrals"), (system.caseload, "/v1/caseload")):
            response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "urn:tas:problem:unauthorized"


async def test_readyz_reports_a_consumer_that_cannot_run(system):
    """Issue 12.15: a consumer that is not running made no difference to /readyz. Its stream deleted under it,
    caseload's consumer cannot fetch: not ready (while NATS is); once the stream is back it recreates its durable
    consumer and is ready again."""
    js = system.runtime("caseload").js
    await js.delete_stream("TAS")

    async def readiness(status: int) -> dict | None:
        response = await system.caseload.get("/readyz")
        return response.json()["checks"] if response.status_code == status else None

    checks = await eventually(lambda: readiness(503), what="caseload to report its consumer")
    assert checks == {"database": True, "nats": True, "consumers": False}
    await ensure_stream(js, name="TAS", max_age_seconds=3600)
    await eventually(lambda: readiness(200), timeout=15, what="caseload's consumer to run again")


@pytest.mark.settings(referral={"gc_freeze": True})
async def test_a_started_service_freezes_its_start_up_heap(system, token):
    """settings.gc_freeze (on by default; off for the other apps of the suite): once started, the objects alive
    are out of the cyclic collector's reach, so its full collections (100-200 ms each on referral's heap) no longer
    stop the event loop; the service still answers. This process's heap is unfrozen again afterwards."""
    try:
        assert gc.get_freeze_count() > 10_000
        senco = token("senco", "school", school_urns=["100000"])
        response = await system.referral.post("/v1/concerns", json=concern_body(1), headers=senco)
        assert response.status_code == 201, response.text
    finally:
        gc.unfreeze()
