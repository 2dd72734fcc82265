"""Opaque keyset cursors for caseload's lists: the sort key of a page's last row, as URL-safe base64 of a JSON
array of strings. A cursor the service did not issue is a 422 naming `cursor`."""

from __future__ import annotations

import base64
import binascii
import json

from tas_common.errors import InvalidInput


def encode_cursor(*key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, size: int) -> tuple[str, ...]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(key, list) or len(key) != size or not all(isinstance(v, str) for v in key):
            raise ValueError
        return tuple(key)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise not_issued() from None


def not_issued() -> InvalidInput:
    return InvalidInput("not a cursor this service issued", field="query.cursor")
