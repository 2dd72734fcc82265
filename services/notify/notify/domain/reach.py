"""Whether a contact, and a child's family, can be messaged; and telling caseload when that changes.

Notify owns a contact's preferences and opt-outs (docs/notify.md says why): their preferred channel and language,
opting out, a reply STOP (held by the contact whatever their number becomes), a complaint, and the bounces of
their addresses. A contact can be messaged on a channel when they have not opted out, have not stopped that
channel, and have a usable address for it that is not on the suppression list; a message goes by their preferred
channel when it can be used, else by their other one.

Caseload keeps a replica for practitioners: `contact_changed` publishes `tas.notify.contact.preferences_changed`
when what caseload knows about the contact changes, and `tas.notify.family.reachability_changed` when none of the
child's contacts with parental responsibility can be messaged any more (the school is told), or one can again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.events import new_event
from tas_common.events.schemas import (
    ChannelBlock,
    ContactPreferencesChangedV1,
    FamilyReachabilityChangedV1,
    UnreachableContact,
)
from tas_common.outbox import add_event

from . import recipients
from .models import SOURCE, Contact, FamilyReach

CHANNELS = ("sms", "email")
BLOCKS = {"sms": "sms_block", "email": "email_block"}
"""The contact's own stop of each channel."""
NOTHING_SAID = "|reachable"
"""What caseload knows of a contact notify has said nothing about: nothing blocked, reachable."""


class Reachable(Protocol):
    """A contact, or a row of its columns (messages.family_recipients)."""

    id: str
    preferred_channel: str
    mobile: str | None
    email: str | None
    opted_out: bool
    sms_block: str | None
    email_block: str | None


@dataclass(frozen=True)
class Reach:
    route: recipients.Route | None
    """Where a message to the contact goes now; None when nowhere."""
    blocks: tuple[tuple[str, str], ...]
    """(channel, reason) of each channel stopped or suppressed, by channel."""
    problems: tuple[str, ...]
    """Why each channel that cannot be used cannot, preferred first (`opted out`, `sms: sms-stop`, ...)."""

    @property
    def reachable(self) -> bool:
        return self.route is not None

    def state(self) -> str:
        """What caseload is told, as a string to compare with the last one told."""
        blocks = ",".join(f"{channel}:{reason}" for channel, reason in self.blocks)
        return f"{blocks}|{'reachable' if self.reachable else 'unreachable'}"


def address_of(contact: Reachable, channel: str) -> tuple[str | None, str | None]:
    """(the normalised address, None) or (None, why there is none)."""
    raw = contact.mobile if channel == "sms" else contact.email
    if not raw:
        return None, f"no {channel} address"
    try:
        return recipients.normalise(channel, raw), None
    except recipients.InvalidRecipient as exc:
        return None, f"{channel}: {exc}"


def assess(contact: Reachable, suppressed: Mapping[tuple[str, str], str]) -> Reach:
    """`contact`'s reach, given the suppression reasons of their addresses (`suppressed_of`)."""
    order = [contact.preferred_channel] + [c for c in CHANNELS if c != contact.preferred_channel]
    route, blocks, problems = None, [], []
    for channel in order:
        address, problem = address_of(contact, channel)
        reason = getattr(contact, BLOCKS[channel], None) or (suppressed.get((channel, address)) if address else None)
        if reason:
            blocks.append((channel, reason))
            problems.append(f"{channel}: {reason}")
        elif problem is not None:
            problems.append(problem)
        elif route is None and address is not None:
            route = recipients.Route(channel, address)
    if contact.opted_out:
        route = None
        problems.insert(0, "opted out")
    return Reach(route, tuple(sorted(blocks)), tuple(problems))


async def assess_all(session: AsyncSession, contacts: Iterable[Reachable]) -> dict[str, Reach]:
    """Each contact's reach, with one query for the suppression list."""
    contacts = list(contacts)
    pairs = []
    for contact in contacts:
        for channel in CHANNELS:
            address, _ = address_of(contact, channel)
            if address is not None:
                pairs.append((channel, address))
    suppressed = await recipients.suppression_reasons(session, addresses=pairs)
    return {contact.id: assess(contact, suppressed) for contact in contacts}


async def contact_changed(session: AsyncSession, *, contact_id: str, preferences: bool = False) -> Reach | None:
    """After anything that may change whether the contact can be messaged: tell caseload when what it knows
    changed (always when `preferences` changed), and check the family. None when notify has no such contact."""
    contact = await session.get(Contact, contact_id, populate_existing=True)
    if contact is None:
        return None
    reach = (await assess_all(session, [contact]))[contact.id]
    if preferences or reach.state() != (contact.reach_published or NOTHING_SAID):
        contact.reach_published, contact.reach_version = reach.state(), contact.reach_version + 1
        session.add(contact)
        await add_event(
            session,
            new_event(
                ContactPreferencesChangedV1(
                    child_id=contact.child_id,
                    contact_id=contact.id,
                    preferred_channel=contact.preferred_channel,
                    language=contact.language,
                    opted_out=contact.opted_out,
                    suppressed=tuple(ChannelBlock(channel=c, reason=r) for c, r in reach.blocks),
                    reachable=reach.reachable,
                    version=contact.reach_version,
                ),
                source=SOURCE,
                subject=contact.child_id,
            ),
        )
    known_reachable = reach.reachable and contact.parental_responsibility and not contact.removed
    await check_family(session, child_id=contact.child_id, known_reachable=known_reachable)
    return reach


async def address_changed(session: AsyncSession, *, channel: str, address: str, block: str | None = None) -> None:
    """The suppression list changed for `address`: each contact with it is told about (and with `block`, the
    contact stops that channel for good: a reply STOP, a complaint)."""
    column = col(Contact.mobile) if channel == "sms" else func.lower(col(Contact.email))
    key = recipients.suppression_key(channel, address)
    for contact in (await session.exec(select(Contact).where(column == key))).all():
        if block is not None and getattr(contact, BLOCKS[channel]) is None:
            setattr(contact, BLOCKS[channel], block)
            session.add(contact)
            await session.flush()
        await contact_changed(session, contact_id=contact.id)


async def check_family(session: AsyncSession, *, child_id: str, known_reachable: bool = False) -> None:
    """Tell the school (via caseload) when none of the child's contacts with parental responsibility can be
    messaged any more, and when one can again. `known_reachable`: the caller knows one can (no scan needed)."""
    row = await session.get(FamilyReach, child_id)
    if known_reachable and row is None:
        return
    contacts = list(
        (
            await session.exec(
                select(Contact).where(
                    Contact.child_id == child_id,
                    col(Contact.parental_responsibility).is_(True),
                    col(Contact.removed).is_(False),
                )
            )
        ).all()
    )
    if not contacts:
        return
    reaches = await assess_all(session, contacts)
    reachable = any(r.reachable for r in reaches.values())
    if reachable == (row.reachable if row is not None else True):
        return
    if row is None:
        session.add(FamilyReach(child_id=child_id, reachable=reachable))
    else:
        row.reachable, row.updated_at = reachable, utcnow()
        session.add(row)
    unreachable = (
        ()
        if reachable
        else tuple(UnreachableContact(contact_id=c.id, reasons=reaches[c.id].problems) for c in contacts)
    )
    await add_event(
        session,
        new_event(
            FamilyReachabilityChangedV1(child_id=child_id, reachable=reachable, contacts=unreachable),
            source=SOURCE,
            subject=child_id,
        ),
    )
