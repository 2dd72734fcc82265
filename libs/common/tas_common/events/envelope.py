"""CloudEvents 1.0 envelope (structured JSON mode). `type` is the NATS subject plus the schema version."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import clock
from .base import EventPayload
from .schemas import payload_model


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")  # CloudEvents extension attributes (e.g. traceparent) pass through

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=clock.now)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    @property
    def nats_subject(self) -> str:
        """`tas.referral.concern.raised.v1` → `tas.referral.concern.raised`."""
        head, _, version = self.type.rpartition(".")
        return head if version.startswith("v") and version[1:].isdigit() else self.type

    def payload(self) -> EventPayload:
        """The typed, validated payload; raises for an unknown type or a payload that breaks its schema."""
        return payload_model(self.type).model_validate(self.data)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)


def new_event(
    payload: EventPayload, *, source: str, subject: str | None = None, traceparent: str | None = None
) -> CloudEvent:
    extra = {"traceparent": traceparent} if traceparent else {}
    return CloudEvent(
        source=source, type=payload.event_type(), subject=subject, data=payload.model_dump(mode="json"), **extra
    )
