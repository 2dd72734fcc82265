"""The embedded default's SMS 'provider': one JSON line per message in a local file, for a developer to read.

It can be asked whether it has a message (`lookup`, by our notification id), so a send interrupted by a crash is
never written twice: whoever takes the message over finds the line and records it. A line cut short by a crash
is not a message (a reader skips a line that is not JSON); the next line starts on a line of its own."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

from tas_common.db import utcnow

from ..domain.models import Notification
from .base import Accepted, TemporaryFailure


class SmsOutboxProvider:
    name = "outbox"
    channel = "sms"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._read_up_to = 0
        """`lookup` reads the file once: the ids of whole lines before this offset are in `_seen`."""

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("ab") as handle:
            data = line.encode("utf-8") + b"\n"
            if handle.tell() > 0:
                with self.path.open("rb") as reader:
                    reader.seek(-1, os.SEEK_END)
                    if reader.read(1) != b"\n":  # the end of a line a crash cut short
                        data = b"\n" + data
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def _has(self, notification_id: str) -> bool:
        with self._lock:
            if notification_id in self._seen:
                return True
            if not self.path.exists():
                return False
            with self.path.open("rb") as handle:
                handle.seek(self._read_up_to)
                for raw in handle:
                    if not raw.endswith(b"\n"):
                        break  # a line being written (or cut short): not a message yet
                    self._read_up_to += len(raw)
                    try:
                        self._seen.add(str(json.loads(raw)["id"]))
                    except (ValueError, KeyError, TypeError):
                        continue
            return notification_id in self._seen

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

    async def lookup(self, notification: Notification) -> Accepted | None:
        """The message as the outbox has it (a whole line with its id), or None."""
        try:
            found = await asyncio.to_thread(self._has, notification.id)
        except OSError as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        return Accepted(provider=self.name, provider_ref=notification.id, delivered=True) if found else None
