"""What a family message says about whom: the child's first name, the service, and how to contact the school, in
the contact's language. From notify's child scope (caseload's concern_linked carries the first name and the
school's public office contact); when one is not known the message says "your child" / "the service", and leaves
the school's contact out rather than sending an empty gap."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.driver import DriverStatement
from tas_common.tables import table_of

from .models import ChildScope
from .templates import Value

YOUR_CHILD = {"en": "your child", "cy": "eich plentyn"}
THE_SERVICE = {"en": "the service", "cy": "y gwasanaeth"}
THE_SCHOOL = {"en": "the school", "cy": "yr ysgol"}
ON = {"en": "on", "cy": "ar"}
AT = {"en": "at", "cy": "ar"}
OR = {"en": "or", "cy": "neu"}


@dataclass(frozen=True)
class ChildWords:
    given_name: str | None = None
    school_name: str | None = None
    school_phone: str | None = None
    school_email: str | None = None

    def school_contact(self, language: str) -> str:
        """`Oakfield Primary School on 01632 960123 or office@oakfield.example.org`; "" when neither is known."""
        lang = language if language in YOUR_CHILD else "en"
        name = self.school_name or THE_SCHOOL[lang]
        if self.school_phone and self.school_email:
            return f"{name} {ON[lang]} {self.school_phone} {OR[lang]} {self.school_email}"
        if self.school_phone:
            return f"{name} {ON[lang]} {self.school_phone}"
        if self.school_email:
            return f"{name} {AT[lang]} {self.school_email}"
        return ""

    def values(self, language: str, *, link: str, service_name: str | None = None) -> dict[str, Value]:
        lang = language if language in YOUR_CHILD else "en"
        return {
            "link": link,
            "child_name": self.given_name or YOUR_CHILD[lang],
            "service_name": service_name or THE_SERVICE[lang],
            "school_contact": self.school_contact(lang),
        }


_scope = table_of(ChildScope)
_WORDS = DriverStatement(
    select(_scope.c.child_given_name, _scope.c.school_name, _scope.c.school_phone, _scope.c.school_email).where(
        _scope.c.child_id == bindparam("child_id")
    )
)
"""Every family message reads it: compiled once, run on the driver's cursor (tas_common.driver)."""


async def about(session: AsyncSession, *, child_id: str) -> ChildWords:
    row = await _WORDS.first(session, {"child_id": child_id})
    if row is None:
        return ChildWords()
    given_name, school_name, school_phone, school_email = row
    return ChildWords(
        given_name=given_name, school_name=school_name, school_phone=school_phone, school_email=school_email
    )
