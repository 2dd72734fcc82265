"""Steps the end-to-end tests share: a concern raised until the family is acknowledged, an event published by
referral's own path, notify caught up."""

from __future__ import annotations

from typing import Any

from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import ReferralEventBase
from tas_common.outbox import add_event

from ..conftest import System, eventually


async def child_and_ack(system: System, senco: dict[str, str], body: dict[str, Any]) -> str:
    """Raise the concern `body`; once caseload has the child and notify delivered the acknowledgement: its id."""
    assert (await system.referral.post("/v1/concerns", json=body, headers=senco)).status_code == 201

    async def child_found():
        r = await system.caseload.get("/v1/children", params={"upn": body["child"]["upn"]}, headers=senco)
        return r.json()["items"] if r.status_code == 200 else None

    child_id = (await eventually(child_found, what="the child"))[0]["id"]

    async def acknowledged():
        r = await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=senco)
        items = r.json().get("items", []) if r.status_code == 200 else []
        return items if any(n["status"] == "delivered" for n in items) else None

    await eventually(acknowledged, what="the acknowledgement")
    return child_id


async def publish_from_referral(system: System, payload: ReferralEventBase) -> CloudEvent:
    """Publish `payload` by referral's real path (its outbox, then its relay), as if referral had written it."""
    event = new_event(payload, source="tas/referral", subject=payload.referral_id)
    async with system.runtime("referral").db.transaction() as session:
        await add_event(session, event)
    return event


async def notify_caught_up(system: System) -> None:
    """Wait until notify's consumer has handled everything delivered to it."""

    async def idle():
        return await system.runtime("notify").runners[0].pending() == 0

    await eventually(idle, what="notify's consumer to drain")
