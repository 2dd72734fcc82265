from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class NotificationPublic(BaseModel):
    id: str
    child_id: str | None
    template: str
    template_version: int
    language: str
    channel: str
    recipient: str
    status: str
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
