"""Payloads notify publishes: a message's outcome, a contact's preferences, the family's reachability
(docs/events.md)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from .base import Channel, EventPayload


class NotificationEventBase(EventPayload):
    notification_id: str
    child_id: str | None = None
    channel: Channel
    template: str
    status: str


class NotificationSentV1(NotificationEventBase):
    subject: ClassVar[str] = "tas.notify.notification.sent"
    consumers: ClassVar[tuple[str, ...]] = ()


class NotificationDeliveredV1(NotificationEventBase):
    subject: ClassVar[str] = "tas.notify.notification.delivered"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)


class NotificationFailedV1(NotificationEventBase):
    subject: ClassVar[str] = "tas.notify.notification.failed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    reason: str | None = None


class ChannelBlock(BaseModel):
    """A channel a contact cannot be messaged on, and why: `opt-out`, `sms-stop` (replied STOP), `hard-bounce`,
    `complaint`."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    channel: Channel
    reason: str


class ContactPreferencesChangedV1(EventPayload):
    """A contact's preferences or reachability changed in notify, which owns them (the contact's own choices,
    replies STOP, bounces, complaints): caseload keeps a replica to show practitioners. `version` grows with each
    change of the contact, so a replica applies only a newer one."""

    subject: ClassVar[str] = "tas.notify.contact.preferences_changed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    child_id: str
    contact_id: str
    preferred_channel: Channel
    language: str
    opted_out: bool
    suppressed: tuple[ChannelBlock, ...] = ()
    reachable: bool = True
    """False when no channel is left: opted out, or every address stopped, bounced or missing."""
    version: int = 0


class UnreachableContact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    contact_id: str
    reasons: tuple[str, ...]
    """e.g. `opted out`, `sms: sms-stop`, `email: hard-bounce`, `no email address`."""


class FamilyReachabilityChangedV1(EventPayload):
    """None of the child's contacts with parental responsibility can be messaged any more (`reachable` false), or
    one can again: the school is told (caseload writes it in the child's chronology)."""

    subject: ClassVar[str] = "tas.notify.family.reachability_changed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    child_id: str
    reachable: bool
    contacts: tuple[UnreachableContact, ...] = ()
