"""One in-process TAS (referral, caseload, notify on real SQLite, a real nats-server, an SMTP sink) per module, with
a child in scope and one out of scope, each with a concern, referrals, a team, a published plan, a review, an EHC
request, family contacts and a message sent to the family. Built once: the authorisation matrix asks thousands of
questions of it."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tas_common.auth import DevIssuer
from tas_common.tables import audit_log
from tas_dev.testing import bearer, concern_body, free_port

from ..conftest import (
    SERVICES,
    Nats,
    _Collect,
    drop_database,
    eventually,
    fresh_database_url,
    migrate,
    nats_for,
    running,
    service_settings,
)

IN_SCHOOL, OTHER_SCHOOL, OUT_SCHOOL = "100000", "100001", "200000"  # LA 999, 999, 998
SALT, OUT_EP = "999-salt", "998-educational-psychology"

# Every kind of caller the matrix asks about: (roles, org_type, claims). "in" is the child in scope (school
# 100000, LA 999); "out" is a child nobody here has a relationship with (school 200000, LA 998).
ACTORS: dict[str, tuple[list[str], str, dict[str, Any]]] = {
    "senco": (["senco"], "school", {"org_id": "school-100000", "sub": "senco-1", "school_urns": [IN_SCHOOL]}),
    "dsl": (["dsl"], "school", {"org_id": "school-100000", "sub": "dsl-1", "school_urns": [IN_SCHOOL]}),
    "head": (["head"], "school", {"org_id": "school-100000", "sub": "head-1", "school_urns": [IN_SCHOOL]}),
    "teacher": (["teacher"], "school", {"org_id": "school-100000", "sub": "teacher-1", "school_urns": [IN_SCHOOL]}),
    "other_senco": (["senco"], "school", {"org_id": "school-100001", "sub": "senco-2", "school_urns": [OTHER_SCHOOL]}),
    "other_teacher": (
        ["teacher"],
        "school",
        {"org_id": "school-100001", "sub": "teacher-2", "school_urns": [OTHER_SCHOOL]},
    ),
    "health_member": (["slt"], "health", {"org_id": "nhs-trust-1", "sub": "slt-1", "name": "Sam Therapist"}),
    "health_other": (["slt"], "health", {"org_id": "nhs-trust-9", "sub": "slt-9"}),
    # another service's practitioner in the same organisation: an OT of NHS trust 1, whose SALT has the referrals
    "ot_same_trust": (["ot"], "health", {"org_id": "nhs-trust-1", "sub": "ot-1"}),
    "social_worker": (["social_worker"], "social_care", {"org_id": "council-sc", "sub": "sw-1"}),
    "la_officer": (["send_officer"], "local_authority", {"org_id": "la-999-send", "sub": "so-1", "la_code": "999"}),
    "other_la_officer": (
        ["send_officer"],
        "local_authority",
        {"org_id": "la-997-send", "sub": "so-7", "la_code": "997"},
    ),
    "offer_admin": (["offer_admin"], "local_authority", {"org_id": "la-999", "sub": "admin-1", "la_code": "999"}),
    "notify_admin": (["notify_admin"], "local_authority", {"org_id": "la-999", "sub": "nadmin-1", "la_code": "999"}),
    "integration_admin": (
        ["integration_admin"],
        "local_authority",
        {"org_id": "la-999", "sub": "iadmin-1", "la_code": "999"},
    ),
    "mis_in": (["mis_client"], "mis", {"org_id": "mis-vendor-1", "sub": "mis-1", "school_urns": [IN_SCHOOL]}),
    "mis_out": (["mis_client"], "mis", {"org_id": "mis-vendor-1", "sub": "mis-2", "school_urns": [OTHER_SCHOOL]}),
    "family": (["parent"], "family", {}),  # sub = the in-scope child's contact, child_ids = [in]
    "other_family": (["parent"], "family", {}),  # the family of another child (in school 100001)
    # a parent of that other child whose token names the in-scope child (and the out child) in `child_ids`: a
    # forged or mis-issued claim. Caseload and notify check the relationship in their own data.
    "forged_family": (["parent"], "family", {}),
    "anonymous": ([], "", {}),
}


@dataclass
class World:
    tmp: Path
    issuer: DevIssuer
    apps: dict[str, Any]
    clients: dict[str, httpx.AsyncClient]
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # "in" / "out" → path parameters and markers
    actor_claims: dict[str, dict[str, Any]] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        if actor == "anonymous":
            return {}
        roles, org_type, claims = ACTORS[actor]
        return _token(self.issuer, roles, org_type, **{**claims, **self.actor_claims.get(actor, {})})

    def sub(self, actor: str) -> str:
        return {**ACTORS[actor][2], **self.actor_claims.get(actor, {})}["sub"]

    async def audit_head(self, service: str) -> int:
        async with self.apps[service].state.runtime.db.reader() as session:
            return (await session.execute(select(func.coalesce(func.max(audit_log.c.seq), 0)))).scalar_one()

    async def audit_since(self, service: str, seq: int) -> list[Any]:
        async with self.apps[service].state.runtime.db.reader() as session:
            return list((await session.execute(select(audit_log).where(audit_log.c.seq > seq))).all())


def _token(issuer: DevIssuer, roles: list[str], org_type: str, **claims: Any) -> dict[str, str]:
    return bearer(issuer, roles=roles, org_type=org_type, **claims)


async def _ok(response: httpx.Response, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), (response.request.url, response.status_code, response.text)
    return response.json() if response.content else {}


async def _raise(world: World, serial: int, school: str, headers: dict[str, str]) -> dict[str, str]:
    """A concern raised at referral, followed until caseload has the child and notify has told the family."""
    body = concern_body(serial, school_urn=school)
    concern = await _ok(await world.clients["referral"].post("/v1/concerns", json=body, headers=headers))

    async def linked() -> str | None:
        r = await world.clients["referral"].get(f"/v1/concerns/{concern['id']}", headers=headers)
        return r.json().get("child_id")

    child_id = await eventually(linked, what="the concern to be linked to a child")
    return {"concern_id": concern["id"], "child_id": child_id, "upn": body["child"]["upn"], "urn": school}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    tmp: Path = tmp_path_factory.mktemp("access")
    with nats_for(request, tmp / "nats") as nats:
        async with _world(tmp, nats) as built:
            yield built


@asynccontextmanager
async def _world(tmp: Path, nats: Nats) -> AsyncIterator[World]:
    issuer = DevIssuer(tmp / "dev-issuer").ensure()
    handler = _Collect()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    apps = {}
    for service in (*SERVICES, "insights"):
        extra: dict[str, Any] = {}
        if service == "notify":
            extra = {
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "quiet_hours_start": 0,
                "quiet_hours_end": 0,
                "sms_outbox_path": tmp / "sms-outbox.jsonl",
            }
        if service == "caseload":  # each kind of caller asks for a sign-in code from the one test address
            extra = {"signin_requests_per_address": 4 * len(ACTORS)}
        settings = service_settings(
            service, tmp, nats.url, **extra, database_url=fresh_database_url(service, tmp, per_test=False)
        )
        await migrate(service, settings.database_url)
        apps[service] = importlib.import_module(f"{service}.main").create_app(settings)
    try:
        async with running(apps) as clients:
            world = World(tmp=tmp, issuer=issuer, apps=apps, clients=clients)
            await _seed(world)
            yield world
    finally:
        smtp.stop()
        for app in apps.values():
            drop_database(app.state.settings.database_url)


async def _oruk_ids(ref: httpx.AsyncClient, service_id: str) -> dict[str, str]:
    """The ids of the Open Referral UK feed's objects around a service (path parameters of /oruk/.../{id})."""
    service = await _ok(
        await ref.get(f"/oruk/services/{(await _ok(await ref.get(f'/v1/services/{service_id}')))['oruk_id']}")
    )
    term = service["attributes"][0]["taxonomy_term"]
    return {
        "oruk_service_id": service["id"],
        "oruk_service_at_location_id": service["service_at_locations"][0]["id"],
        "oruk_organization_id": service["organization"]["id"],
        "oruk_taxonomy_id": term["taxonomy_id"],
        "oruk_taxonomy_term_id": term["id"],
    }


