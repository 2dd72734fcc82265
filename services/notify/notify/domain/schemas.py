from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["sms", "email"]
Language = Literal["en", "cy"]


class NotificationEventPublic(BaseModel):
    """What a provider said about the message after its status was final (e.g. `bounced`)."""

    kind: str
    detail: str
    at: datetime


class NotificationPublic(BaseModel):
    id: str
    child_id: str | None
    contact_id: str | None
    template: str
    template_id: str | None
    template_version: int
    language: str
    channel: str
    recipient: str
    subject: str | None
    body: str
    status: str
    failure_reason: str | None
    not_before: datetime | None
    created_at: datetime
    updated_at: datetime
    events: list[NotificationEventPublic] = []
    """Later words from the provider (a bounce after delivery); the status above stays as it was."""


# --- templates ------------------------------------------------------------------------------------------------


class TemplateBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(min_length=1, max_length=2000)


class TemplateCreate(TemplateBase):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$")
    channel: Channel
    language: str = Field(pattern=r"^[a-z]{2}$")


class TemplateUpdate(TemplateBase):
    pass


class TemplateVersionPublic(BaseModel):
    version: int
    subject: str | None
    body: str
    created_by: str
    created_at: datetime


class TemplatePublic(BaseModel):
    id: str
    name: str
    channel: str
    language: str
    version: int
    subject: str | None
    body: str
    placeholders: list[str]
    sms_fragments: int | None = None
    updated_at: datetime
    history: list[TemplateVersionPublic] = []


# --- contacts -------------------------------------------------------------------------------------------------


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preferred_channel: Channel | None = None
    language: Language | None = None
    opted_out: bool | None = None


class PreferencesPublic(BaseModel):
    contact_id: str
    child_id: str
    preferred_channel: str
    language: str
    opted_out: bool
    suppressed: list[str]
    """Each channel the contact cannot be messaged on and why (`sms: sms-stop`, `email: hard-bounce`, ...)."""
    reachable: bool = True
    """False when no channel is left (opted out, or every address stopped, bounced or missing)."""


# --- receipts -------------------------------------------------------------------------------------------------


class ReceiptOutcome(BaseModel):
    matched: bool
    notification_id: str | None = None
    status: str | None = None
    suppressed: bool = False
