"""What a family message says about whom: the child's first name, the service, and how to contact the school, in
the contact's language. From notify's child scope (caseload's concern_linked carries the first name and the
school's public office contact); when one is not known the message says "your child" / "the service", and leaves
the school's contact out rather than sending an empty gap."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

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


async def about(session: AsyncSession, *, child_id: str) -> ChildWords:
    scope = await session.get(ChildScope, child_id)
    if scope is None:
        return ChildWords()
    return ChildWords(
        given_name=scope.child_given_name,
        school_name=scope.school_name,
        school_phone=scope.school_phone,
        school_email=scope.school_email,
    )
