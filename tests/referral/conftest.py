"""Referral's test helpers: a module-scoped referral service on a real nats-server and SQLite (for the large
authorisation table), tokens for each kind of caller, and readers of the JetStream stream."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats as nats_client
import pytest
import pytest_asyncio
from nats.js.api import DeliverPolicy

from tas_common.auth import DevIssuer
from tas_dev.testing import bearer, concern_body

from ..conftest import Nats, drop_database, fresh_database_url, migrate, nats_for, service_settings

SCHOOL = "100000"
OTHER_SCHOOL = "100001"
SALT = "999-salt"
EP = "999-educational-psychology"
FRONT_DOOR = "999-front-door"
OT = "999-occupational-therapy"

# Who is calling: (role, org_type, claims). Practitioners belong to a service when org_id = its organisation.
ACTORS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "senco": ("senco", "school", {"org_id": "school-100000", "sub": "senco-1", "school_urns": [SCHOOL]}),
    "dsl": ("dsl", "school", {"org_id": "school-100000", "sub": "dsl-1", "school_urns": [SCHOOL]}),
    "teacher": ("teacher", "school", {"org_id": "school-100000", "sub": "teacher-1", "school_urns": [SCHOOL]}),
    "other_school_senco": (
        "senco",
        "school",
        {"org_id": "school-100001", "sub": "senco-9", "school_urns": [OTHER_SCHOOL]},
    ),
    "salt": ("slt", "health", {"org_id": "nhs-trust-1", "sub": "slt-1", "name": "Sam Therapist"}),
    "other_health": ("slt", "health", {"org_id": "nhs-trust-9", "sub": "slt-9"}),
    "front_door": ("social_worker", "social_care", {"org_id": "la-999-csc", "sub": "sw-1"}),
    "la_officer": ("send_officer", "local_authority", {"org_id": "la-999-send", "sub": "so-1", "la_code": "999"}),
    "other_la_officer": ("send_officer", "local_authority", {"org_id": "la-998-send", "sub": "so-9", "la_code": "998"}),
    "offer_admin": ("offer_admin", "local_authority", {"org_id": "la-999", "sub": "admin-1", "la_code": "999"}),
    "family": ("parent", "family", {"org_id": "family", "sub": "parent-1", "child_ids": ["c-1"]}),
    "mis": ("mis_client", "mis", {"org_id": "mis-vendor-1", "sub": "mis-client-1", "school_urns": [SCHOOL]}),
}


def actor_headers(token: Callable[..., dict[str, str]], actor: str) -> dict[str, str]:
    role, org_type, claims = ACTORS[actor]
    return token(role, org_type, **claims)


@dataclass
class Referral:
    """The referral service alone, module-scoped: fast enough for a parametrized table of every role × action."""

    client: httpx.AsyncClient
    issuer: DevIssuer
    nats_url: str
    app: Any

    def headers(self, actor: str) -> dict[str, str]:
        role, org_type, claims = ACTORS[actor]
        return bearer(self.issuer, roles=[role], org_type=org_type, **claims)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def referral_only(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Referral]:
    tmp: Path = tmp_path_factory.mktemp("referral")
    with nats_for(request, tmp / "nats") as server:
        async with _referral_only(tmp, server) as built:
            yield built


@asynccontextmanager
async def _referral_only(tmp: Path, server: Nats, **overrides: Any) -> AsyncIterator[Referral]:
    issuer = DevIssuer(tmp / "dev-issuer").ensure()
    settings = service_settings(
        "referral", tmp, server.url, database_url=fresh_database_url("referral", tmp, per_test=False), **overrides
    )
    await migrate("referral", settings.database_url)
    app = importlib.import_module("referral.main").create_app(settings)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://referral") as c,
        ):
            await asyncio.wait_for(app.state.runtime.bus_ready.wait(), timeout=10)
            yield Referral(client=c, issuer=issuer, nats_url=server.url, app=app)
    finally:
        drop_database(settings.database_url)


async def new_concern(client: httpx.AsyncClient, headers: dict[str, str], serial: int, **overrides: Any) -> dict:
    response = await client.post("/v1/concerns", json=concern_body(serial, **overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def new_referral(
    client: httpx.AsyncClient, headers: dict[str, str], serial: int, service_id: str = SALT, **overrides: Any
) -> dict:
    concern = await new_concern(client, headers, serial, **overrides)
    response = await client.post(
        "/v1/referrals", json={"concern_id": concern["id"], "service_ids": [service_id]}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["items"][0]


async def first_contacted(env: Referral, service_id: str, waits: list[int], serial: int) -> None:
    """Referrals to the service (from the SENCO of school 100000) that reached first contact yesterday after
    waiting these many days each."""
    from datetime import timedelta

    from sqlalchemy import update

    from referral.domain.models import Referral as ReferralRow
    from tas_common.db import utcnow

    senco, now = env.headers("senco"), utcnow()
    for n, days in enumerate(waits):
        referral = await new_referral(env.client, senco, serial + n, service_id=service_id)
        async with env.app.state.runtime.db.transaction() as session:
            await session.execute(
                update(ReferralRow)
                .where(ReferralRow.id == referral["id"])  # type: ignore[arg-type]
                .values(submitted_at=now - timedelta(days=days + 1), first_contact_at=now - timedelta(days=1))
            )


async def stream_events(nats_url: str, subject: str = "tas.>", *, expect: int = 1, timeout: float = 10.0) -> list[dict]:
    """The CloudEvents on `subject` in the TAS stream, read with an ephemeral ordered JetStream consumer; waits
    until at least `expect` are there."""
    nc = await nats_client.connect(nats_url)
    try:
        js = nc.jetstream()
        events: list[dict] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            events = []
            sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
            try:
                while True:
                    try:
                        msg = await sub.next_msg(timeout=0.3)
                    except (TimeoutError, nats_client.errors.TimeoutError):
                        break
                    events.append(json.loads(msg.data))
            finally:
                await sub.unsubscribe()
            if len(events) >= expect or asyncio.get_running_loop().time() > deadline:
                return events
            await asyncio.sleep(0.2)
    finally:
        await nc.close()
