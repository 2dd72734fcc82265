"""Referral's lists page with keyset cursors: rows raised while a caller pages through a list neither shift the
pages nor show up twice, and no row that was there when paging began is skipped (an offset cursor repeated one row
for each row added ahead of it)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import new_concern, new_referral

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def page_through(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], *, between_pages: Any
) -> list[str]:
    """Every id of the list, page by page (2 a page), calling `between_pages(n)` after each page n."""
    ids: list[str] = []
    cursor = None
    for page in range(1, 50):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
        await between_pages(page)
    raise AssertionError("the list did not end")


async def test_concerns_raised_between_pages_neither_repeat_nor_hide_a_concern(referral_only):
    senco = referral_only.headers("senco")
    before = [(await new_concern(referral_only.client, senco, serial))["id"] for serial in range(301, 306)]
    added: list[str] = []

    async def raise_two(page: int) -> None:  # newest first: each new concern lands on a page already read
        for serial in (310 + 2 * page, 311 + 2 * page):
            added.append((await new_concern(referral_only.client, senco, serial))["id"])

    seen = await page_through(referral_only.client, "/v1/concerns", senco, between_pages=raise_two)
    assert len(seen) == len(set(seen)), "a concern was shown twice"
    assert set(before) <= set(seen), "a concern that was there all along was skipped"
    assert added, "nothing was raised between pages"


async def test_referrals_made_between_pages_neither_repeat_nor_hide_a_referral(referral_only):
    salt = referral_only.headers("salt")
    senco = referral_only.headers("senco")
    before = [(await new_referral(referral_only.client, senco, serial))["id"] for serial in range(321, 326)]
    added: list[str] = []

    async def refer(page: int) -> None:  # urgent ones go to the head of the queue, routine ones to its end
        added.append((await new_referral(referral_only.client, senco, 330 + 2 * page, urgency="urgent"))["id"])
        added.append((await new_referral(referral_only.client, senco, 331 + 2 * page))["id"])

    seen = await page_through(referral_only.client, "/v1/referrals", salt, between_pages=refer)
    assert len(seen) == len(set(seen)), "a referral was shown twice"
    assert set(before) <= set(seen), "a referral that was there all along was skipped"
    assert set(added) & set(seen), "the routine referrals made behind the cursor are on later pages"


async def test_a_cursor_of_another_list_or_garbled_is_422(referral_only):
    senco = referral_only.headers("senco")
    for serial in (341, 342, 343):
        await new_referral(referral_only.client, senco, serial)
    concerns = (await referral_only.client.get("/v1/concerns", params={"limit": 1}, headers=senco)).json()
    for cursor in (concerns["next_cursor"], "nonsense", "WzEsMiwzXQ"):
        response = await referral_only.client.get("/v1/referrals", params={"cursor": cursor}, headers=senco)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["query.cursor"]
