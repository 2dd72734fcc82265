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

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as core_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.driver import DriverStatement, flush_pending
from tas_common.events import new_event
from tas_common.events.schemas import (
    ChannelBlock,
    ContactPreferencesChangedV1,
    FamilyReachabilityChangedV1,
    UnreachableContact,
)
from tas_common.outbox import add_event
from tas_common.tables import table_of

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


@dataclass(slots=True)
class ContactState:
    """What decides whether a contact can be messaged and what caseload was last told: a row of `STATE_COLUMNS`."""

    id: str
    child_id: str
    parental_responsibility: bool
    removed: bool
    mobile: str | None
    email: str | None
    preferred_channel: str
    language: str
    opted_out: bool
    sms_block: str | None
    email_block: str | None
    reach_published: str | None
    reach_version: int


_contact = table_of(Contact)
STATE_COLUMNS = tuple(_contact.c[name] for name in ContactState.__slots__)
_STATE = DriverStatement(core_select(*STATE_COLUMNS).where(_contact.c.id == bindparam("b_id")))
_FAMILY = DriverStatement(
    core_select(*STATE_COLUMNS)
    .where(
        _contact.c.child_id == bindparam("b_child_id"),
        _contact.c.parental_responsibility.is_(True),
        _contact.c.removed.is_(False),
    )
    .order_by(_contact.c.id)
)
_PUBLISHED = DriverStatement(
    update(_contact)
    .where(_contact.c.id == bindparam("b_id"))
    .values(reach_published=bindparam("b_published"), reach_version=bindparam("b_version"))
)
_family_reach = table_of(FamilyReach)
_FAMILY_REACHABLE = DriverStatement(
    core_select(_family_reach.c.reachable).where(_family_reach.c.child_id == bindparam("b_child_id"))
)
"""The consumer's statements for a contact event, compiled once and run on the driver's cursor (tas_common.driver);
each reads or writes rows an ORM object of the same unit of work may hold, so pending ORM changes are flushed
first (flush_pending)."""


async def contact_state(session: AsyncSession, contact_id: str) -> ContactState | None:
    await flush_pending(session)
    row = await _STATE.first(session, {"b_id": contact_id})
    return ContactState(*row) if row is not None else None


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


async def contact_changed(
    session: AsyncSession, *, contact_id: str, preferences: bool = False, state: ContactState | None = None
) -> Reach | None:
    """After anything that may change whether the contact can be messaged: tell caseload when what it knows
    changed (always when `preferences` changed), and check the family. None when notify has no such contact.
    `state`: the contact's row as the caller has just written it (else it is read)."""
    contact = state or await contact_state(session, contact_id)
    if contact is None:
        return None
    reach = (await assess_all(session, [contact]))[contact.id]
    if preferences or reach.state() != (contact.reach_published or NOTHING_SAID):
        contact.reach_published, contact.reach_version = reach.state(), contact.reach_version + 1
        await _PUBLISHED.execute(
            session, {"b_id": contact.id, "b_published": contact.reach_published, "b_version": contact.reach_version}
        )
        held = session.identity_map.get(identity_key(Contact, contact.id))
        if held is not None:  # an ORM copy of the row in this unit of work (the preferences API's) stays true
            set_committed_value(held, "reach_published", contact.reach_published)
            set_committed_value(held, "reach_version", contact.reach_version)
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
    await flush_pending(session)
    known = await _FAMILY_REACHABLE.first(session, {"b_child_id": child_id})
    if known_reachable and known is None:
        return
    contacts = [ContactState(*row) for row in await _FAMILY.all(session, {"b_child_id": child_id})]
    if not contacts:
        return
    reaches = await assess_all(session, contacts)
    reachable = any(r.reachable for r in reaches.values())
    if reachable == (bool(known[0]) if known is not None else True):
        return
    row = await session.get(FamilyReach, child_id)
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
