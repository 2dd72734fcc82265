"""problem+json errors, body limit, content type, health endpoints — on a real service app."""

from __future__ import annotations

from tas_common.testing import concern_body


async def test_health_and_metrics_are_public(system):
    assert (await system.referral.get("/healthz")).json() == {"status": "alive"}
    ready = await system.caseload.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "nats": True}
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


async def test_unknown_route_is_a_problem_too(system):
    response = await system.referral.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json()["type"] == "urn:tas:problem:not-found"
