"""Bad input is a 4xx problem+json, never a 500 (issue 12.7-12.10), on the real services."""

from __future__ import annotations

import base64

import pytest

from ..caseload.conftest import Helpers

HUGE = "9223372036854775808"  # 2**63: one beyond SQLite's 64-bit integers


@pytest.fixture
async def helpers(system, token) -> Helpers:
    return Helpers(system, token)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


async def test_integers_beyond_64_bits_are_422_not_500(system, helpers):
    child = await helpers.child(1)
    base = f"/v1/children/{child['id']}"
    for path, params in (
        (f"{base}/plan/versions/{HUGE}", None),
        (f"{base}/plan/diff", {"from": "1", "to": HUGE}),
        (f"{base}/plan/diff", {"from": HUGE, "to": "1"}),
        (f"{base}/access-log", {"cursor": "99999999999999999999"}),
    ):
        assert_problem(await system.caseload.get(path, params=params, headers=helpers.senco), 422)
    offset = base64.urlsafe_b64encode(f"o:{HUGE}".encode()).decode()
    for path, params in (("/v1/services", {"page": HUGE}), ("/v1/referrals", {"cursor": offset})):
        assert_problem(await system.referral.get(path, params=params, headers=helpers.senco), 422)
