"""The client library against the real referral app: a token with a client secret through Authlib, and a push of
1,500 items in two batches where the answer to the first is lost after TAS stored it — the retry reuses the batch's
Idempotency-Key, so TAS replays its answer and nothing is stored twice."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tas_dev.testing import concern_body
from tas_mis_client import ClientCredentials, push_all

pytestmark = pytest.mark.asyncio(loop_scope="module")
BASE = "http://127.0.0.1:8001"


class LosesTheFirstAnswer(httpx.AsyncBaseTransport):
    def __init__(self, app) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.keys: list[str | None] = []
        self.replayed: list[bool] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == "/v1/mis/concerns":
            self.keys.append(request.headers.get("idempotency-key"))
            self.replayed.append(response.headers.get("idempotent-replayed") == "true")
            if len(self.keys) == 1:
                await response.aread()
                raise httpx.ReadError("the connection dropped after TAS answered")
        return response


async def test_a_lost_answer_is_retried_with_the_same_key_and_nothing_doubles(referral_only):
    admin_jwt = referral_only.issuer.mint(
        issuer="tas-dev",
        audience="tas",
        sub="iadmin-lib",
        org_id="la-999",
        org_type="local_authority",
        roles=["integration_admin"],
        la_code="999",
    )
    registered = (
        await referral_only.client.post(
            "/v1/mis/clients",
            json={"name": "Library vendor", "school_urns": ["100000"], "client_secret": True},
            headers={"Authorization": f"Bearer {admin_jwt}"},
        )
    ).json()
    transport = LosesTheFirstAnswer(referral_only.app)
    credentials = ClientCredentials(
        f"{BASE}/v1/mis/oauth/token", registered["id"], client_secret=registered["client_secret"], transport=transport
    )
    items = [concern_body(80_000 + n, mis_record_id=f"LIB-{n}") for n in range(1500)]
    done: list[int] = []
    summary = await push_all(
        BASE,
        credentials,
        items,
        key_prefix="lib-push",
        transport=transport,
        on_batch=lambda n, s: done.append(n),
        sleep=lambda seconds: asyncio.sleep(0),
    )
    assert (summary.created, summary.duplicates, summary.invalid) == (1500, 0, 0)
    assert transport.keys == ["lib-push-0", "lib-push-0", "lib-push-1"]
    assert transport.replayed == [False, True, False]  # TAS's record answered the retry
    assert done == [1000, 1500]
    assert [r["index"] for r in summary.results] == list(range(1500))
    again = await push_all(BASE, credentials, items[:10], transport=transport)
    assert again.duplicates == 10
