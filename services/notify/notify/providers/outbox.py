"""The embedded default's SMS 'provider': one JSON line per message in a local file, for a developer to read.
A resend after a crash writes a line with the same `id`; a reader de-duplicates on it."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from tas_common.db import utcnow

from ..domain.models import Notification
from .base import Accepted, TemporaryFailure


class SmsOutboxProvider:
    name = "outbox"
    channel = "sms"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    async def send(self, notification: Notification) -> Accepted:
        line = json.dumps(
            {
                "id": notification.id,
                "to": notification.recipient,
                "body": notification.body,
                "language": notification.language,
                "template": notification.template,
                "at": utcnow().isoformat(),
            },
            ensure_ascii=False,
        )
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        return Accepted(provider=self.name, provider_ref=notification.id, delivered=True)
