"""The keyset cursor codec shared by caseload's lists (the chronology and GET /v1/caseload)."""

from __future__ import annotations

import pytest

from caseload.domain.paging import decode_cursor, encode_cursor
from tas_common.errors import InvalidInput


def test_a_cursor_gives_back_its_key() -> None:
    key = ("O'Brien", "Zoë", "0000002a-0000-4000-8000-00000000002a")
    assert decode_cursor(encode_cursor(*key), size=3) == key


@pytest.mark.parametrize("cursor", ["!!", "bm90IGpzb24", encode_cursor("a", "b"), "WzEsMiwzXQ", "eyJhIjoxfQ"])
def test_a_cursor_the_service_did_not_issue_names_the_field(cursor: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor, size=3)
    assert [e["field"] for e in raised.value.extra["errors"]] == ["query.cursor"]
