"""The base of every event payload: its subject, schema version and consumers (docs/events.md lists them)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

Channel = Literal["sms", "email"]


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    subject: ClassVar[str]
    schema_version: ClassVar[int] = 1
    consumers: ClassVar[tuple[str, ...]] = ()
    """Services that consume the event; empty means external (documented in docs/events.md)."""

    @classmethod
    def event_type(cls) -> str:
        return f"{cls.subject}.v{cls.schema_version}"
