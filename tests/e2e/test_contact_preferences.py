"""A parent's own choices have one owner (notify): a practitioner editing the parent's details in caseload does
not undo them, practitioners see them in caseload's family view, a channel the parent stopped falls back to
their other one, and the school is told when the family can no longer be reached at all."""

from __future__ import annotations

import uuid

import pytest

from notify.domain.models import Contact
from tas_dev.testing import concern_body, referral_accepted

from ..conftest import eventually
from .flows import child_and_ack, publish_from_referral

CALLBACK = "notify-callback-token-0123456789"
pytestmark = pytest.mark.settings(notify={"notify_callback_token": CALLBACK})


async def _parent(system, senco, child_id: str) -> dict:
    (parent,) = (await system.caseload.get(f"/v1/children/{child_id}/family", headers=senco)).json()["items"]
    return parent


async def _notify_has_mobile(system, contact_id: str, mobile: str) -> None:
    async def replicated():
        async with system.runtime("notify").db.reader() as session:
            contact = await session.get(Contact, contact_id)
        return contact is not None and contact.mobile == mobile

    await eventually(replicated, what="notify's replica to have the new mobile")


async def _caseload_shows(system, senco, child_id: str, check) -> dict:
    async def shown():
        parent = await _parent(system, senco, child_id)
        return parent if check(parent) else None

    return await eventually(shown, what="caseload's family view to show the parent's choice")


async def test_a_parents_choices_survive_a_practitioners_edit_and_stop_falls_back_to_email(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    child_id = await child_and_ack(system, senco, concern_body(61, channel="sms"))
    parent = await _parent(system, senco, child_id)
    me = token([], "family", sub=parent["id"], child_ids=[child_id])
    prefs = f"/v1/contacts/{parent['id']}/preferences"
    assert (await system.notify.patch(prefs, json={"language": "cy"}, headers=me)).status_code == 200
    stop = await system.notify.post(
        "/v1/receipts/notify",
        headers={"Authorization": f"Bearer {CALLBACK}"},
        json={"id": str(uuid.uuid4()), "source_number": "447700900061", "content": "STOP"},
    )
    assert stop.json()["suppressed"] is True
    # the SENCO records the parent's new mobile in caseload
    edit = await system.caseload.patch(
        f"/v1/children/{child_id}/family/{parent['id']}", json={"mobile": "07700 900161"}, headers=senco
    )
    assert edit.status_code == 200, edit.text
    await _notify_has_mobile(system, parent["id"], "+447700900161")
    mine = (await system.notify.get(prefs, headers=me)).json()
    assert (mine["language"], mine["preferred_channel"], mine["opted_out"]) == ("cy", "sms", False)
    assert "sms: sms-stop" in mine["suppressed"]  # STOP was the parent's, not the old number's
    shown = await _caseload_shows(system, senco, child_id, lambda p: p.get("suppressed"))
    assert (shown["language"], shown["opted_out"]) == ("cy", False)
    assert shown["suppressed"] == [{"channel": "sms", "reason": "sms-stop"}] and shown["reachable"] is True

    # the next message falls back to the parent's email, in Welsh; nothing goes to the new number
    await publish_from_referral(system, referral_accepted(child_id))

    async def mailed():
        found = [m for m in system.smtp.messages if m["To"] == "parent61@example.org"]
        return found or None

    (mail,) = await eventually(mailed, what="the acceptance, by email")
    assert mail["Subject"].startswith("Cymorth ar gyfer ") and mail["Subject"].endswith(": mae'r cais wedi'i dderbyn")
    texts = (system.tmp / "sms-outbox.jsonl").read_text().splitlines()
    assert not [line for line in texts if "+447700900161" in line]


async def test_an_opt_out_survives_a_new_mobile_and_the_school_is_told_the_family_cannot_be_reached(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    child_id = await child_and_ack(system, senco, concern_body(62, channel="sms"))
    parent = await _parent(system, senco, child_id)
    me = token([], "family", sub=parent["id"], child_ids=[child_id])
    prefs = f"/v1/contacts/{parent['id']}/preferences"
    assert (await system.notify.patch(prefs, json={"opted_out": True}, headers=me)).status_code == 200
    edit = await system.caseload.patch(
        f"/v1/children/{child_id}/family/{parent['id']}", json={"mobile": "07700 900162"}, headers=senco
    )
    assert edit.status_code == 200, edit.text
    await _notify_has_mobile(system, parent["id"], "+447700900162")
    assert (await system.notify.get(prefs, headers=me)).json()["opted_out"] is True
    shown = await _caseload_shows(system, senco, child_id, lambda p: p["opted_out"])
    assert shown["reachable"] is False

    async def school_told():
        r = await system.caseload.get(f"/v1/children/{child_id}/chronology", headers=senco)
        found = [e for e in r.json()["items"] if e["kind"] == "family_unreachable"]
        return found or None

    (entry,) = await eventually(school_told, what="the school to be told in the child's chronology")
    assert "cannot be reached" in entry["summary"]
