"""English and Welsh: gettext catalogues (Babel) compiled in memory at start, and dates written out in UK time.

The catalogue is `translations/cy/LC_MESSAGES/messages.po`; `pybabel extract -F babel.cfg` refreshes the
template from the code and templates. English is the source language.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

LANGUAGES = ("en", "cy")
UK = ZoneInfo("Europe/London")
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"

current_language: ContextVar[str] = ContextVar("current_language", default="en")


class Catalogues:
    """gettext translations per language, read once when the app is created (no I/O at import)."""

    def __init__(self, directory: Path = TRANSLATIONS_DIR) -> None:
        self._by_language: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
        for language in LANGUAGES[1:]:
            po = directory / language / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            self._by_language[language] = gettext.GNUTranslations(buffer)

    def get(self, language: str) -> gettext.NullTranslations:
        return self._by_language.get(language, self._by_language["en"])


_catalogues: Catalogues | None = None


def install(catalogues: Catalogues) -> None:
    global _catalogues
    _catalogues = catalogues


_null = gettext.NullTranslations()


def _translations() -> gettext.NullTranslations:
    return _catalogues.get(current_language.get()) if _catalogues else _null


def gettext_(message: str, **variables: Any) -> str:
    text = _translations().gettext(message)
    return text % variables if variables else text


def ngettext_raw(singular: str, plural: str, n: int) -> str:
    """The translated form for `n`, not yet formatted (Jinja's newstyle gettext formats it with all variables)."""
    return _translations().ngettext(singular, plural, n)


def ngettext_(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = _translations().ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext_


def _time(moment: datetime, language: str) -> str:
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    if language == "cy":
        return f"{hour}{minutes}{'yb' if moment.hour < 12 else 'yh'}"
    return f"{hour}{minutes}{'am' if moment.hour < 12 else 'pm'}"


def long_date(value: date | datetime | str | None) -> str:
    """'Tuesday 3 February 2027' (or 'Dydd Mawrth 3 Chwefror 2027'), in UK local time for a moment."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(UK).date() if value.tzinfo else value.date()
    return format_date(value, "EEEE d MMMM y", locale=current_language.get())


def plain_date(value: date | str | None) -> str:
    """'14 February 2016' (no weekday: a date of birth)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, "d MMMM y", locale=current_language.get())


def long_datetime(value: datetime | str | None) -> str:
    """'Tuesday 3 February 2027 at 3:30pm' in UK local time (Welsh: '... am 3:30yh')."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(UK) if value.tzinfo else value.replace(tzinfo=UK)
    language = current_language.get()
    return f"{long_date(local)} {'am' if language == 'cy' else 'at'} {_time(local, language)}"


def jinja_globals() -> dict[str, Any]:
    return {"long_date": long_date, "long_datetime": long_datetime, "plain_date": plain_date, "Markup": Markup}
