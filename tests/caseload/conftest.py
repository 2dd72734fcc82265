"""Helpers for caseload's tests: children made the real way (a concern raised at referral), referral events
published the real way (referral's transactional outbox), and reads of caseload's outbox and tables."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import ChildIdentity, ConcernRaisedV1, EventPayload, FamilyContactV1, ReferralAcceptedV1
from tas_common.identifiers import normalise_uk_mobile
from tas_common.outbox import add_event
from tas_common.tables import outbox, processed_event
from tas_dev.testing import concern_body

from ..conftest import eventually

SCHOOL = "100000"
LA = "999"


class Helpers:
    def __init__(self, system: Any, token: Any) -> None:
        self.system = system
        self.token = token
        self.senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=[SCHOOL])
        self.dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=[SCHOOL])
        self.la = token("send_officer", "local_authority", org_id="la-999", sub="la-1", la_code=LA)
        self.slt = token("slt", "health", org_id="nhs-trust-1", sub="slt-1")
        self.ot = token("ot", "health", org_id="nhs-trust-1", sub="ot-1")
        self.social = token("social_worker", "social_care", org_id="council-sc", sub="sw-1")
        self.outsider = token("slt", "health", org_id="nhs-trust-2", sub="slt-9")
        self.family_members: dict[str, str] = {}  # child id → the id of its first family member

    def family(self, child_id: str) -> dict[str, str]:
        """A token of the child's first family member (caseload checks `sub` against the child's family)."""
        sub = self.family_members[child_id]
        return self.token("parent", "family", org_id=f"family-{child_id[:8]}", sub=sub, child_ids=[child_id])

    async def second_parent(self, child_id: str) -> str:
        """Add Kit Carer (with parental responsibility, by email) to the child's family; returns their id."""
        r = await self.system.caseload.post(
            f"/v1/children/{child_id}/family",
            json={
                "name": "Kit Carer",
                "relationship": "carer",
                "parental_responsibility": True,
                "email": "kit.carer@example.org",
                "preferred_channel": "email",
            },
            headers=self.senco,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def child(
        self,
        serial: int,
        *,
        safeguarding: bool = False,
        school: str = SCHOOL,
        la: str = LA,
        child_fields: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """A concern raised at referral for a pupil of school 100000 in LA 999 (or `school` in `la`), as referral
        publishes it (its outbox; referral's API does not take an LA code on this branch), then the child caseload
        made of it. `child_fields` overrides fields of the child's identity (names, date of birth)."""
        body = concern_body(serial, school_urn=school, safeguarding=safeguarding, **overrides)
        body["child"].update(child_fields or {})
        contacts = [
            FamilyContactV1(
                contact_ref=str(uuid.uuid4()),
                **{**c, "mobile": normalise_uk_mobile(c["mobile"]) if c.get("mobile") else None},
            )
            for c in body["family_contacts"]
        ]
        concern = ConcernRaisedV1(
            concern_id=str(uuid.uuid4()),
            school_urn=school,
            la_code=la,
            raised_by_org=f"school-{school}",
            child=ChildIdentity(**body["child"]),
            areas_of_need=body["areas_of_need"],
            safeguarding=safeguarding,
            family_contacts=contacts,
            consent_status="given",
            school_name=f"School {school}",  # as referral's register gives it
            school_phone="01632 960000",
            school_email=f"office.{school}@example.org",
        )
        event = await self.publish_referral(concern)
        await self.processed(event.id)
        lead = self.senco if school == SCHOOL else self.token("senco", "school", school_urns=[school])
        r = await self.system.caseload.get("/v1/children", params={"upn": body["child"]["upn"]}, headers=lead)
        child = next(c for c in r.json()["items"])
        family = await self.system.caseload.get(f"/v1/children/{child['id']}/family", headers=lead)
        self.family_members[child["id"]] = family.json()["items"][0]["id"]
        return {**child, "concern_id": concern.concern_id, "body": body}

    async def publish_referral(self, payload: EventPayload, event_id: str | None = None) -> CloudEvent:
        """Publish as referral does: an event row in referral's outbox, relayed to JetStream after commit."""
        event = new_event(
            payload,
            source="tas/referral",
            subject=getattr(payload, "referral_id", None) or getattr(payload, "concern_id", None),
        )
        if event_id:
            event = event.model_copy(update={"id": event_id})
        async with self.system.runtime("referral").db.transaction() as session:
            await add_event(session, event)
        return event

    async def processed(self, event_id: str) -> None:
        async def done() -> bool:
            async with self.system.runtime("caseload").db.reader() as session:
                return (
                    await session.execute(
                        select(processed_event.c.event_id).where(processed_event.c.event_id == event_id)
                    )
                ).first() is not None

        await eventually(done, what=f"caseload to handle event {event_id}")

    async def accept(
        self,
        child: dict[str, Any],
        *,
        sub: str = "slt-1",
        org_id: str = "nhs-trust-1",
        org_type: str = "health",
        role: str = "speech and language therapist",
        referral_id: str | None = None,
        safeguarding: bool = False,
        with_child_id: bool = True,
        organisation_name: str | None = None,
        service_name: str | None = None,
    ) -> CloudEvent:
        event = await self.publish_referral(
            ReferralAcceptedV1(
                referral_id=referral_id or str(uuid.uuid4()),
                concern_id=child["concern_id"],
                child_id=child["id"] if with_child_id else None,
                service_id="svc-slt",
                school_urn=SCHOOL,
                safeguarding=safeguarding,
                practitioner_sub=sub,
                practitioner_name=f"Pat {sub}",
                practitioner_org_id=org_id,
                practitioner_org_type=org_type,
                practitioner_role=role,
                organisation_name=organisation_name,
                service_name=service_name,
                service_contact_email="team.inbox@example.org" if service_name else None,
            )
        )
        await self.processed(event.id)
        return event

    async def events(self, subject: str) -> list[dict[str, Any]]:
        async with self.system.runtime("caseload").db.reader() as session:
            rows = (
                await session.execute(
                    select(outbox.c.payload).where(outbox.c.subject == subject).order_by(outbox.c.seq)
                )
            ).all()
        return [json.loads(r.payload)["data"] for r in rows]

    async def plan(self, child_id: str, headers: dict[str, str]) -> tuple[dict[str, Any], str]:
        r = await self.system.caseload.get(f"/v1/children/{child_id}/plan", headers=headers)
        assert r.status_code == 200, r.text
        return r.json(), r.headers["ETag"]

    async def put_plan(self, child_id: str, headers: dict[str, str], etag: str | None, **sections: Any) -> Any:
        extra = {"If-Match": etag} if etag else {}
        return await self.system.caseload.put(
            f"/v1/children/{child_id}/plan", json=sections, headers={**headers, **extra}
        )


@pytest.fixture
def h(system: Any, token: Any) -> Helpers:
    return Helpers(system, token)
