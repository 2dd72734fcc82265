"""Opaque cursors for list endpoints (an offset, base64-encoded: clients must not build them)."""

from __future__ import annotations

import base64
import binascii

from .exceptions import invalid_field


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "o" or not value.isdigit() or len(value) > 9:  # bounded: SQLite's OFFSET is 64-bit
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_field("query.cursor", "not a cursor this API gave") from None
