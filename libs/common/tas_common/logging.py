"""Structured JSON logs that carry ids and never personal data.

Log calls pass identifiers through `extra=`; only keys in SAFE_FIELDS are emitted, so a stray
`extra={"name": ...}` cannot leak a child's name into the logs.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from types import TracebackType
from typing import Any

from .tracing import TraceLogFilter

SAFE_FIELDS = frozenset(
    {
        "service",
        "event_id",
        "event_type",
        "subject",
        "concern_id",
        "child_id",
        "referral_id",
        "notification_id",
        "request_id",
        "trace_id",
        "status",
        "method",
        "path",
        "duration_ms",
        "consumer",
        "deliveries",
        "count",
        "lag",
        "error",
        "provider",
        "attempt",
        "port",
        "url",
        "principal",
        "org_id",
    }
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in SAFE_FIELDS:
            if key in record.__dict__:
                out[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
            out["exc_frames"] = frames(record.exc_info[2])
        return json.dumps(out, default=str)


def frames(tb: TracebackType | None, limit: int = 12) -> list[str]:
    """Where an exception went, innermost last, as `package/module.py:line function`: the code's places only, never
    the message or the local values (they can carry personal data)."""
    return [
        f"{'/'.join(frame.filename.split('/')[-2:])}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(tb)[-limit:]
    ]


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(TraceLogFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in UVICORN_LOGGERS:  # uvicorn's own plain-text handlers: its lines go through the JSON one too
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
