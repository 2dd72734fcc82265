"""Creating messages: one for one recipient about one fact (rendered from the current template, moved out of
the quiet hours, unique per fact and recipient), and one for each family contact of a child who may be told."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer_spec import RetryLater
from tas_common.driver import DriverStatement
from tas_common.tables import table_of
from tas_common.tracing import current_traceparent

from ..config import NotifySettings
from . import lifecycle, reach, recipients
from .models import ChildScope, Contact, Notification, new_notification
from .scheduling import aware, send_after
from .templates import Template, TemplateError, Value
from .templates_store import template_for

_contact = table_of(Contact)
_RECIPIENT_COLUMNS = (
    _contact.c.id,
    _contact.c.parental_responsibility,
    _contact.c.opted_out,
    _contact.c.removed,
    _contact.c.preferred_channel,
    _contact.c.mobile,
    _contact.c.email,
    _contact.c.language,
    _contact.c.sms_block,
    _contact.c.email_block,
)
_scope = table_of(ChildScope)
_CHILD_CONTACTS = DriverStatement(
    core_select(*_RECIPIENT_COLUMNS).where(_contact.c.child_id == bindparam("child_id")).order_by(_contact.c.id)
)
_RESTRICTED = DriverStatement(
    core_select(_scope.c.family_contact_restricted).where(_scope.c.child_id == bindparam("child_id"))
)
"""Read for every family message: compiled once, run on the driver's cursor (tas_common.driver)."""


@dataclass(slots=True)
class ContactRow:
    """A row of `_RECIPIENT_COLUMNS`."""

    id: str
    parental_responsibility: bool
    opted_out: bool
    removed: bool
    preferred_channel: str
    mobile: str | None
    email: str | None
    language: str
    sms_block: str | None
    email_block: str | None


class ContactsNotYetKnown(RetryLater):
    """The trigger names contacts whose details have not arrived yet; retry the event later."""


async def create_message(
    session: AsyncSession,
    *,
    settings: NotifySettings,
    trigger_event_id: str,
    dedupe_key: str,
    recipient_key: str,
    template: str,
    language: str,
    channel: str,
    recipient: str,
    child_id: str | None,
    contact_id: str | None,
    values: Mapping[str, Value],
    not_before: datetime | None,
    now: datetime,
    unsuppressed: bool = False,
) -> Notification | None:
    """One message for one recipient about one fact; None when it exists already. An address on the suppression
    list gives a row that is at once `permanent-failure` (reason `suppressed: ...`), so the record shows why.
    `unsuppressed`: the caller has just found the recipient off the suppression list in this transaction
    (notify_family's reach), so it is not read again."""
    tmpl: Template = await template_for(session, name=template, channel=channel, language=language)
    try:
        subject, body = tmpl.render(values, max_fragments=settings.sms_max_fragments)
    except TemplateError:
        if channel != "sms" or not values.get("school_contact"):
            raise
        # too long for an SMS (a long name, or a character outside GSM-7): the school's contact is left out
        subject, body = tmpl.render({**values, "school_contact": ""}, max_fragments=settings.sms_max_fragments)
    when = send_after(channel, max(aware(not_before), now) if not_before else now, settings=settings)
    n = new_notification(
        child_id=child_id,
        contact_id=contact_id,
        trigger_event_id=trigger_event_id,
        dedupe_key=dedupe_key,
        recipient_key=recipient_key,
        template=tmpl.name,
        template_id=tmpl.id,
        template_version=tmpl.version,
        language=tmpl.language,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        not_before=when if when and when > now else None,
        created_at=now,
        updated_at=now,
        traceparent=current_traceparent(),
    )
    blocked = (
        await recipients.suppression_reason(session, channel=channel, address=recipient)
        if recipient and not unsuppressed
        else None
    )
    if not await lifecycle.insert(session, n, failure=f"suppressed: {blocked}" if blocked is not None else None):
        return None
    return n


class Recipient(reach.Reachable, Protocol):
    """A contact as `family_recipients` reads it: a row of `_RECIPIENT_COLUMNS` (or the Contact itself)."""

    parental_responsibility: bool
    removed: bool
    language: str


async def family_recipients(
    session: AsyncSession, *, child_id: str, contact_ids: list[str] | None = None
) -> list[Recipient]:
    """The child's contacts with parental responsibility who have not opted out (rows with the contact's `id`,
    `preferred_channel`, `mobile`, `email` and `language`)."""
    contacts: list[Recipient] = [ContactRow(*row) for row in await _CHILD_CONTACTS.all(session, {"child_id": child_id})]
    if contact_ids is not None:
        named = set(contact_ids)
        contacts = [c for c in contacts if c.id in named]
        if len(contacts) < len(named):
            raise ContactsNotYetKnown(f"{len(named) - len(contacts)} contact(s) not yet known")
    return [c for c in contacts if c.parental_responsibility and not c.opted_out and not c.removed]


def contact_language(contact: Recipient) -> str:
    return (contact.language or "en")[:2].lower()


async def notify_family(
    session: AsyncSession,
    *,
    settings: NotifySettings,
    child_id: str,
    trigger_event_id: str,
    dedupe_key: str,
    template: str,
    values: Callable[[str], dict[str, Value]],
    now: datetime,
    not_before: datetime | None = None,
    contact_ids: list[str] | None = None,
    restricted: bool | None = None,
) -> list[Notification]:
    """One message for each of the child's contacts who may be told (none while the child's family contact is
    restricted), by their preferred channel when it can be
    used, else by their other one (reach.assess). A contact with no channel left gets a row that is at once a
    `permanent-failure` saying why (`suppressed: ...` or `invalid recipient: ...`), and the family is checked: the
    school is told when none of them can be reached. `restricted`: the child's flag as the caller has just read it
    in this transaction (else it is read here)."""
    created: list[Notification] = []
    if restricted is None:
        restricted = bool(await _RESTRICTED.scalar(session, {"child_id": child_id}))
    if restricted:
        return created  # the DSL (or children's social care) has restricted contact with this child's family
    contacts = await family_recipients(session, child_id=child_id, contact_ids=contact_ids)
    reaches = await reach.assess_all(session, contacts)
    unreachable = False
    for contact in contacts:
        language = contact_language(contact)
        route = reaches[contact.id].route
        if route is None:
            unreachable = True
            found = reaches[contact.id]
            kind = "suppressed" if found.blocks else "invalid recipient"
            preferred, _ = reach.address_of(contact, contact.preferred_channel)
            refused = new_notification(
                child_id=child_id,
                contact_id=contact.id,
                trigger_event_id=trigger_event_id,
                dedupe_key=dedupe_key,
                recipient_key=contact.id,
                template=template,
                template_version=0,
                language=language,
                channel=contact.preferred_channel,
                recipient=preferred or "",
                body="",
                created_at=now,
                updated_at=now,
            )
            if await lifecycle.insert(session, refused, failure=f"{kind}: {'; '.join(found.problems)}"):
                created.append(refused)
            continue
        n = await create_message(
            session,
            settings=settings,
            trigger_event_id=trigger_event_id,
            dedupe_key=dedupe_key,
            recipient_key=contact.id,
            template=template,
            language=language,
            channel=route.channel,
            recipient=route.recipient,
            child_id=child_id,
            contact_id=contact.id,
            values=values(language),
            not_before=not_before,
            now=now,
            unsuppressed=True,  # reach.assess_all read the suppression list for this route's address
        )
        if n is not None:
            created.append(n)
    if unreachable:
        await reach.check_family(session, child_id=child_id)
    return created
