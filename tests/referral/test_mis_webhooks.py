"""Webhooks for MIS clients (issue 17.4): a client subscribes an endpoint; the event stream drives deliveries (a
referral decided, a concern linked), signed the Standard Webhooks way and verified by a real receiver; a receiver
that is away gets them when it is back, once each; one that keeps failing sends them to the dead-letter list that the
client and its LA see and replay; a slow receiver never holds up another client's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlmodel import select

from referral.domain.models_mis import WebhookDelivery
from tas_common.events import new_event
from tas_common.events.schemas import ConcernLinkedV1
from tas_common.outbox import add_event
from tas_dev.testing import concern_body

from ..conftest import eventually, nats_for
from .conftest import Referral, _referral_only
from .webhook_receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[Referral]:
    tmp = tmp_path_factory.mktemp("referral-webhooks")
    with nats_for(request, tmp / "nats") as server:
        async with _referral_only(
            tmp,
            server,
            webhook_retry_seconds=[0.3, 0.6, 1.2],
            webhook_poll_seconds=0.1,
            webhook_timeout_seconds=2.0,
            webhook_lease_seconds=5.0,
        ) as built:
            yield built


@pytest_asyncio.fixture(loop_scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


def admin(env) -> dict[str, str]:
    jwt_ = env.issuer.mint(
        issuer="tas-dev",
        audience="tas",
        sub="integration-999",
        org_id="la-999",
        org_type="local_authority",
        roles=["integration_admin"],
        la_code="999",
    )
    return {"Authorization": f"Bearer {jwt_}"}


async def client_token(env) -> tuple[str, dict[str, str]]:
    """A registered client and a token from the token endpoint (client secret)."""
    registered = (
        await env.client.post(
            "/v1/mis/clients",
            json={"name": "Webhook vendor", "school_urns": ["100000"], "client_secret": True},
            headers=admin(env),
        )
    ).json()
    token = await env.client.post(
        "/v1/mis/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(registered["id"], registered["client_secret"]),
    )
    return registered["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}


async def subscribe(env, headers, receiver: Receiver, path: str, types=("concern.linked", "referral.decided")) -> dict:
    response = await env.client.post(
        "/v1/mis/webhooks", json={"url": receiver.url(path), "event_types": list(types)}, headers=headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    receiver.secrets[path] = created["secret"]
    return created


async def push_and_accept(env, headers, serial: int) -> tuple[str, str]:
    pushed = await env.client.post(
        "/v1/mis/concerns", json=concern_body(serial, mis_record_id=f"WH-{serial}"), headers=headers
    )
    concern_id = pushed.json()["results"][0]["concern_id"]
    referral = (
        await env.client.post(
            "/v1/referrals",
            json={"concern_id": concern_id, "service_ids": ["999-salt"]},
            headers=env.headers("senco"),
        )
    ).json()["items"][0]
    accepted = await env.client.post(f"/v1/referrals/{referral['id']}/accept", headers=env.headers("salt"))
    assert accepted.status_code == 200, accepted.text
    return concern_id, referral["id"]


async def test_subscriptions_need_https_except_to_this_machine_and_show_the_secret_once(env):
    _, headers = await client_token(env)
    for url, status in (
        ("http://mis.example.org/hooks", 422),
        ("ftp://127.0.0.1/hooks", 422),
        ("https://mis.example.org/hooks", 201),
        ("http://127.0.0.1:9/hooks", 201),
    ):
        response = await env.client.post(
            "/v1/mis/webhooks", json={"url": url, "event_types": ["referral.decided"]}, headers=headers
        )
        assert response.status_code == status, (url, response.text)
    created = response.json()
    assert created["secret"].startswith("whsec_")
    listed = await env.client.get("/v1/mis/webhooks", headers=headers)
    assert created["secret"] not in listed.text and len(listed.json()) == 2
    other = env.headers("mis")
    assert (await env.client.get(f"/v1/mis/webhooks/{created['id']}", headers=other)).status_code == 404


async def test_a_decision_and_a_link_reach_the_receiver_signed_with_ids_and_statuses_only(env, receiver):
    _, headers = await client_token(env)
    await subscribe(env, headers, receiver, "decided")
    concern_id, referral_id = await push_and_accept(env, headers, 601)
    async with env.app.state.runtime.db.transaction() as session:  # caseload's link, as it publishes it
        await add_event(
            session,
            new_event(
                ConcernLinkedV1(
                    child_id="child-601", concern_id=concern_id, school_urn="100000", new_child=True, match="created"
                ),
                source="tas/caseload",
                subject="child-601",
            ),
        )

    async def both():
        got = receiver.payloads("decided")
        return got if len(got) == 2 else None

    got = await eventually(both, timeout=30, what="the two deliveries")
    by_type = {p["type"]: p for p in got}
    decided = by_type["referral.decided"]["data"]
    assert decided["referral_id"] == referral_id and decided["status"] == "accepted"
    assert decided["mis_record_id"] == "WH-601" and decided["service_id"] == "999-salt"
    assert by_type["concern.linked"]["data"] == {
        "mis_record_id": "WH-601",
        "concern_id": concern_id,
        "school_urn": "100000",
        "status": "linked",
    }
    assert "child-601" not in str(got) and "Finds it hard" not in str(got)
    assert receiver.rejected == 0


async def test_a_receiver_that_is_away_gets_its_deliveries_when_it_is_back_once_each(env):
    away = Receiver()
    _, headers = await client_token(env)
    await subscribe(env, headers, away, "away", types=("referral.decided",))
    await push_and_accept(env, headers, 611)
    await push_and_accept(env, headers, 612)

    async def retried():
        async with env.app.state.runtime.db.reader() as session:
            rows = (await session.exec(select(WebhookDelivery))).all()
            mine = [d for d in rows if d.payload["data"].get("mis_record_id") in ("WH-611", "WH-612")]
            return mine if len(mine) == 2 and all(d.attempts >= 1 for d in mine) else None

    await eventually(retried, timeout=30, what="both deliveries to fail once while the receiver is away")
    await away.start()
    try:
        await eventually(lambda: _count(away, "away", 2), timeout=30, what="both deliveries after the receiver is back")
        assert sorted(p["data"]["mis_record_id"] for p in away.payloads("away")) == ["WH-611", "WH-612"]
        assert away.replays == 0
    finally:
        await away.stop()


async def _count(receiver: Receiver, path: str, n: int) -> bool:
    return len(receiver.payloads(path)) >= n


async def test_a_receiver_that_keeps_failing_fills_the_dead_letter_list_which_is_replayed(env, receiver):
    client_id, headers = await client_token(env)
    await subscribe(env, headers, receiver, "failing", types=("referral.decided",))
    receiver.fail_with["failing"] = 500
    await push_and_accept(env, headers, 621)

    async def dead():
        page = (await env.client.get("/v1/mis/webhooks/deliveries", params={"status": "dead"}, headers=headers)).json()
        return page["items"] or None

    (letter,) = await eventually(dead, timeout=30, what="the delivery to be dead-lettered")
    assert letter["attempts"] == 4 and letter["last_status"] == 500
    la_view = await env.client.get(
        f"/v1/mis/clients/{client_id}/deliveries", params={"status": "dead"}, headers=admin(env)
    )
    assert [d["id"] for d in la_view.json()["items"]] == [letter["id"]]
    del receiver.fail_with["failing"]
    replayed = await env.client.post(
        f"/v1/mis/clients/{client_id}/deliveries/{letter['id']}/replay", headers=admin(env)
    )
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    await eventually(lambda: _count(receiver, "failing", 1), timeout=30, what="the replayed delivery")
    assert receiver.received["failing"][0].webhook_id == letter["id"]  # the same message id


async def test_a_slow_receiver_does_not_hold_up_another_clients(env, receiver):
    _, slow_headers = await client_token(env)
    _, fast_headers = await client_token(env)
    await subscribe(env, slow_headers, receiver, "slow", types=("referral.decided",))
    await subscribe(env, fast_headers, receiver, "fast", types=("referral.decided",))
    release = receiver.hold["slow"] = asyncio.Event()
    await push_and_accept(env, slow_headers, 631)
    await push_and_accept(env, slow_headers, 632)
    await push_and_accept(env, fast_headers, 633)
    await eventually(lambda: _count(receiver, "fast", 1), timeout=30, what="the fast client's delivery")
    assert receiver.payloads("slow") == []  # still held: it did not hold the fast one up
    release.set()
    await eventually(lambda: _count(receiver, "slow", 2), timeout=60, what="the slow client's deliveries")
