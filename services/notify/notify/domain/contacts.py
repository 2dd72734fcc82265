"""Contacts' preferences (channel, language, opt-out), which notify owns (caseload owns who the contact is and
their addresses). A family member changes their own here: an opt-out goes on notify's suppression list, opting
back in lifts it (and a reply STOP) but never a bounce or complaint, and `tas.notify.contact.preferences_changed`
tells caseload, which keeps a replica for practitioners to see (reach.contact_changed)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import InvalidInput, NotFound

from . import reach, recipients
from .models import Contact
from .reading import can_read_child
from .replicas import suppress_contact
from .schemas import PreferencesPublic, PreferencesUpdate


async def _visible(session: AsyncSession, *, principal: Principal, contact_id: str, write: bool) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.removed:
        raise NotFound("no such contact")
    if principal.org_type == OrgType.family:
        ok = contact.id in principal.family_member_ids and contact.child_id in principal.child_ids
    else:
        ok = not write and await can_read_child(session, principal=principal, child_id=contact.child_id)
    if not ok:
        raise NotFound("no such contact")
    return contact


async def _public(session: AsyncSession, contact: Contact) -> PreferencesPublic:
    found = (await reach.assess_all(session, [contact]))[contact.id]
    return PreferencesPublic(
        contact_id=contact.id,
        child_id=contact.child_id,
        preferred_channel=contact.preferred_channel,
        language=contact.language,
        opted_out=contact.opted_out,
        suppressed=[f"{channel}: {reason}" for channel, reason in found.blocks],
        reachable=found.reachable,
    )


async def get_preferences(session: AsyncSession, *, principal: Principal, contact_id: str) -> PreferencesPublic:
    contact = await _visible(session, principal=principal, contact_id=contact_id, write=False)
    await audit.record(
        session,
        actor=principal,
        action="read",
        resource_type="contact_preferences",
        resource_id=contact.id,
        child_id=contact.child_id,
    )
    return await _public(session, contact)


async def update_preferences(
    session: AsyncSession, *, principal: Principal, contact_id: str, change: PreferencesUpdate, now: datetime
) -> PreferencesPublic:
    contact = await _visible(session, principal=principal, contact_id=contact_id, write=True)
    if change.preferred_channel is not None:
        raw = contact.mobile if change.preferred_channel == "sms" else contact.email
        try:
            recipients.normalise(change.preferred_channel, raw or "")
        except recipients.InvalidRecipient as exc:
            raise InvalidInput(
                f"no usable {change.preferred_channel} address for this contact", field="body.preferred_channel"
            ) from exc
        contact.preferred_channel = change.preferred_channel
    if change.language is not None:
        contact.language = change.language
    if change.opted_out is True:
        contact.opted_out = True
        await suppress_contact(session, contact=contact, source="contact preferences")
    elif change.opted_out is False:
        contact.opted_out = False
        if contact.sms_block == "sms-stop":  # opting back in lifts a reply STOP too (not a complaint)
            contact.sms_block = None
        for channel, raw in (("sms", contact.mobile), ("email", contact.email)):
            if raw:
                try:
                    await recipients.unsuppress_opt_out(
                        session, channel=channel, address=recipients.normalise(channel, raw)
                    )
                except recipients.InvalidRecipient:
                    continue
    contact.preferences_set_at = now
    contact.updated_at = now
    session.add(contact)
    await session.flush()
    await reach.contact_changed(session, contact_id=contact.id, preferences=True)
    await audit.record(
        session,
        actor=principal,
        action="update",
        resource_type="contact_preferences",
        resource_id=contact.id,
        child_id=contact.child_id,
    )
    return await _public(session, contact)
