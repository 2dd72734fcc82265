"""Welsh and English: the catalogue is complete, and dates are written out in UK local time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from babel.messages.pofile import read_po
from web import i18n

PO = i18n.TRANSLATIONS_DIR / "cy" / "LC_MESSAGES" / "messages.po"


def test_every_message_has_a_welsh_translation():
    with PO.open("rb") as handle:
        catalogue = read_po(handle, locale="cy")
    untranslated = [
        m.id for m in catalogue if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])
    ]
    assert untranslated == []
    assert len(catalogue) > 200


@pytest.mark.parametrize(
    ("language", "moment", "expected"),
    [
        # 15:30 UTC in February is 3:30pm in London (GMT)
        ("en", datetime(2027, 2, 2, 15, 30, tzinfo=UTC), "Tuesday 2 February 2027 at 3:30pm"),
        # 14:00 UTC in July is 3pm in London (BST)
        ("en", datetime(2027, 7, 6, 14, 0, tzinfo=UTC), "Tuesday 6 July 2027 at 3pm"),
        # just before midnight UTC in summer is already the next day in London
        ("en", datetime(2027, 7, 6, 23, 30, tzinfo=UTC), "Wednesday 7 July 2027 at 12:30am"),
        ("cy", datetime(2027, 2, 2, 15, 30, tzinfo=UTC), "Dydd Mawrth 2 Chwefror 2027 am 3:30yh"),
    ],
)
def test_dates_are_written_out_in_uk_local_time(language, moment, expected):
    i18n.install(i18n.Catalogues())
    token = i18n.current_language.set(language)
    try:
        assert i18n.long_datetime(moment) == expected
        assert i18n.long_datetime(moment.isoformat()) == expected
    finally:
        i18n.current_language.reset(token)


def test_a_date_alone_and_the_welsh_catalogue_in_use():
    i18n.install(i18n.Catalogues())
    token = i18n.current_language.set("cy")
    try:
        assert i18n.long_date(date(2027, 2, 3)) == "Dydd Mercher 3 Chwefror 2027"
        assert i18n.gettext_("Sign out") == "Allgofnodi"
    finally:
        i18n.current_language.reset(token)
    assert i18n.gettext_("Sign out") == "Sign out"