async def _seed(world: World) -> None:
    ref, case, notify = world.clients["referral"], world.clients["caseload"], world.clients["notify"]
    h = world.headers
    out_senco = _token(
        world.issuer, ["senco"], "school", org_id="school-200000", sub="senco-8", school_urns=[OUT_SCHOOL]
    )
    out_la = _token(world.issuer, ["send_officer"], "local_authority", org_id="la-998-send", sub="so-8", la_code="998")
    other_senco = h("other_senco")
    camhs = _token(world.issuer, ["camhs"], "health", org_id="nhs-trust-5", sub="camhs-1")
    for target, serial, school, senco, la in (
        ("in", 101, IN_SCHOOL, h("senco"), h("la_officer")),
        ("out", 202, OUT_SCHOOL, out_senco, out_la),
    ):
        ids = await _raise(world, serial, school, senco)
        child = ids["child_id"]
        family = await _ok(await case.get(f"/v1/children/{child}/family", headers=senco))
        ids["member_id"] = ids["contact_id"] = family["items"][0]["id"]
        # two referrals to one service (SALT of NHS trust 1 for "in"): the first withdrawn (closed: every move is
        # 409), the second accepted (its therapist joins the team). The trust's OT is not SALT's: it sees neither.
        service = SALT if target == "in" else OUT_EP
        receiver = (
            h("health_member")
            if target == "in"
            else _token(world.issuer, ["ep"], "local_authority", org_id="la-998", sub="ep-8")
        )
        for step in ("withdraw", "accept"):
            made = await _ok(
                await ref.post(
                    "/v1/referrals", json={"concern_id": ids["concern_id"], "service_ids": [service]}, headers=senco
                )
            )
            referral = made["items"][0]["id"]
            if step == "withdraw":
                await _ok(
                    await ref.post(
                        f"/v1/referrals/{referral}/withdraw", json={"reason": "Family moved away"}, headers=senco
                    )
                )
                ids["referral_id"] = referral
            else:
                await _ok(await ref.post(f"/v1/referrals/{referral}/accept", headers=receiver))

        async def on_team(child: str = child, senco: dict[str, str] = senco) -> str | None:
            r = await case.get(f"/v1/children/{child}/team", headers=senco)
            return next((m["id"] for m in r.json()["members"]), None) if r.status_code == 200 else None

        ids["team_member_id"] = await eventually(on_team, what="the therapist to join the team")
        await _ok(
            await case.put(f"/v1/children/{child}/team/lead", json={"member_id": ids["team_member_id"]}, headers=senco)
        )
        added = await _ok(
            await case.post(
                f"/v1/children/{child}/team",
                json={"sub": "helper-1", "name": "Hal Helper", "org_id": "council-sc", "org_type": "social_care"},
                headers=senco,
            )
        )
        ids["removable_member_id"] = added["id"]
        _, etag = None, (await case.get(f"/v1/children/{child}/plan", headers=senco)).headers["ETag"]
        await _ok(
            await case.put(
                f"/v1/children/{child}/plan",
                headers={**senco, "If-Match": etag},
                json={"needs": [{"area": "communication_and_interaction", "description": "Speech unclear to peers"}]},
            )
        )
        # shared for comment: the family sees version 1 and may comment on it
        await _ok(
            await case.post(f"/v1/children/{child}/plan/publish", json={"status": "shared_for_comment"}, headers=senco)
        )
        review = await _ok(
            await case.post(
                f"/v1/children/{child}/reviews",
                headers=senco,
                json={"scheduled_for": "2031-02-01T15:30:00Z", "place": "School", "attendees": [{"name": "Sam Senco"}]},
            )
        )
        ids["review_id"] = review["id"]
        ehc = await _ok(
            await case.post(
                f"/v1/children/{child}/ehc-requests", headers=la, json={"requested_on": date.today().isoformat()}
            )
        )
        ids["request_id"] = ehc["id"]
        grant = await _ok(
            await case.post(
                f"/v1/children/{child}/break-glass",
                headers=camhs,
                json={"reason": "Urgent CAMHS assessment out of hours"},
            )
        )
        ids["grant_id"] = grant["id"]
        override_by = h("dsl") if target == "in" else out_la
        override = await _ok(
            await ref.post(
                f"/v1/concerns/{ids['concern_id']}/consent-overrides",
                headers=override_by,
                json={
                    "agency_type": "voluntary",
                    "lawful_basis": "public_task",
                    "reason": "Young carers support, family not reachable",
                },
            )
        )
        ids["override_id"] = override["id"]
        ids["service_id"] = SALT if target == "in" else OUT_EP
        ids.update(await _oruk_ids(ref, ids["service_id"]))
        world.ids[target] = ids
    third = await _raise(world, 303, OTHER_SCHOOL, other_senco)
    third_family = await _ok(await case.get(f"/v1/children/{third['child_id']}/family", headers=other_senco))
    world.actor_claims["family"] = {
        "org_id": "family-in",
        "sub": world.ids["in"]["member_id"],
        "child_ids": [world.ids["in"]["child_id"]],
    }
    world.actor_claims["other_family"] = {
        "org_id": "family-third",
        "sub": third_family["items"][0]["id"],
        "child_ids": [third["child_id"]],
    }
    world.actor_claims["forged_family"] = {
        "org_id": "family-third",
        "sub": third_family["items"][0]["id"],
        "child_ids": [third["child_id"], world.ids["in"]["child_id"], world.ids["out"]["child_id"]],
    }
    for target in ("in", "out"):
        child = world.ids[target]["child_id"]
        scope = h("la_officer") if target == "in" else out_la

        async def message(child: str = child, scope: dict[str, str] = scope, target: str = target) -> str | None:
            r = await notify.get("/v1/notifications", params={"child_id": child}, headers=scope)
            items = r.json().get("items", []) if r.status_code == 200 else []
            return next((n["id"] for n in items if n.get("contact_id") == world.ids[target]["contact_id"]), None)

        world.ids[target]["notification_id"] = await eventually(message, what="the family's acknowledgement")
    member = await _ok(
        await ref.post(
            f"/v1/services/{SALT}/members",
            json={"sub": "locum-1", "org_id": "nhs-trust-1", "name": "Lou Locum"},
            headers=h("offer_admin"),
        )
    )
    world.ids["in"]["service_member_id"] = member["id"]
    insights = world.clients["insights"]

    async def announced() -> bool:  # referral's migration announced the register and the offer
        asks = ({"school_urn": IN_SCHOOL}, {"service_id": SALT})
        answers = [await insights.get("/v1/insights/waiting", params=q, headers=h("la_officer")) for q in asks]
        return all(r.status_code == 200 for r in answers)

    await eventually(announced, what="insights to know the school and the service")
    from tests.access.rules_referral import mis_client_body, mis_seed_body, webhook_body

    client = await _ok(
        await ref.post("/v1/mis/clients", json=mis_client_body({}, "seed"), headers=h("integration_admin"))
    )
    pushed = await _ok(
        await ref.post("/v1/mis/concerns", json=mis_seed_body(world.ids["in"], "seed"), headers=h("mis_in"))
    )
    hooks = [
        await _ok(await ref.post("/v1/mis/webhooks", json=webhook_body({}, "seed"), headers=h("mis_in")))
        for _ in range(2)
    ]
    for target in ("in", "out"):
        world.ids[target].update(
            webhook_id=hooks[0]["id"],
            webhook_delete_id=hooks[1]["id"],
            delivery_id=hooks[0]["id"],  # no delivery has this id: a replay of it is 404 to everyone
            mis_client_id=client["id"],
            mis_credential_id=client["credentials"][0]["id"],
            mis_record_id=pushed["results"][0]["mis_record_id"],
        )
    templates = await _ok(await notify.get("/v1/templates", headers=h("notify_admin")))
    first = templates["items"][0]
    for target in ("in", "out"):
        world.ids[target].update(
            template_id=first["id"],
            template_name=first["name"],
            template_channel=first["channel"],
            template_language=first["language"],
        )
