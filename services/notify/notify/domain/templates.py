"""Template language and message shaping, as GOV.UK Notify does it.

- `((name))` is a placeholder; every placeholder in a template (inside optional blocks too) needs a value, and a
  missing one is an error (`MissingPersonalisation`), never an empty gap in a sent message.
- `((name??text))` is an optional block: `text` (which may hold placeholders) is shown only when the value of
  `name` is truthy (True, or a non-empty string other than "no"/"false"/"0").
- Email goes as plain text and HTML (multipart/alternative); the HTML is built from the rendered text with every
  character escaped, so a value can never inject markup.
- SMS length is counted in fragments: GSM 03.38 (7-bit) 160 characters alone or 153 per part, the extended
  characters counting two; anything outside GSM-7 (e.g. Welsh ŵ ŷ â) makes the whole message UCS-2, 70 alone or
  67 per part (characters outside the BMP count two).

Messages say that something happened and where to look, never a diagnosis or clinical detail.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from math import ceil

NAME = r"[a-z][a-z0-9_]*"
_PLACEHOLDER = re.compile(rf"\(\(({NAME})\)\)")
_OPTIONAL = re.compile(rf"\(\(({NAME})\?\?((?:[^()]|\((?!\()|\)(?!\))|\(\({NAME}\)\))*)\)\)")
_ANY_OPEN = re.compile(r"\(\(")
_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)]")

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")

Value = str | bool
FALSY = {"", "no", "false", "0"}


class TemplateError(ValueError):
    """A template that cannot be used: bad syntax, or an SMS longer than allowed."""


class MissingPersonalisation(TemplateError):
    pass


@dataclass(frozen=True)
class SmsLength:
    characters: int
    encoding: str  # "gsm7" or "ucs2"
    fragments: int


def sms_length(text: str) -> SmsLength:
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        units = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, "gsm7"
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, part, encoding = 70, 67, "ucs2"
    fragments = 1 if units <= single else ceil(units / part)
    return SmsLength(characters=units, encoding=encoding, fragments=fragments)


def placeholders(text: str) -> set[str]:
    """Every value the text needs: plain placeholders, optional-block conditions and placeholders inside blocks."""
    names: set[str] = set()
    for match in _OPTIONAL.finditer(text):
        names.add(match.group(1))
        names |= set(_PLACEHOLDER.findall(match.group(2)))
    names |= set(_PLACEHOLDER.findall(_OPTIONAL.sub("", text)))
    return names


def check_syntax(text: str) -> None:
    """Refuse `((` that does not open a well-formed placeholder or optional block (a typo would otherwise be
    sent literally)."""
    rest = _PLACEHOLDER.sub("", _OPTIONAL.sub("", text))
    if _ANY_OPEN.search(rest):
        raise TemplateError("a '((' does not start a valid ((placeholder)) or ((name??optional text))")


def _truthy(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in FALSY


def render_text(text: str, values: Mapping[str, Value], *, template: str = "template") -> str:
    missing = sorted(placeholders(text) - set(values))
    if missing:
        raise MissingPersonalisation(f"{template} needs {', '.join(f'(({m}))' for m in missing)}")

    def fill(fragment: str) -> str:
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), fragment)

    shown = _OPTIONAL.sub(lambda m: m.group(2) if _truthy(values[m.group(1)]) else "", text)
    return fill(shown)


def plain_to_html(text: str) -> str:
    """The HTML part of an email from its rendered plain text: escaped, paragraphs and line breaks kept, links
    made clickable. Values were substituted before escaping, so they are escaped too."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = html.escape(paragraph, quote=True)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        out.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return (
        '<!DOCTYPE html>\n<html><body style="font-family: Arial, sans-serif; font-size: 19px; '
        'line-height: 1.3">\n' + "\n".join(out) + "\n</body></html>\n"
    )


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    language: str
    channel: str
    body: str
    subject: str | None = None
    id: str | None = None

    def validate(self, *, max_fragments: int = 3) -> None:
        check_syntax(self.body)
        if self.channel == "email":
            if not self.subject or not self.subject.strip():
                raise TemplateError("an email template needs a subject")
            check_syntax(self.subject)
        elif self.subject:
            raise TemplateError("an SMS template has no subject")
        if self.channel == "sms":
            length = sms_length(self.body)
            if length.fragments > max_fragments:
                raise TemplateError(
                    f"the SMS is {length.fragments} fragments ({length.characters} "
                    f"{length.encoding} characters); at most {max_fragments} are allowed"
                )

    def placeholders(self) -> set[str]:
        return placeholders(self.body) | (placeholders(self.subject) if self.subject else set())

    def render(self, values: Mapping[str, Value], *, max_fragments: int = 3) -> tuple[str | None, str]:
        subject = render_text(self.subject, values, template=self.name) if self.subject else None
        body = render_text(self.body, values, template=self.name)
        if self.channel == "sms" and sms_length(body).fragments > max_fragments:
            raise TemplateError(f"{self.name}: the rendered SMS is longer than {max_fragments} fragments")
        if subject is not None:
            subject = " ".join(subject.split())  # a header is one line
        return subject, body
