"""Notify's tables: the contacts it may message (a replica built from caseload's events), which children they
belong to and who is on each child's team (replicas, for access), versioned templates, the suppression list, and
every notification with its delivery status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Insert, UniqueConstraint, false
from sqlalchemy import Table as SqlTable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import class_mapper
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import make_registry, utcnow
from tas_common.db import new_id as new_id  # the service's modules take it from here
from tas_common.tables import attach_infra

SOURCE = "tas/notify"
"""The `source` of the events notify publishes."""
registry = make_registry()
metadata = registry.metadata
attach_infra(metadata)


class Table(SQLModel, registry=registry):
    pass


DialectInsert = Callable[[SqlTable], sqlite.Insert | postgresql.Insert]
"""`sqlite.insert` or `postgresql.insert`: an INSERT that can say what to do ON CONFLICT."""


def per_dialect(build: Callable[[DialectInsert], Insert]) -> dict[str, Insert]:
    """The statement for each database TAS runs on: SQLAlchemy spells INSERT ... ON CONFLICT per dialect (`build`
    is given that dialect's `insert`)."""
    return {"sqlite": build(sqlite.insert), "postgresql": build(postgresql.insert)}


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


class ChildScope(Table, table=True):
    """Just enough about a child to decide who may read its notifications, and whether its family may be told
    anything (a replica of caseload's "family contact restricted" flag)."""

    __tablename__ = "child_scope"

    child_id: str = Field(primary_key=True, max_length=36)
    school_urn: str = Field(max_length=6)
    la_code: str | None = Field(default=None, max_length=3)
    family_contact_restricted: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    """While true no message and no sign-in code goes to the child's family."""
    restriction_changed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    """When caseload changed the flag (a replica keeps the newest change, whatever order events arrive in)."""
    child_given_name: str | None = Field(default=None, max_length=100)
    """The child's first name only (from concern_linked): family messages say which child they are about."""
    school_name: str | None = Field(default=None, max_length=200)
    school_phone: str | None = Field(default=None, max_length=30)
    school_email: str | None = Field(default=None, max_length=254)
    """How the family contacts the school (its public office contact): every family message says so."""


class Contact(Table, table=True):
    """A family contact. Who they are and their addresses are a replica of caseload's; their preferences and
    opt-outs are notify's own (seeded once from caseload's first event about them, then changed only here)."""

    id: str = Field(primary_key=True, max_length=36)
    child_id: str = Field(index=True, max_length=36)
    relationship: str = Field(max_length=50)
    parental_responsibility: bool
    mobile: str | None = Field(default=None, index=True, max_length=20)
    """E.164 when it is a valid UK mobile (as caseload sends it), else as caseload sent it."""
    email: str | None = Field(default=None, max_length=254)
    preferred_channel: str = Field(max_length=5)
    language: str = Field(default="en", max_length=5)
    opted_out: bool = False
    removed: bool = False
    sms_block: str | None = Field(default=None, max_length=20)
    """The contact stopped SMS (`sms-stop`: replied STOP): it holds whatever their mobile number becomes."""
    email_block: str | None = Field(default=None, max_length=20)
    """The contact stopped email (`complaint`: reported a message as spam)."""
    preferences_set_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    """When the contact last changed their own channel, language or opt-out here."""
    reach_version: int = 0
    """How many times notify has told caseload about this contact's preferences or reachability."""
    reach_published: str | None = Field(default=None, max_length=200)
    """What notify last told caseload about the contact's reachability (None: nothing beyond what caseload sent)."""
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class FamilyReach(Table, table=True):
    """A child whose family notify cannot reach (no contact with parental responsibility left to message); no row
    means reachable. Kept so that the school is told once when it happens, and once when it ends."""

    __tablename__ = "family_reach"

    child_id: str = Field(primary_key=True, max_length=36)
    reachable: bool
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class TeamMember(Table, table=True):
    """Who is on a child's team (from tas.caseload.team.member_added/removed): they may read its notifications."""

    __tablename__ = "team_member"

    child_id: str = Field(primary_key=True, max_length=36)
    member_sub: str = Field(primary_key=True, max_length=200)
    org_id: str = Field(primary_key=True, max_length=200)


class PractitionerInbox(Table, table=True):
    """A team's or role's work inbox from referral's directory events (never a family's or a person's own
    address): `service:<id>` its team inbox, `school:<urn>` its SENCO, `la:<code>` its SEND team. Insights' alerts
    go to these only. The newest announcement wins."""

    __tablename__ = "practitioner_inbox"

    recipient: str = Field(primary_key=True, max_length=60)
    email: str | None = Field(default=None, max_length=254)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AlertMessage(Table, table=True):
    """Which message told its recipient of an insights alert (the alert's key, `<kind>:<ref>:<recipient>`): an
    alert already here is never told again, whether it comes back alone, in a digest or in a replayed event."""

    __tablename__ = "alert_message"

    alert_key: str = Field(primary_key=True, max_length=200)
    notification_id: str = Field(max_length=36)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class MessageTemplate(Table, table=True):
    """One message per trigger, channel and language; its text lives in versions, the newest is current."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("name", "channel", "language"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=60)
    channel: str = Field(max_length=5)
    language: str = Field(max_length=5)
    current_version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class TemplateVersion(Table, table=True):
    __tablename__ = "template_version"

    template_id: str = Field(primary_key=True, max_length=36, foreign_key="message_template.id")
    version: int = Field(primary_key=True)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(max_length=2000)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Suppression(Table, table=True):
    """Addresses nothing more is sent to: hard bounces, complaints, opt-outs (incl. an SMS reply STOP)."""

    address: str = Field(primary_key=True, max_length=254)
    """E.164 mobile or lower-cased email."""
    channel: str = Field(max_length=5)
    reason: str = Field(max_length=20)
    source: str = Field(max_length=60)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Notification(Table, table=True):
    __table_args__ = (
        UniqueConstraint("dedupe_key", "recipient_key"),
        Index("ix_notification_sending", "status", "provider_ref"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    child_id: str | None = Field(default=None, index=True, max_length=36)
    contact_id: str | None = Field(default=None, max_length=36)
    trigger_event_id: str = Field(max_length=36)
    dedupe_key: str = Field(max_length=200)
    """The fact the message is about (e.g. `referral.accepted:<id>`): a second event for the same fact sends
    nothing more to the same recipient."""
    recipient_key: str = Field(max_length=200)
    """The contact id, `inbox:<service id>` for a service's team inbox (a new referral), or an alert's recipient
    (`service:<id>`, `school:<urn>`, `la:<code>`)."""
    template: str = Field(max_length=60)
    template_id: str | None = Field(default=None, max_length=36)
    template_version: int
    language: str = Field(max_length=5)
    channel: str = Field(max_length=5)
    recipient: str = Field(max_length=254)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(max_length=2000)
    status: str = Field(default="created", index=True, max_length=20)
    provider: str | None = Field(default=None, max_length=30)
    provider_ref: str | None = Field(default=None, max_length=100)
    attempts: int = 0
    failure_reason: str | None = Field(default=None, max_length=300)
    not_before: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    lease_owner: str | None = Field(default=None, max_length=64)
    """The notify process working on the message while it is `sending` without a provider reference."""
    lease_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    """Until when the lease holds; renewed while its owner works, taken over by another process after it."""
    traceparent: str | None = Field(default=None, max_length=55)
    """W3C trace context of the event that caused this message: its sent/delivered events join that trace."""
    secret: str | None = Field(default=None, max_length=300)
    """A one-time sign-in code, still sealed as caseload sent it (TAS_SIGNIN_CODE_KEY): opened only to hand the
    message to a provider, cleared once the message is sent or has failed. The body holds `((code))` instead."""
    secret_ref: str | None = Field(default=None, max_length=36)
    """What the sealed code is bound to (the sign-in challenge's id)."""
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    """Not sent after this (a code that has expired): it fails instead."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class NotificationEvent(Table, table=True):
    """Something a provider said about a message after its status was final (an email bounced or was reported as
    spam after the relay had accepted it): recorded beside the message, never as a new status."""

    __tablename__ = "notification_event"
    __table_args__ = (UniqueConstraint("notification_id", "kind"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    notification_id: str = Field(max_length=36)
    kind: str = Field(max_length=20)
    """`bounced` or `complained`."""
    detail: str = Field(max_length=300)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


_DEFAULTS = {
    name: field.default
    for name, field in Notification.model_fields.items()
    if field.default_factory is None and not field.is_required()
}
_FACTORIES = {name: field.default_factory for name, field in Notification.model_fields.items() if field.default_factory}
_MAPPED = set(Notification.model_fields)


def new_notification(**values: object) -> Notification:
    """`Notification(**values)`, without the ~30 attribute events that constructor runs (SQLModel sets each field
    through pydantic's and the ORM's `__setattr__`): ~0.15 ms, the largest single cost of handling a family
    message's event. The instance is made as the ORM makes one it loads (`ClassManager.new_instance`: its state,
    SQLModel's `__new__`), with the model's defaults and `values` in its `__dict__`. It is a new (transient)
    object like the constructor's: read from it, or add it to a session, which inserts it. Every value must be
    a field's (checked) and already of its type (the table model's constructor does not validate either)."""
    unknown = values.keys() - _MAPPED
    if unknown:
        raise TypeError(f"not a Notification field: {', '.join(sorted(unknown))}")
    n: Notification = class_mapper(Notification).class_manager.new_instance()
    state = n.__dict__
    state.update(_DEFAULTS)
    for name, factory in _FACTORIES.items():
        if name not in values:
            state[name] = factory()  # type: ignore[call-arg]
    state.update(values)
    n.__pydantic_fields_set__ = set(values)
    return n
