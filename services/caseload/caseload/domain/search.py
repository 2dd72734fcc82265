"""Finding a child on one's caseload by name, date of birth, UPN or NHS number (GET /v1/caseload?q=).

Names are searched through folded copies kept beside them (`child.given_name_key`, `child.family_name_key`): the
name decomposed (NFKD), its accents dropped, case-folded, and everything but letters and digits removed, so that
"zoe", "Zoë" and "ZOË" find Zoë and "obrien" or "O'Brien" finds O'Brien. Each word typed matches the start of a
name: one word the given or the family name, several words the given name then the family name or the other way
round. A prefix is an index range (`key >= 'smi' AND key < 'smj'`) on the (school, key) and (LA, key) indexes, on
SQLite and PostgreSQL alike whatever the collation; the LIKE beside it only makes the match exact.

The search narrows the caller's own caseload (domain/caseload_list.py): it never reaches a child they may not see.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import Mapped
from sqlmodel import col

from tas_common.identifiers import is_valid_nhs_number, is_valid_upn, normalise_nhs_number

from .models import Child

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d %B %Y", "%d %b %Y")


def fold(text: str | None) -> str:
    """'Zoë O'Brien-Smith' → 'zoeobriensmith': no accents, no case, letters and digits only."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_ALNUM.sub("", bare.casefold())


def name_keys(given_name: str, family_name: str) -> dict[str, str]:
    """The folded columns of a child's row."""
    return {"given_name_key": fold(given_name)[:100], "family_name_key": fold(family_name)[:100]}


@dataclass(frozen=True)
class Query:
    """What was typed, understood as one of: a UPN, an NHS number, a date of birth or a name."""

    upn: str | None = None
    nhs_number: str | None = None
    date_of_birth: date | None = None
    words: tuple[str, ...] = ()


def parse(q: str) -> Query:
    text = q.strip()
    compact = re.sub(r"\s+", "", text)
    if is_valid_upn(compact.upper()):
        return Query(upn=compact.upper())
    if compact.isdigit() and is_valid_nhs_number(compact):
        return Query(nhs_number=normalise_nhs_number(compact))
    for pattern in _DATE_FORMATS:
        try:
            return Query(date_of_birth=datetime.strptime(text, pattern).date())
        except ValueError:
            continue
    words = tuple(w for w in (fold(part) for part in text.split()) if w)
    return Query(words=words)


def _starts(column: Mapped[str], prefix: str) -> ColumnElement[bool]:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper, column.like(prefix + "%"))


def condition(query: Query) -> ColumnElement[bool]:
    """The search as a condition on Child (to AND with the caseload's own scope)."""
    if query.upn:
        return col(Child.upn) == query.upn
    if query.nhs_number:
        return col(Child.nhs_number) == query.nhs_number
    if query.date_of_birth:
        return col(Child.date_of_birth) == query.date_of_birth
    words = query.words
    if not words:
        return false()
    given, family = col(Child.given_name_key), col(Child.family_name_key)
    if len(words) == 1:
        return or_(_starts(given, words[0]), _starts(family, words[0]))
    return or_(
        and_(_starts(given, words[0]), _starts(family, "".join(words[1:]))),
        and_(_starts(family, "".join(words[:-1])), _starts(given, words[-1])),
        _starts(family, "".join(words)),
    )
