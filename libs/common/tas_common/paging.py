"""One page of a list, and keyset cursors: how every list endpoint pages (`limit` and an opaque `cursor`).

A `Keyset` is a list's sort order. The cursor of a page is the sort key of its last row, and the next page is the rows
strictly after that key, so rows added or removed while a caller pages never shift the pages: no row is skipped or
shown twice (an offset would skip or repeat one for each row added before it). The order must end in a unique column
(the id) so that it is total, and its columns must not be null.

A cursor is URL-safe base64 of a JSON array: the list's name, then the key's values (booleans, integers and strings as
they are, datetimes as microseconds since the epoch in UTC). It is opaque to clients; one this service did not issue
(garbled, or made for another list) is a 422 naming `query.cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, false, not_, or_, tuple_

from .errors import InvalidInput

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = 2**63


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; none when last")


def not_issued() -> InvalidInput:
    return InvalidInput("not a cursor this service issued", field="query.cursor")


@dataclass(frozen=True)
class Key:
    """One column (or SQL expression) of a sort order."""

    column: Any
    descending: bool = False

    @property
    def kind(self) -> type:
        kind = self.column.type.python_type
        return kind if kind in (bool, int, str, datetime) else str


class Keyset:
    """A list's name and sort order: `order_by()` for the query, `after(cursor)` for the rows of the next page, and
    `cursor(values)` for the key of a page's last row (its values in the order of the keys)."""

    def __init__(self, name: str, *keys: Key) -> None:
        self.name, self.keys = name, keys

    def order_by(self) -> list[Any]:
        return [k.column.desc() if k.descending else k.column.asc() for k in self.keys]

    def cursor(self, values: Sequence[Any]) -> str:
        key = [self.name, *(_encode(v) for v in values)]
        return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(raw, list) or raw[:1] != [self.name] or len(raw) != len(self.keys) + 1:
                raise ValueError
            return [_decode(k.kind, v) for k, v in zip(self.keys, raw[1:], strict=True)]
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
            raise not_issued() from None

    def after(self, cursor: str) -> ColumnElement[bool]:
        """The rows strictly after the cursor's key in this order. Keys in one direction compare as one row value
        (which an index on those columns serves); mixed directions expand to `k1 > v1 OR (k1 = v1 AND k2 > v2) ...`."""
        values = self.decode(cursor)
        keys = self.keys
        if len({k.descending for k in keys}) == 1 and all(k.kind is not bool for k in keys):
            row, key = tuple_(*(k.column for k in keys)), tuple_(*values)
            return row < key if keys[0].descending else row > key
        ties: list[ColumnElement[bool]] = []
        branches = []
        for k, v in zip(keys, values, strict=True):
            branches.append(and_(*ties, _beyond(k, v)))
            ties.append(_equal(k, v))
        return or_(*branches)


def _beyond(key: Key, value: Any) -> ColumnElement[bool]:
    column: ColumnElement[Any] = key.column
    if key.kind is bool:  # false < true: past `true` descending is `false`; past `false` ascending is `true`
        if key.descending:
            return not_(column) if value else false()
        return false() if value else column
    beyond: ColumnElement[bool] = column < value if key.descending else column > value
    return beyond


def _equal(key: Key, value: Any) -> ColumnElement[bool]:
    column: ColumnElement[Any] = key.column
    if key.kind is bool:
        return column if value else not_(column)
    same: ColumnElement[bool] = column == value
    return same


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite gives back naive UTC
        return (at - _EPOCH) // timedelta(microseconds=1)
    return value


def _decode(kind: type, value: Any) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError
        return value
    if kind is datetime:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        return _EPOCH + timedelta(microseconds=value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not -_INT64 <= value < _INT64:
            raise ValueError  # a 64-bit column: a larger number would overflow the driver (a 500)
        return value
    if not isinstance(value, str):
        raise ValueError
    return value
